"""A small repository for `bakery bake` tests (the fake docker comes from tests/support)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.cli import MINIMAL_MATRIX
from tests.support.repo import ROOT


@pytest.fixture
def small_repo(tmp_path: Path) -> Path:
    """A repository with MINIMAL_MATRIX, the shipped template and a bake file rendered from
    them (not written by `bakery render`, so tests of bake stay independent of it)."""
    from bakery.project import load_plan
    from bakery.render import render_bake_file

    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "matrix.toml").write_text(MINIMAL_MATRIX)
    shutil.copy(ROOT / "docker-bake.hcl.j2", repo / "docker-bake.hcl.j2")
    plan = load_plan(repo / "matrix.toml", use_git=False, env={}).plan
    text = render_bake_file(plan, repo / "docker-bake.hcl.j2")
    (repo / "docker-bake.hcl").write_text(text)
    return repo
