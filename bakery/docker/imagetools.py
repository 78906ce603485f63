"""Registry tags through `docker buildx imagetools` (python-on-whales, STYLE 1, 11): read the
digest a tag points at, and copy a manifest to new tags (no rebuild, multi-arch kept)."""

from __future__ import annotations

import json

from python_on_whales import DockerClient, DockerException
from python_on_whales.utils import run

from bakery.docker.run import first_line


class RegistryError(Exception):
    """The registry could not answer or refused; the message is one line."""


def tag_digest(client: DockerClient, tag: str) -> str | None:
    """The manifest digest `tag` points at; None when the tag does not exist."""
    command = [*client.client_config.docker_cmd, "buildx", "imagetools", "inspect", tag,
               "--format", "{{json .Manifest}}"]
    try:
        output = run(command)
    except DockerException as exc:
        line = first_line(exc)
        if "not found" in line.lower() or "manifest unknown" in line.lower():
            return None
        raise RegistryError(line) from None
    try:
        digest = json.loads(str(output))["digest"]
    except (ValueError, KeyError, TypeError):
        raise RegistryError(f"unexpected answer from imagetools inspect {tag}") from None
    return str(digest)


def copy_to_tag(client: DockerClient, source: str, tag: str) -> None:
    """`docker buildx imagetools create --tag TAG SOURCE`: a carbon copy of SOURCE's manifest."""
    try:
        client.buildx.imagetools.create(sources=[source], tags=[tag])
    except DockerException as exc:
        raise RegistryError(first_line(exc)) from None
