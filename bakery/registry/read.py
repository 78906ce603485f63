"""The one manifest reader: an image's manifest for a platform, its size, its base digests,
through either transport (`HttpReader` here, anonymous; the docker CLI's `imagetools`,
`bakery.docker.imagetools.CliReader`, where the credentials live in docker's config).

A transport only fetches bytes; everything read from them is parsed here, strictly
(`bakery.registry.documents`), and everything fetched by digest is checked against it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bakery.registry.documents import (
    ImageConfig,
    ImageIndex,
    ImageManifest,
    manifest_or_index,
    parse,
    sha256_of,
)
from bakery.registry.errors import RegistryError

if TYPE_CHECKING:
    from bakery.registry.http import HttpReader


class ManifestReader(Protocol):
    """Fetches the manifests of one image's repository (as served, unparsed)."""

    @property
    def source(self) -> str:
        """`registry HOST: REFERENCE`: how error messages name what was read."""
        ...

    def manifest(self, reference: str | None = None) -> bytes:
        """The manifest or index at `reference` (a tag or a digest in the same repository;
        the reader's own reference by default); checked against it when it is a digest."""
        ...


Open = Callable[[str], AbstractContextManager[ManifestReader]]


@dataclass(frozen=True, slots=True)
class Layer:
    digest: str
    size: int  # compressed, as stored in the registry and downloaded by a pull


@dataclass(frozen=True, slots=True)
class PlatformImage:
    """One platform's image manifest, with its digest."""

    digest: str
    manifest: ImageManifest

    @property
    def config(self) -> Layer:
        return Layer(self.manifest.config.digest, self.manifest.config.size)

    @property
    def layers(self) -> tuple[Layer, ...]:
        return tuple(Layer(d.digest, d.size) for d in self.manifest.layers)


def platform_image(reader: ManifestReader, platform: str) -> PlatformImage:
    """The image manifest of `platform`: the reader's manifest, or the one its index names
    for the platform; RegistryError naming the registry and reference otherwise."""
    body = reader.manifest()
    document = manifest_or_index(body, reader.source)
    if isinstance(document, ImageManifest):
        return PlatformImage(sha256_of(body), document)
    digest = document.platforms().get(platform)
    if digest is None:
        raise RegistryError(f"{reader.source}: has no image for {platform} (it has:"
                            f" {', '.join(sorted(document.platforms())) or 'none'})")
    child = manifest_or_index(reader.manifest(digest), reader.source,
                              f"the manifest {digest}")
    if isinstance(child, ImageIndex):
        raise RegistryError(f"{reader.source}: the entry for {platform} ({digest}) is another"
                            " index, not an image manifest")
    return PlatformImage(digest, child)


def own_platform(reader: HttpReader, platform: str | None) -> str:
    """The platform `reader`'s image is for: `platform` when the image has it, else its own (a
    single image's from its config, an index's only platform). ConfigError when `platform` is
    not a single image's, or an index holds several and none was asked for."""
    from bakery.errors import ConfigError

    body = reader.manifest()
    document = manifest_or_index(body, reader.source)
    if isinstance(document, ImageIndex):
        found = document.platforms()
        if platform is None:
            if len(found) != 1:
                raise ConfigError(f"{reader.reference} holds {len(found)} platforms"
                                  f" ({', '.join(found) or 'none'}); pass --platform")
            return next(iter(found))
        return platform
    config = parse(reader.blob(document.config.digest), ImageConfig, reader.source,
                   f"the image config {document.config.digest}")
    own = f"{config.os}/{config.architecture}"
    if platform is not None and platform != own:
        raise ConfigError(f"--platform {platform}: {reader.reference} is a {own} image"
                          " (a single platform, not an index)")
    return own


@dataclass(frozen=True, slots=True)
class ImageSize:
    """What an image weighs in the registry: its layers' compressed sizes (what a pull
    downloads), biggest first, and their total with the config blob (a layer listed twice is
    stored and downloaded once)."""

    compressed: int
    layers: tuple[tuple[str, int], ...]  # (digest, compressed bytes)


def image_size(reader: ManifestReader, platform: str) -> ImageSize:
    image = platform_image(reader, platform)
    layers = {layer.digest: layer.size for layer in image.layers}
    return ImageSize(compressed=image.config.size + sum(layers.values()),
                     layers=tuple(sorted(layers.items(), key=lambda x: -x[1])))


def resolve_platform_digests(
    reference: str, platforms: Iterable[str], *, deadline: float | None = None
) -> dict[str, str]:
    """{platform: manifest digest} of the tag `reference` for `platforms` (e.g.
    linux/amd64), over HTTP; RegistryError naming the registry when it cannot answer, or a
    platform the image does not have."""
    from bakery.registry.http import DEADLINE, HttpReader

    wanted = sorted(set(platforms))
    with HttpReader(reference, deadline=deadline or DEADLINE, allow_digest=False) as reader:
        body = reader.manifest()
        document = manifest_or_index(body, reader.source)
        if isinstance(document, ImageIndex):
            found = document.platforms()
        else:
            config = parse(reader.blob(document.config.digest), ImageConfig, reader.source,
                           f"the image config {document.config.digest}")
            found = {f"{config.os}/{config.architecture}": sha256_of(body)}
    missing = [p for p in wanted if p not in found]
    if missing:
        raise RegistryError(
            f"{reader.source}: has no image for {', '.join(missing)}"
            f" (it has: {', '.join(sorted(found)) or 'none'})"
        )
    return {p: found[p] for p in wanted}


def resolve_digest(reference: str, *, deadline: float | None = None) -> str:
    """The digest the tag `reference` names now, over HTTP: of its index when it is
    multi-platform (one pin for every platform); RegistryError naming the registry when it
    cannot answer or its answer is not a manifest."""
    from bakery.registry.http import DEADLINE, HttpReader

    with HttpReader(reference, deadline=deadline or DEADLINE, allow_digest=False) as reader:
        body = reader.manifest()
        manifest_or_index(body, reader.source)
    return sha256_of(body)


def http_reader(reference: str) -> AbstractContextManager[ManifestReader]:
    """An `Open` for public images: the registry's HTTP API."""
    from bakery.registry.http import HttpReader

    return HttpReader(reference)
