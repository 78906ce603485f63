"""Where the distribution API serves an image. Names are parsed and normalized by
`bakery.tags.refs.ImageRef` (the one reference type; `DOCKER_HUB` is defined there): this
module only adds the API host and scheme."""

from __future__ import annotations

from dataclasses import dataclass

from bakery.errors import ConfigError
from bakery.tags.refs import DOCKER_HUB, ImageRef, parse_reference, split_domain

# Docker Hub's name is docker.io; its distribution API answers on another host
HUB_API_HOST = "registry-1.docker.io"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where the distribution API serves an image: host (Docker Hub's API host for docker.io),
    repository path, and the tag or digest to ask for."""

    registry: str
    repository: str
    reference: str

    @property
    def scheme(self) -> str:
        host = self.registry.rsplit(":", 1)[0]
        return "http" if host in ("localhost", "127.0.0.1") else "https"

    @property
    def base(self) -> str:
        return f"{self.scheme}://{self.registry}/v2/{self.repository}"

    @property
    def by_digest(self) -> bool:
        return self.reference.startswith("sha256:")


def endpoint(text: str, *, allow_digest: bool = False) -> Endpoint:
    """`ubuntu:24.04` -> registry-1.docker.io, library/ubuntu, 24.04; with `allow_digest`,
    `repo@sha256:...` asks for the digest (else that is a ConfigError)."""
    ref = ImageRef.parse(text, where="image")
    if ref.digest and not allow_digest:
        raise ConfigError(f"base_image: {text!r} already carries a digest; name a tag")
    if ref.digest and not ref.digest.startswith("sha256:"):
        raise ConfigError(f"image: {text!r}: bakery reads images by sha256 digest only")
    host = HUB_API_HOST if ref.registry == DOCKER_HUB else ref.registry
    return Endpoint(host, ref.path, ref.digest or ref.tag or "latest")


def registry_of(ref: str) -> str:
    """The registry host of an image reference, as Docker reads it (`docker.io` for Hub)."""
    try:
        return parse_reference(ref).registry
    except ValueError:  # still name the registry the text points at
        return split_domain(ref.partition("@")[0])[0]
