"""Moved to `bakery.registry`; this module only keeps the old import path working while
other branches still use it. New code imports from `bakery.registry.*`."""

from __future__ import annotations

from bakery.registry.documents import INDEX_TYPES, MANIFEST_TYPES
from bakery.registry.errors import RegistryError
from bakery.registry.read import Layer, resolve_digest, resolve_platform_digests
from bakery.registry.reference import Endpoint, endpoint

__all__ = ["INDEX_TYPES", "MANIFEST_TYPES", "Endpoint", "Layer", "RegistryError", "endpoint",
           "resolve_digest", "resolve_platform_digests"]
