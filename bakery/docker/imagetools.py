"""Registry tags through `docker buildx imagetools` (python-on-whales): read the
digest a tag points at, and copy a manifest to a new tag (no rebuild, multi-arch kept).

`client.buildx.imagetools.inspect()` runs `inspect --raw` and parses the manifest, which does
not carry its own digest (that is the hash of the exact bytes the registry serves). So
`tag_digest` runs `inspect --format '{{json .Manifest}}'` (the descriptor: mediaType, digest,
size) with python-on-whales' own runner and the client's docker command.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from python_on_whales import DockerClient, DockerException
from python_on_whales.utils import run

from bakery.docker.client import first_line
from bakery.tags.refs import parse_reference, split_domain


class RegistryError(Exception):
    """The registry could not answer or refused; the message is one line naming it."""


def registry_of(ref: str) -> str:
    """The registry host of an image reference, as Docker reads it (`docker.io` for Hub)."""
    try:
        return parse_reference(ref).registry
    except ValueError:  # still name the registry the text points at
        return split_domain(ref.partition("@")[0])[0]


def _not_found(line: str) -> bool:
    lowered = line.lower()
    return any(s in lowered for s in (": not found", "manifest unknown", "name unknown"))


def tag_digest(client: DockerClient, tag: str) -> str | None:
    """The manifest digest `tag` points at; None when the tag does not exist. Any other
    failure (registry unreachable, unauthorized, ...) is a RegistryError naming the registry."""
    found = manifest_info(client, tag)
    return None if found is None else found[0]


def manifest_info(client: DockerClient, tag: str) -> tuple[str, tuple[str, ...]] | None:
    """(digest, what it holds) of `tag`: for an index the digests of its manifests, for a
    single manifest its own digest. None when the tag does not exist. `--format '{{json
    .Manifest}}'` prints a manifest's descriptor, or an index with its `manifests`."""
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
        doc = json.loads(str(output))
        digest = str(doc["digest"])
        children = tuple(str(m["digest"]) for m in doc.get("manifests") or ()) or (digest,)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise RegistryError(
            f"registry {registry_of(tag)}: unexpected answer from `docker buildx imagetools"
            f" inspect {tag}`: {str(output)[:80]!r}"
        ) from None
    return digest, children


def attestations(client: DockerClient, ref: str) -> dict[str, bool]:
    """Which attestations the image at `ref` carries: {"provenance": .., "sbom": ..}, read
    with `imagetools inspect --format '{{json .Provenance}}'` (`{"SLSA": ...}` when present,
    `{}` when not) and `'{{json .SBOM}}'` (`{"SPDX": ...}`)."""
    found = {}
    for name, template, key in (("provenance", "{{json .Provenance}}", "SLSA"),
                                ("sbom", "{{json .SBOM}}", "SPDX")):
        output = _inspect(client, ref, "--format", template)
        try:
            doc = json.loads(output or "{}")
        except ValueError:
            raise RegistryError(f"registry {registry_of(ref)}: unexpected answer for {ref}:"
                                f" {output[:80]!r}") from None
        found[name] = isinstance(doc, dict) and bool(doc.get(key))
    return found


def image_labels(client: DockerClient, ref: str) -> dict[str, str]:
    """The labels of the image `ref` names (`imagetools inspect --format '{{json .Image}}'`:
    one image config, or one per platform for an index, whose labels are merged); {} when it
    carries none or the answer holds no image config. RegistryError naming the registry when
    it cannot be read."""
    output = _inspect(client, ref, "--format", "{{json .Image}}")
    try:
        doc = json.loads(output or "null")
    except ValueError:
        return {}
    if not isinstance(doc, dict):
        return {}
    configs = [doc] if "config" in doc or "architecture" in doc else list(doc.values())
    labels: dict[str, str] = {}
    for config in configs:
        found = (config.get("config") or {}).get("Labels") if isinstance(config, dict) else None
        if isinstance(found, dict):
            labels.update({str(k): str(v) for k, v in found.items()})
    return labels


# buildx's first release with `imagetools create --prefer-index` (docker/buildx#2482)
PREFER_INDEX_SINCE = (0, 15)
_BUILDX_VERSION = re.compile(r"\bv?(\d+)\.(\d+)(?:\.\d+)?")


