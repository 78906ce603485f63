"""Registry tags through `docker buildx imagetools` (python-on-whales' client, its docker
command): read the digest a tag points at, read manifests where the credentials live in
docker's config (`CliReader`, the CLI transport of `bakery.registry.read`), and copy a
manifest to a new tag (no rebuild, multi-arch kept).

Reads run the client's docker command directly, with a timeout, and keep the exact bytes
it prints: python-on-whales' runner waits forever and strips its output, and a manifest's
digest is the hash of its exact bytes. Every answer is parsed strictly
(`bakery.registry.documents`). `inspect --format '{{json .Manifest}}'` prints the descriptor
of a manifest (mediaType, digest, size), or an index with its `manifests`.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from types import TracebackType

from python_on_whales import DockerClient, DockerException
from python_on_whales.utils import run

from bakery.docker.client import first_line, not_on_path
from bakery.registry.documents import (
    ManifestDescriptor,
    check_digest,
    load_json,
    parse,
)
from bakery.registry.errors import ImageNotFound, RegistryError
from bakery.registry.read import ImageSize
from bakery.registry.read import image_size as _image_size
from bakery.registry.reference import registry_of
from bakery.tags.refs import ImageRef, parse_reference

__all__ = ["CliReader", "ImageSize", "RegistryError", "attestations", "copy_to_tag",
           "create_argv", "image_labels", "image_size", "knows_prefer_index", "manifest_info",
           "registry_of", "tag_digest"]

# seconds one `imagetools inspect` may take (it logs in, and asks the registry once or twice)
INSPECT_TIMEOUT = 60.0


def _not_found(line: str) -> bool:
    lowered = line.lower()
    return any(s in lowered for s in (": not found", "manifest unknown", "name unknown"))


def _inspect(client: DockerClient, ref: str, *options: str,
             timeout: float = INSPECT_TIMEOUT) -> bytes:
    """The exact standard output of `docker buildx imagetools inspect REF OPTIONS...`;
    ImageNotFound when the registry has no such image, RegistryError naming the registry
    for any other failure, or when it does not answer within `timeout` seconds."""
    command = [*client.client_config.docker_cmd, "buildx", "imagetools", "inspect", ref,
               *options]
    shown = f"`docker buildx imagetools inspect {ref}`"
    try:
        done = subprocess.run(command, capture_output=True, stdin=subprocess.DEVNULL,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise RegistryError(f"registry {registry_of(ref)}: {shown} did not answer within"
                            f" {timeout:g}s") from None
    except FileNotFoundError:
        raise not_on_path(command[0]) from None
    if done.returncode != 0:
        line = _first_line(done.stderr, done.stdout) or f"exit code {done.returncode}"
        error = ImageNotFound if _not_found(line) else RegistryError
        raise error(f"registry {registry_of(ref)}: cannot read {ref}: {line}")
    return done.stdout


def _first_line(*outputs: bytes) -> str:
    for output in outputs:
        for line in output.decode("utf-8", "replace").splitlines():
            if line.strip():
                return line.strip()[:300]
    return ""


class CliReader:
    """The docker CLI transport of `bakery.registry.read.ManifestReader`:
    `imagetools inspect --raw`, the manifest exactly as the registry serves it."""

    def __init__(self, client: DockerClient, reference: str) -> None:
        self.client = client
        self.reference = reference
        self.ref = ImageRef.parse(reference, where="image")

    @property
    def source(self) -> str:
        return f"registry {self.ref.registry}: {self.reference}"

    def __enter__(self) -> CliReader:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        return None

    def manifest(self, reference: str | None = None) -> bytes:
        ref = self.reference if reference is None else str(self.ref.with_digest(reference))
        body = _inspect(self.client, ref, "--raw")
        digest = parse_reference(ref).digest
        if digest is not None:
            check_digest(body, digest, self.source)
        return body


def tag_digest(client: DockerClient, tag: str) -> str | None:
    """The manifest digest `tag` points at; None when the tag does not exist. Any other
    failure (registry unreachable, unauthorized, ...) is a RegistryError naming the registry."""
    found = manifest_info(client, tag)
    return None if found is None else found[0]


def manifest_info(client: DockerClient, tag: str) -> tuple[str, tuple[str, ...]] | None:
    """(digest, what it holds) of `tag`: for an index the digests of its manifests, for a
    single manifest its own digest. None when the tag does not exist."""
    try:
        output = _inspect(client, tag, "--format", "{{json .Manifest}}")
    except ImageNotFound:
        return None
    doc = parse(output, ManifestDescriptor, f"registry {registry_of(tag)}: {tag}",
                "the answer of `docker buildx imagetools inspect`")
    return doc.digest, tuple(m.digest for m in doc.manifests) or (doc.digest,)


def attestations(client: DockerClient, ref: str) -> dict[str, bool]:
    """Which attestations the image at `ref` carries: {"provenance": .., "sbom": ..}, read
    with `imagetools inspect --format '{{json .Provenance}}'` (`{"SLSA": ...}` when present,
    `{}` when not) and `'{{json .SBOM}}'` (`{"SPDX": ...}`)."""
    found = {}
    for name, template, key in (("provenance", "{{json .Provenance}}", "SLSA"),
                                ("sbom", "{{json .SBOM}}", "SPDX")):
        output = _inspect(client, ref, "--format", template)
        doc = load_json(output or b"{}", f"registry {registry_of(ref)}: {ref}",
                        f"its {name} attestation")
        if not isinstance(doc, dict):
            raise RegistryError(f"registry {registry_of(ref)}: {ref}: its {name} attestation"
                                " is not a JSON object")
        found[name] = bool(doc.get(key))
    return found


def image_size(client: DockerClient, ref: str, platform: str) -> ImageSize:
    """The size of `ref` (a tag or `repo@digest`; an index resolves to `platform`) from its
    manifest; RegistryError naming the registry otherwise."""
    return _image_size(CliReader(client, ref), platform)


def image_labels(client: DockerClient, ref: str) -> dict[str, str]:
    """The labels of the image `ref` names (`imagetools inspect --format '{{json .Image}}'`:
    one image config, or one per platform for an index, whose labels are merged); {} when it
    carries none or the answer holds no image config. RegistryError naming the registry when
    it cannot be read or its answer is not JSON."""
    output = _inspect(client, ref, "--format", "{{json .Image}}")
    doc = load_json(output or b"null", f"registry {registry_of(ref)}: {ref}", "its image config")
    if not isinstance(doc, dict):
        return {}
    configs = [doc] if "config" in doc or "architecture" in doc else list(doc.values())
    labels: dict[str, str] = {}
    for config in configs:
        inner = config.get("config") if isinstance(config, dict) else None
        found = inner.get("Labels") if isinstance(inner, dict) else None
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
