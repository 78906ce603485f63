"""The base image's digest per platform, from its registry (the distribution HTTP API).

`ubuntu:24.04` names a multi-platform index; the lock keeps, per platform an image is built
for, the digest of that platform's manifest, so `FROM ubuntu:24.04@sha256:...` can never move.
Anonymous bearer tokens (Docker Hub's auth flow) are fetched when the registry asks for one.
A registry on localhost or 127.0.0.1 is spoken to over plain HTTP, like docker does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bakery.errors import BakeryError, ConfigError

if TYPE_CHECKING:
    import httpx

INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
DOCKER_HUB = "registry-1.docker.io"
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}\Z")
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


class RegistryError(BakeryError):
    """The registry could not answer (unreachable, refused, not found)."""


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


def endpoint(text: str, *, allow_digest: bool = False) -> Endpoint:
    """`ubuntu:24.04` -> registry-1.docker.io, library/ubuntu, 24.04 (names parsed and
    normalized by bakery.tags.refs, as everywhere); with `allow_digest`, `repo@sha256:...`
    asks for the digest."""
    from bakery.tags.refs import ImageRef

    ref = ImageRef.parse(text, where="image")
    if ref.digest and not allow_digest:
        raise ConfigError(f"base_image: {text!r} already carries a digest; name a tag")
    host = DOCKER_HUB if ref.registry == "docker.io" else ref.registry
    return Endpoint(host, ref.path, ref.digest or ref.tag or "latest")


def resolve_platform_digests(
    reference: str, platforms: Iterable[str], *, timeout: float = 20.0
) -> dict[str, str]:
    """{platform: digest} for `platforms` (e.g. linux/amd64); RegistryError naming the
    registry when it cannot answer, or a platform the image does not have."""
    import httpx

    ref = endpoint(reference)
    wanted = sorted(set(platforms))
    base = f"{ref.scheme}://{ref.registry}/v2/{ref.repository}"
    try:
        with httpx.Client(timeout=timeout, follow_redirects=True) as client:
            session = _Session(client, ref)
            body, media_type, digest = session.get(
                f"{base}/manifests/{ref.reference}", (*INDEX_TYPES, *MANIFEST_TYPES)
            )
            if media_type in INDEX_TYPES:
                found = _from_index(body)
            else:
                config = session.get(f"{base}/blobs/{body['config']['digest']}", ())[0]
                found = {f"{config.get('os')}/{config.get('architecture')}": digest}
    except httpx.HTTPError as exc:
        raise RegistryError(
            f"registry {ref.registry} is unreachable for {reference}: {type(exc).__name__}:"
            f" {exc}"
        ) from None
    missing = [p for p in wanted if p not in found]
    if missing:
        raise RegistryError(
            f"{reference} on {ref.registry} has no image for {', '.join(missing)}"
            f" (it has: {', '.join(sorted(found)) or 'none'})"
        )
    return {p: found[p] for p in wanted}


def resolve_digest(reference: str, *, timeout: float = 20.0) -> str:
    """The digest `reference` (a tag) names now: of its index when it is multi-platform (one
    pin for every platform); RegistryError naming the registry when it cannot answer."""
    import httpx

    ref = endpoint(reference)
    base = f"{ref.scheme}://{ref.registry}/v2/{ref.repository}"
    try:
        with httpx.Client(timeout=timeout, follow_redirects=True) as client:
            _body, _media_type, digest = _Session(client, ref).get(
                f"{base}/manifests/{ref.reference}", (*INDEX_TYPES, *MANIFEST_TYPES)
            )
    except httpx.HTTPError as exc:
        raise RegistryError(
            f"registry {ref.registry} is unreachable for {reference}: {type(exc).__name__}:"
            f" {exc}"
        ) from None
    if not _DIGEST.match(digest):
        raise RegistryError(f"registry {ref.registry}: {reference}: no sha256 digest ({digest})")
    return digest


@dataclass(frozen=True, slots=True)
class Layer:
    digest: str
    size: int  # compressed, as stored in the registry and downloaded by a pull


def image_layers(reference: str, platform: str, *, timeout: float = 20.0) -> tuple[Layer, ...]:
    """The layers of `reference` (a tag or a digest; an index resolves to `platform`), in
    order; RegistryError when the registry cannot answer or has no such image."""
    import httpx

    ref = endpoint(reference, allow_digest=True)
    base = f"{ref.scheme}://{ref.registry}/v2/{ref.repository}"
    accept = (*INDEX_TYPES, *MANIFEST_TYPES)
    try:
        with httpx.Client(timeout=timeout, follow_redirects=True) as client:
            session = _Session(client, ref)
            body, media_type, _ = session.get(f"{base}/manifests/{ref.reference}", accept)
            if media_type in INDEX_TYPES:
                digest = _from_index(body).get(platform)
                if digest is None:
                    raise RegistryError(f"{reference} has no image for {platform}")
                body, media_type, _ = session.get(f"{base}/manifests/{digest}", accept)
    except httpx.HTTPError as exc:
        raise RegistryError(
            f"registry {ref.registry} is unreachable for {reference}: {type(exc).__name__}:"
            f" {exc}"
        ) from None
    return tuple(Layer(str(item["digest"]), int(item["size"])) for item in body.get("layers", []))


def _from_index(body: dict[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in body.get("manifests", []):
        platform = item.get("platform") or {}
        key = f"{platform.get('os')}/{platform.get('architecture')}"
        digest = item.get("digest", "")
        # attestation manifests carry unknown/unknown; the first entry per platform wins
        if _DIGEST.match(digest) and key not in found and "unknown" not in key:
            found[key] = digest
    return found


class _Session:
    def __init__(self, client: httpx.Client, ref: Endpoint) -> None:
        self.client = client
        self.ref = ref
        self.token: str | None = None

    def get(self, url: str, accept: tuple[str, ...]) -> tuple[dict[str, Any], str, str]:
        import hashlib

        response = self._request(url, accept)
        if response.status_code == 401 and self.token is None:
            self.token = self._token(response.headers.get("www-authenticate", ""))
            response = self._request(url, accept)
        if response.status_code != 200:
            raise RegistryError(
                f"registry {self.ref.registry}: HTTP {response.status_code} for {url}"
            )
        media_type = response.headers.get("content-type", "").split(";", 1)[0].strip()
        digest = response.headers.get("docker-content-digest") or (
            "sha256:" + hashlib.sha256(response.content).hexdigest()
        )
        data = response.json()
        media_type = data.get("mediaType", media_type) if isinstance(data, dict) else media_type
        return data, media_type, digest

    def _request(self, url: str, accept: tuple[str, ...]) -> httpx.Response:
        headers = {"Accept": ", ".join(accept)} if accept else {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return self.client.get(url, headers=headers)

    def _token(self, challenge: str) -> str:
        if not challenge.lower().startswith("bearer "):
            raise RegistryError(
                f"registry {self.ref.registry} asks for credentials ({challenge or 'no'}"
                " challenge); bakery resolves public base images anonymously"
            )
        params = dict(_CHALLENGE.findall(challenge))
        realm = params.pop("realm", "")
        params.setdefault("scope", f"repository:{self.ref.repository}:pull")
        answer = self.client.get(realm, params=params)
        if answer.status_code != 200:
            raise RegistryError(
                f"registry {self.ref.registry}: token request to {realm} answered"
                f" HTTP {answer.status_code}"
            )
        data = answer.json()
        token = data.get("token") or data.get("access_token")
        if not isinstance(token, str):
            raise RegistryError(f"registry {self.ref.registry}: {realm} returned no token")
        return token
