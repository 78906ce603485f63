"""Shared test setup.

* Unit tests never run a subprocess by accident: an autouse guard makes
  `subprocess.Popen` fail unless the test is marked `engine` or asks for `allow_subprocess`.
* `engine` tests need a real Docker engine. Where none answers they are skipped, except under
  BAKERY_REQUIRE_ENGINE=1 (CI sets it after starting dockerd), where that is a failure.
* Git context from the environment of the machine running the tests never leaks in.
* The fake docker (`fake_docker`) and the engine fixtures come from the plugins in
  tests/support/, so no conftest imports another's fixtures.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

# Hypothesis checks behaviour, not speed: no per-example deadline and no "too slow" health
# check, which fail at random on a loaded CI machine (speed is measured in tests/bench/).
settings.register_profile(
    "bakery", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("bakery")

# One fixture set for each fake and each real dependency, for every test directory.
pytest_plugins = ["tests.support.fake_docker", "tests.support.engine", "tests.support.registry",
                  "tests.support.index_server"]


class SubprocessBlocked(AssertionError):
    pass


@pytest.fixture
def allow_subprocess() -> None:
    """Request this fixture in a test that really needs to run a command."""


@pytest.fixture(autouse=True)
def _guard_subprocess(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("engine") or "allow_subprocess" in request.fixturenames:
        return

    def blocked(self: subprocess.Popen[bytes], args: object, *a: object, **k: object) -> None:
        raise SubprocessBlocked(
            f"unit test tried to run {args!r}; mark it `engine` or use `allow_subprocess`"
        )

    monkeypatch.setattr(subprocess.Popen, "__init__", blocked)


@pytest.fixture(autouse=True)
def _clean_git_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GITHUB_REF", "GITHUB_SHA", "BAKERY_MATRIX"):
        monkeypatch.delenv(name, raising=False)


def _engine_problem() -> str | None:
    docker = shutil.which("docker")
    if docker is None:
        return "no docker CLI on PATH"
    try:
        done = subprocess.run(
            [docker, "info", "--format", "{{.ServerVersion}}"],
            capture_output=True, text=True, timeout=20, check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"docker info failed: {exc}"
    if done.returncode != 0:
        return f"no Docker engine answers: {done.stderr.strip()[:200]}"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    engine_items = [item for item in items if item.get_closest_marker("engine")]
    if not engine_items:
        return
    problem = _engine_problem()
    if problem is None:
        return
    if os.environ.get("BAKERY_REQUIRE_ENGINE") == "1":
        mark = pytest.mark.usefixtures("_engine_required_but_missing")
    else:
        mark = pytest.mark.skip(reason=f"needs a Docker engine ({problem}); CI starts one")
    for item in engine_items:
        item.add_marker(mark)
    config.stash[_PROBLEM] = problem


_PROBLEM = pytest.StashKey[str]()


@pytest.fixture
def _engine_required_but_missing(request: pytest.FixtureRequest) -> Iterator[None]:
    problem = request.config.stash.get(_PROBLEM, "unknown")
    pytest.fail(f"BAKERY_REQUIRE_ENGINE=1 but {problem}")
    yield
