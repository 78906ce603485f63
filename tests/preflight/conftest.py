"""Preflight tests talk to the fixture index on 127.0.0.1 only (tests/support/index_server.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _network_rule(loopback_only: None) -> None:
    """Anything but 127.0.0.1 fails at once."""
