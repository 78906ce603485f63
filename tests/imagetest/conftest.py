"""The engine fixtures of tests/engine (nested busybox tar, DinD flags, containers), shared
here, and a project directory (matrix.toml + images/test_image.sh) pinned to the stand-ins."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine.conftest import (  # noqa: F401
    arm64_emulation,
    containers,
    dind_run_flags,
    nested_image,
)
from tests.imagetest.matrix import write_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A directory holding the stand-in matrix and a link to the real images/test_image.sh."""
    return write_project(tmp_path / "project")
