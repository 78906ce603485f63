"""The update cost of a candidate image: the compressed size of its layers that the released
image does not have. A device that holds the released image downloads exactly those (a pull
skips layers whose digest it already has). Read from the registry's manifests; nothing is
pulled."""

from __future__ import annotations

from dataclasses import dataclass

from bakery.lockfile.registry import Layer, RegistryError, image_layers, platform_layers


@dataclass(frozen=True)
class UpdateCost:
    candidate: str
    released: str | None
    platform: str
    download: int  # compressed bytes a device holding `released` pulls
    total: int  # compressed bytes of the whole candidate
    layers: int
    new_layers: tuple[Layer, ...]
    note: str = ""


def update_cost(candidate: str, released: str | None, platform: str | None) -> UpdateCost:
    """The cost of moving a device from `released` to `candidate` on `platform` (None: the
    candidate's own, when it has one platform). Without a released image (none given, or the
    registry has none) the whole candidate is the cost."""
    platform, layers = platform_layers(candidate, platform)
    held: set[str] = set()
    note = ""
    if released is None:
        note = "no released image given: a device pulls everything"
    else:
        try:
            held = {layer.digest for layer in image_layers(released, platform)}
        except RegistryError as exc:
            if "HTTP 404" not in str(exc):
                raise
            note = f"{released} does not exist yet: a device pulls everything"
    seen: set[str] = set()
    new: list[Layer] = []
    for layer in layers:
        if layer.digest not in held and layer.digest not in seen:
            new.append(layer)
        seen.add(layer.digest)
    unique_total = sum(layer.size for layer in {x.digest: x for x in layers}.values())
    return UpdateCost(
        candidate=candidate, released=released, platform=platform,
        download=sum(layer.size for layer in new), total=unique_total, layers=len(seen),
        new_layers=tuple(new), note=note,
    )
