"""Moved to `bakery.registry.cost`; this module only keeps the old import path working while
other branches still use it. New code calls `bakery.registry.cost.update_cost`."""

from __future__ import annotations

from bakery.registry.cost import UpdateCost
from bakery.registry.cost import update_cost as _update_cost
from bakery.registry.read import http_reader

__all__ = ["UpdateCost", "update_cost"]


def update_cost(candidate: str, released: str | None, platform: str) -> UpdateCost:
    """`bakery.registry.cost.update_cost` over the registry's HTTP API."""
    return _update_cost(http_reader, candidate, released, platform)
