"""The pytest plugin for the fake `docker` CLI (tests/fakes/docker), registered by
tests/conftest.py for every test.

`fake_docker` puts the fake behind BAKERY_DOCKER (bakery builds its python-on-whales client
with `client_call=[that path]`), gives it a fresh call log and a clean environment, and returns
a `FakeDocker` to set its behaviour and read what it was asked. The fake runs with the test
interpreter (its directory goes first on PATH). Its settings are documented at its top.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.repo import ROOT

FAKE = ROOT / "tests" / "fakes" / "docker"
SHA = "0123456789abcdef0123456789abcdef01234567"
# every FAKE_DOCKER_* setting the fake reads, cleared for each test
SETTINGS = (
    "FAKE_DOCKER_TARGETS", "FAKE_DOCKER_NO_BUILDX", "FAKE_DOCKER_BUILDERS",
    "FAKE_DOCKER_DAEMON_DOWN", "FAKE_DOCKER_NO_METADATA",
    "FAKE_DOCKER_IMAGES", "FAKE_DOCKER_ENGINE_DOWN", "FAKE_DOCKER_REGISTRY",
    "FAKE_DOCKER_CREATE_FAIL", "FAKE_DOCKER_REGISTRY_DOWN", "FAKE_DOCKER_ATTESTED",
    "FAKE_DOCKER_IMAGETOOLS", "FAKE_DOCKER_INSPECT_ANSWER", "FAKE_DOCKER_DRIVER",
    "FAKE_DOCKER_STORE", "FAKE_DOCKER_ARCH",
)


@dataclass
class FakeDocker:
    path: Path
    log: Path
    monkeypatch: pytest.MonkeyPatch

    def set(self, name: str, value: str) -> None:
        """Set one of the fake's FAKE_DOCKER_* settings for this test."""
        if not name.startswith("FAKE_DOCKER_") or name not in SETTINGS:
            raise KeyError(f"the fake docker reads no setting {name!r}")
        self.monkeypatch.setenv(name, value)

    def behave(self, **targets: dict[str, Any]) -> None:
        """Per-target behaviour of `buildx bake`: fail_at (step 1-6), sleep (seconds),
        exit_code; "*" for every target."""
        self.set("FAKE_DOCKER_TARGETS", json.dumps(targets))

    def images_by_ref(self, behaviour: dict[str, dict[str, Any]]) -> None:
        """Per image reference, what `image inspect`, `image pull` and `container run` do."""
        self.set("FAKE_DOCKER_IMAGES", json.dumps(behaviour))

    def events(self) -> list[dict[str, Any]]:
        """Everything the fake logged, in order: {"argv", "cwd", "pid"} per call and
        {"signal", "pid", "targets"} per signal a bake received."""
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def calls(self) -> list[list[str]]:
        return [e["argv"] for e in self.events() if "argv" in e]

    def bakes(self) -> list[list[str]]:
        return [argv for argv in self.calls() if argv[:2] == ["buildx", "bake"]]

    def runs(self) -> list[list[str]]:
        return [argv for argv in self.calls() if argv[:2] == ["container", "run"]]


@pytest.fixture
def fake_docker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, allow_subprocess: None
) -> FakeDocker:
    log = tmp_path / "docker-calls.jsonl"
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
    monkeypatch.setenv("BAKERY_DOCKER", str(FAKE))
    monkeypatch.setenv("FAKE_DOCKER_LOG", str(log))
    monkeypatch.setenv("GITHUB_SHA", SHA)
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    return FakeDocker(path=FAKE, log=log, monkeypatch=monkeypatch)
