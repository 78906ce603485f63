"""The update cost of a candidate image: the compressed bytes of its blobs (config and layers)
that the released image does not have. A device that holds the released image downloads
exactly those (a pull skips blobs whose digest it already has). Read from the registry's
manifests; nothing is pulled. The one formula: `bakery update-cost` (over HTTP) and `bakery
verify` (through the docker CLI) both call `update_cost`."""

from __future__ import annotations

from dataclasses import dataclass

from bakery.registry.errors import ImageNotFound
from bakery.registry.read import Layer, Open, PlatformImage, platform_image


@dataclass(frozen=True)
class UpdateCost:
    candidate: str
    released: str | None
    platform: str
    download: int  # compressed bytes a device holding `released` pulls
    total: int  # compressed bytes of the whole candidate (config and distinct layers)
    layers: int  # distinct layers of the candidate
    new_layers: tuple[Layer, ...]
    config: int  # bytes of the candidate's config blob, in `download` unless held already
    note: str = ""


def update_cost(open_reader: Open, candidate: str, released: str | None,
                platform: str) -> UpdateCost:
    """The cost of moving a device from `released` to `candidate` on `platform`. Without a
    released image (none given, or the registry has none) the whole candidate is the cost."""
    with open_reader(candidate) as reader:
        image = platform_image(reader, platform)
    held: set[str] = set()
    note = ""
    if released is None:
        note = "no released image given: a device pulls everything"
    else:
        try:
            with open_reader(released) as reader:
                old: PlatformImage | None = platform_image(reader, platform)
        except ImageNotFound:
            old = None
            note = f"{released} does not exist yet: a device pulls everything"
        if old is not None:
            held = {old.config.digest, *(layer.digest for layer in old.layers)}
    distinct = {layer.digest: layer for layer in image.layers}
    new = tuple(layer for layer in distinct.values() if layer.digest not in held)
    config = image.config
    download = sum(layer.size for layer in new) + (0 if config.digest in held else config.size)
    return UpdateCost(
        candidate=candidate, released=released, platform=platform, download=download,
        total=config.size + sum(layer.size for layer in distinct.values()),
        layers=len(distinct), new_layers=new, config=config.size, note=note,
    )


def http_update_cost(candidate: str, released: str | None, platform: str | None) -> UpdateCost:
    """`update_cost` over the registries' HTTP API (`bakery update-cost`), on `platform` (None:
    the candidate's own, when it has one: a single image's from its config, an index's only
    platform)."""
    from bakery.registry.http import HttpReader
    from bakery.registry.read import http_reader, own_platform

    with HttpReader(candidate) as reader:
        platform = own_platform(reader, platform)
    return update_cost(http_reader, candidate, released, platform)