def knows_prefer_index(client: DockerClient) -> bool:
    """Whether the installed buildx has `imagetools create --prefer-index` (0.15 and later,
    where it defaults to true: one single-manifest source is then wrapped in a new index with
    a new digest), from `docker buildx version` (`github.com/docker/buildx v0.15.1 1c1dbb2`,
    Debian's `github.com/docker/buildx 0.13.1+ds1 0.13.1+ds1-3`). A version it cannot read
    counts as not knowing it: the copy then runs without the flag, and release checks what
    the name resolves to anyway."""
    try:
        line = str(client.buildx.version())
    except DockerException:
        return False
    words = line.split()
    match = _BUILDX_VERSION.match(words[1]) if len(words) > 1 else None
    if match is None:
        return False
    return (int(match[1]), int(match[2])) >= PREFER_INDEX_SINCE


def copy_to_tag(client: DockerClient, source: str | Sequence[str], tag: str, *,
                prefer_index: bool = False) -> None:
    """`docker buildx imagetools create --tag TAG SOURCE...`: one source is a carbon copy of
    its manifest (an index stays an index: every platform is kept; nothing is rebuilt or
    pulled); several make an index of all their manifests (a multi-architecture name).
    `prefer_index`: buildx knows `--prefer-index`, which is then given as false, so that one
    single-manifest source is copied as it is, never wrapped in a new index."""
    sources = [source] if isinstance(source, str) else list(source)
    command = create_argv(client.client_config.docker_cmd, sources, tag,
                          prefer_index=prefer_index)
    try:
        run(command)
    except DockerException as exc:
        raise RegistryError(
            f"registry {registry_of(tag)}: cannot create {tag}: {first_line(exc)}"
        ) from None


def create_argv(docker: Sequence[str], source: str | Sequence[str], tag: str, *,
                prefer_index: bool = False) -> list[str]:
    """The command `copy_to_tag` runs (after the client's `docker` command), for --dry-run
    and logs."""
    sources = [source] if isinstance(source, str) else list(source)
    flag = ["--prefer-index=false"] if prefer_index else []
    return [*docker, "buildx", "imagetools", "create", *flag, "--tag", tag, *sources]


@dataclass(frozen=True)
class ImageSize:
    """What an image weighs in the registry: its layers' compressed sizes (what a pull
    downloads), biggest first, and their total with the config blob."""

    compressed: int
    layers: tuple[tuple[str, int], ...]  # (digest, compressed bytes)


def image_size(client: DockerClient, ref: str, platform: str) -> ImageSize:
    """The size of `ref` (a tag or `repo@digest`; an index resolves to `platform`) from its
    manifest (`imagetools inspect --raw`); RegistryError naming the registry otherwise."""
    doc = _raw(client, ref)
    if "manifests" in doc:
        want_os, _, want_arch = platform.partition("/")
        child = next((m["digest"] for m in doc["manifests"]
                      if (m.get("platform") or {}).get("os") == want_os
                      and (m.get("platform") or {}).get("architecture") == want_arch), None)
        if child is None:
            raise RegistryError(f"registry {registry_of(ref)}: {ref} has no image for {platform}")
        doc = _raw(client, str(parse_reference(ref).with_digest(child)))
    try:
        layers = tuple((str(layer["digest"]), int(layer["size"])) for layer in doc["layers"])
        config = int(doc["config"]["size"])
    except (KeyError, TypeError, ValueError):
        raise RegistryError(f"registry {registry_of(ref)}: {ref} is not an image"
                            " manifest") from None
    # a layer listed twice is stored and downloaded once
    total = config + sum(dict(layers).values())
    return ImageSize(compressed=total, layers=tuple(sorted(layers, key=lambda x: -x[1])))


def _inspect(client: DockerClient, ref: str, *options: str) -> str:
    """`docker buildx imagetools inspect REF OPTIONS...` (python-on-whales' runner, the
    client's docker command); RegistryError naming the registry when it fails."""
    command = [*client.client_config.docker_cmd, "buildx", "imagetools", "inspect", ref,
               *options]
    try:
        return str(run(command))
    except DockerException as exc:
        raise RegistryError(f"registry {registry_of(ref)}: cannot read {ref}:"
                            f" {first_line(exc)}") from None


def _raw(client: DockerClient, ref: str) -> dict[str, Any]:
    output = _inspect(client, ref, "--raw")
    try:
        doc = json.loads(output)
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        raise RegistryError(f"registry {registry_of(ref)}: unexpected answer for {ref}:"
                            f" {output[:80]!r}")
    return doc
