"""Moved to `bakery.registry.cost`; this module only keeps the old import path working while
other branches still use it. New code calls `bakery.registry.cost.update_cost`."""

from __future__ import annotations

from bakery.registry.cost import UpdateCost
from bakery.registry.cost import update_cost as _update_cost
from bakery.registry.read import http_reader

__all__ = ["UpdateCost", "update_cost"]


def update_cost(candidate: str, released: str | None, platform: str | None) -> UpdateCost:
    """`bakery.registry.cost.update_cost` over the registry's HTTP API, on `platform` (None:
    the candidate's own, when it has one: a single image's from its config, an index's only
    platform)."""
    from bakery.registry.http import HttpReader
    from bakery.registry.read import own_platform

    with HttpReader(candidate) as reader:
        platform = own_platform(reader, platform)
    return _update_cost(http_reader, candidate, released, platform)
