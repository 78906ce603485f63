"""Registry tags through `docker buildx imagetools` (python-on-whales): read the
digest a tag points at, and copy a manifest to a new tag (no rebuild, multi-arch kept).

`client.buildx.imagetools.inspect()` runs `inspect --raw` and parses the manifest, which does
not carry its own digest (that is the hash of the exact bytes the registry serves). So
`tag_digest` runs `inspect --format '{{json .Manifest}}'` (the descriptor: mediaType, digest,
size) with python-on-whales' own runner and the client's docker command.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from python_on_whales import DockerClient, DockerException
from python_on_whales.utils import run

from bakery.docker.client import first_line


class RegistryError(Exception):
    """The registry could not answer or refused; the message is one line naming it."""


def registry_of(ref: str) -> str:
    """The registry host of an image reference, like docker's own parsing: the first path
    component when it has a `.` or `:` or is `localhost`, else Docker Hub."""
    head, sep, _ = ref.partition("/")
    if sep and ("." in head or ":" in head or head == "localhost"):
        return head
    return "docker.io"


def _not_found(line: str) -> bool:
    lowered = line.lower()
    return any(s in lowered for s in (": not found", "manifest unknown", "name unknown"))


def tag_digest(client: DockerClient, tag: str) -> str | None:
    """The manifest digest `tag` points at; None when the tag does not exist. Any other
    failure (registry unreachable, unauthorized, ...) is a RegistryError naming the registry."""
    command = [*client.client_config.docker_cmd, "buildx", "imagetools", "inspect", tag,
               "--format", "{{json .Manifest}}"]
    try:
        output = run(command)
    except DockerException as exc:
        line = first_line(exc)
        if _not_found(line):
            return None
        raise RegistryError(f"registry {registry_of(tag)}: cannot read {tag}: {line}") from None
    try:
        digest = json.loads(str(output))["digest"]
    except (ValueError, KeyError, TypeError):
        raise RegistryError(
            f"registry {registry_of(tag)}: unexpected answer from `docker buildx imagetools"
            f" inspect {tag}`: {str(output)[:80]!r}"
        ) from None
    return str(digest)


def copy_to_tag(client: DockerClient, source: str, tag: str) -> None:
    """`docker buildx imagetools create --tag TAG SOURCE`: a carbon copy of SOURCE's manifest
    (an index stays an index: every platform is kept; nothing is rebuilt or pulled)."""
    try:
        client.buildx.imagetools.create(sources=[source], tags=[tag])
    except DockerException as exc:
        raise RegistryError(
            f"registry {registry_of(tag)}: cannot create {tag}: {first_line(exc)}"
        ) from None


def create_argv(docker: Sequence[str], source: str, tag: str) -> list[str]:
    """The command `copy_to_tag` runs (after the client's `docker` command), for --dry-run
    and logs."""
    return [*docker, "buildx", "imagetools", "create", "--tag", tag, source]
