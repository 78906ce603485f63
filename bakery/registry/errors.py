"""The one registry error: whatever a registry could not answer, refused, or answered with
something that is not what was asked for. A failure of something outside bakery (exit 1)."""

from __future__ import annotations

from bakery.errors import BakeryError


class RegistryError(BakeryError):
    """One line naming the registry and the reference, and what went wrong."""


class ImageNotFound(RegistryError):
    """The registry answered, and has no such image (HTTP 404, `manifest unknown`)."""
