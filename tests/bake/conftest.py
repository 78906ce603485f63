"""The fake `docker` (tests/fakes/docker) wired into bakery and python-on-whales.

`fake_docker` puts the fake behind BAKERY_DOCKER (bakery builds its `DockerClient` with
`client_call=[that path]`), records every call it receives, and lets a test set per-target
behaviour. The fake runs with the test interpreter (`python3` first on PATH).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import MINIMAL_MATRIX

ROOT = Path(__file__).resolve().parents[2]
FAKE = ROOT / "tests" / "fakes" / "docker"
SHA = "0123456789abcdef0123456789abcdef01234567"
DEFAULT_IDS = ["base_edge_node_amd64_gpu-py313", "base_edge_node_amd64_cpu-py313",
               "base_edge_node_arm64_cpu-py313"]
GPU, CPU, ARM = DEFAULT_IDS


@dataclass
class FakeDocker:
    path: Path
    log: Path
    monkeypatch: pytest.MonkeyPatch

    def behave(self, **targets: dict[str, Any]) -> None:
        """Per-target behaviour: fail_at (step 1-6), sleep (seconds), exit_code."""
        self.monkeypatch.setenv("FAKE_DOCKER_TARGETS", json.dumps(targets))

    def events(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def calls(self) -> list[list[str]]:
        return [e["argv"] for e in self.events() if "argv" in e]

    def bakes(self) -> list[list[str]]:
        return [argv for argv in self.calls() if argv[:2] == ["buildx", "bake"]]


@pytest.fixture
def fake_docker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, allow_subprocess: None
) -> FakeDocker:
    log = tmp_path / "docker-calls.jsonl"
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
    monkeypatch.setenv("BAKERY_DOCKER", str(FAKE))
    monkeypatch.setenv("FAKE_DOCKER_LOG", str(log))
    monkeypatch.setenv("GITHUB_SHA", SHA)
    for name in ("FAKE_DOCKER_TARGETS", "FAKE_DOCKER_NO_BUILDX", "FAKE_DOCKER_BUILDERS",
                 "FAKE_DOCKER_DAEMON_DOWN"):
        monkeypatch.delenv(name, raising=False)
    return FakeDocker(path=FAKE, log=log, monkeypatch=monkeypatch)


@pytest.fixture
def small_repo(tmp_path: Path) -> Path:
    """A repository with MINIMAL_MATRIX, the shipped template and a bake file rendered from
    them (not written by `bakery render`, so tests of bake stay independent of it)."""
    from bakery.plan.load import load_plan
    from bakery.render import render_bake_file

    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "matrix.toml").write_text(MINIMAL_MATRIX)
    shutil.copy(ROOT / "docker-bake.hcl.j2", repo / "docker-bake.hcl.j2")
    plan = load_plan(repo / "matrix.toml", use_git=False, env={}).plan
    text = render_bake_file(plan, repo / "docker-bake.hcl.j2")
    (repo / "docker-bake.hcl").write_text(text)
    return repo
