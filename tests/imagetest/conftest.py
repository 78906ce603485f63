"""A project directory (matrix.toml + images/test_image.sh) pinned to the stand-in images; the
engine fixtures (nested busybox tar, DinD flags, containers) come from tests/support/engine.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.imagetest.matrix import write_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A directory holding the stand-in matrix and a link to the real images/test_image.sh."""
    return write_project(tmp_path / "project")
