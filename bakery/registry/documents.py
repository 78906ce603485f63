"""What registries answer, parsed into strict models before anything is read from it.

Every answer is untrusted: it is refused when it is bigger than `MAX_DOCUMENT` or nested
deeper than `MAX_DEPTH` (checked before it is parsed), when it is not a JSON object, when a
size is not a non-negative integer (`true`, `"big"`, `-5` are refused) or a digest is not
`sha256:` and 64 hex digits, and when a field bakery reads is missing or of the wrong shape.
Fields bakery does not read are ignored: registries and tools add their own (annotations,
urls, artifactType). Content fetched by digest is hashed and refused when it does not match
(`check_digest`).
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, Field, StrictInt, StrictStr, ValidationError

from bakery.frozen import Foreign
from bakery.jsonfile import nesting_depth, no_constant
from bakery.registry.errors import RegistryError

# The distribution spec lets registries refuse manifests over 4 MiB; nothing bakery reads
# from a registry (manifests, indexes, configs, token answers, attestation stubs) is bigger.
MAX_DOCUMENT = 4 * 1024 * 1024
# A manifest is nested 4 deep, an index 5, an image config about 6; 32 is generous.
MAX_DEPTH = 32

INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)

Digest = Annotated[StrictStr, Field(pattern=r"^sha256:[0-9a-f]{64}$")]
Size = Annotated[StrictInt, Field(ge=0)]


class Descriptor(Foreign):
    """A blob or manifest as another document names it."""

    digest: Digest
    size: Size


class Platform(Foreign):
    os: StrictStr
    architecture: StrictStr
    variant: StrictStr | None = None


class IndexEntry(Descriptor):
    platform: Platform | None = None

    @property
    def platform_key(self) -> str | None:
        """`linux/amd64`; None for an entry without a platform, or an attestation manifest
        (`unknown/unknown`)."""
        if self.platform is None or "unknown" in (self.platform.os, self.platform.architecture):
            return None
        return f"{self.platform.os}/{self.platform.architecture}"


class ImageIndex(Foreign):
    """An OCI index or a Docker manifest list: one manifest per platform."""

    manifests: tuple[IndexEntry, ...]

    def platforms(self) -> dict[str, str]:
        """{platform: manifest digest}; the first entry per platform wins."""
        found: dict[str, str] = {}
        for entry in self.manifests:
            key = entry.platform_key
            if key is not None and key not in found:
                found[key] = entry.digest
        return found


class ImageManifest(Foreign):
    """One platform's image: its config blob and its layers (at least one)."""

    config: Descriptor
    layers: Annotated[tuple[Descriptor, ...], Field(min_length=1)]


class ImageConfig(Foreign):
    os: StrictStr
    architecture: StrictStr


class TokenAnswer(Foreign):
    token: StrictStr | None = None
    access_token: StrictStr | None = None


class ManifestDescriptor(Foreign):
    """What `imagetools inspect --format '{{json .Manifest}}'` prints: the descriptor of a
    manifest, or an index with its manifests."""

    digest: Digest
    manifests: tuple[Descriptor, ...] = ()


M = TypeVar("M", bound=BaseModel)


def load_json(body: bytes | str, source: str, what: str) -> Any:
    """The JSON value of `body`, bounded in size and depth before it is parsed;
    RegistryError `<source>: <what> ...` saying what is wrong."""
    size = len(body)
    if size > MAX_DOCUMENT:
        raise RegistryError(f"{source}: {what} is {size} bytes, more than the {MAX_DOCUMENT}"
                            " bytes bakery reads")
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
    except UnicodeDecodeError:
        raise RegistryError(f"{source}: {what} is not UTF-8 text") from None
    if not text.strip():
        raise RegistryError(f"{source}: {what} is empty")
    depth = nesting_depth(text)
    if depth > MAX_DEPTH:
        raise RegistryError(f"{source}: {what} is nested {depth} deep, more than the"
                            f" {MAX_DEPTH} bakery reads")
    try:
        return json.loads(text, parse_constant=no_constant)
    except ValueError as exc:
        problem = str(exc).split(":", 1)[0] if isinstance(exc, json.JSONDecodeError) else exc
        start = text.lstrip()[:1]
        hint = " (an HTML page)" if start == "<" else ""
        raise RegistryError(f"{source}: {what} is not JSON{hint}: {problem}") from None


def parse(body: bytes | str, model: type[M], source: str, what: str) -> M:
    """`model` from `body` (see `load_json`); a value of another shape, or a field bakery
    needs missing or wrong, is a RegistryError naming the key path."""
    return validate(load_json(body, source, what), model, source, what)


def validate(value: Any, model: type[M], source: str, what: str) -> M:
    if not isinstance(value, dict):
        raise RegistryError(f"{source}: {what} is {_kind(value)}, not a JSON object")
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top)"
        raise RegistryError(f"{source}: {what}: {where}: {first['msg']}") from None


def manifest_or_index(
    body: bytes, source: str, what: str = "the manifest"
) -> ImageManifest | ImageIndex:
    """An index (it lists `manifests`, or says it is one) or an image manifest."""
    value = load_json(body, source, what)
    if isinstance(value, dict):
        media = value.get("mediaType")
        if media in INDEX_TYPES or (media not in MANIFEST_TYPES and "manifests" in value):
            return validate(value, ImageIndex, source, what.replace("manifest", "index"))
    return validate(value, ImageManifest, source, what)


def sha256_of(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def check_digest(body: bytes, digest: str, source: str) -> None:
    """Content fetched by `digest` must hash to it."""
    found = sha256_of(body)
    if found != digest:
        raise RegistryError(f"{source}: the content served for {digest} hashes to {found};"
                            " refused")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"
