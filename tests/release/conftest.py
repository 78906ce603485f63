"""The fake docker (tests/fakes/docker) with a registry state file, and a project directory
holding MINIMAL_MATRIX (fully locked) and a results file where every target is built, pushed and verified."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.release.data import IDS, candidate, digest, entry, write_results
from tests.support.cli import MINIMAL_MATRIX
from tests.support.fake_docker import FakeDocker
from tests.support.locked import write_locks


@dataclass
class FakeRegistry:
    path: Path

    def tags(self) -> dict[str, str]:
        return dict(json.loads(self.path.read_text()))

    def put(self, tag: str, digest: str) -> None:
        self.path.write_text(json.dumps(self.tags() | {tag: digest}))


@pytest.fixture
def registry(tmp_path: Path, fake_docker: FakeDocker, monkeypatch: pytest.MonkeyPatch
             ) -> FakeRegistry:
    """What `bakery bake --push` left in the registry: each target's candidate, in staging."""
    path = tmp_path / "registry.json"
    path.write_text(json.dumps({candidate(t): digest(t) for t in IDS}))
    monkeypatch.setenv("FAKE_DOCKER_REGISTRY", str(path))
    for name in ("FAKE_DOCKER_CREATE_FAIL", "FAKE_DOCKER_REGISTRY_DOWN"):
        monkeypatch.delenv(name, raising=False)
    return FakeRegistry(path)


@pytest.fixture
def project(tmp_path: Path, registry: FakeRegistry) -> Path:
    (tmp_path / "matrix.toml").write_text(MINIMAL_MATRIX)
    # release publishes only fully locked targets: stand-in locks and a pinned base
    write_locks(tmp_path / "matrix.toml")
    write_results(tmp_path / ".bakery" / "results.json", [entry(t) for t in IDS])
    return tmp_path
