"""The one loader (bakery.project): each mode reads what it says and nothing else, and a locked
plan is expanded once."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

import bakery.project.load as loader
from bakery.errors import ConfigError
from bakery.plan import Plan
from bakery.project import load_plan
from tests.support.repo import ROOT


def _copy(tmp_path: Path, *names: str) -> Path:
    for name in names:
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path / "matrix.toml"


def test_a_locked_plan_is_expanded_once_and_carries_the_locks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[dict[str, Any]] = []
    expand = loader.expand

    def counted(*args: Any, **kwargs: Any) -> Plan:
        calls.append(kwargs)
        return expand(*args, **kwargs)

    monkeypatch.setattr(loader, "expand", counted)
    plan = load_plan(ROOT / "matrix.toml", use_git=False, env={}).plan
    assert len(calls) == 1
    locked = json.loads((ROOT / "locks" / "manifest.json").read_text())["targets"]
    keys = {t.id.removesuffix("-dind") for t in plan.targets}
    assert keys & set(locked)
    for target in plan.targets:
        key = target.id.removesuffix("-dind")
        assert target.args["PACKAGES_LOCK"] == (f"locks/{key}" if key in locked else "")


def test_the_unlocked_plan_takes_the_decisions_but_not_the_package_locks(tmp_path: Path) -> None:
    matrix = _copy(tmp_path, "matrix.toml", "matrix.lock.json")
    (tmp_path / "locks").mkdir()
    (tmp_path / "locks" / "manifest.json").write_text("{not json")
    with pytest.raises(ConfigError, match=r"manifest\.json: not valid JSON"):
        load_plan(matrix, use_git=False, env={})
    plan = load_plan(matrix, mode="unlocked").plan
    assert {t.args["PACKAGES_LOCK"] for t in plan.targets} == {""}
    assert any(f.setting == "auto" and f.reason.startswith("preflight: ")
               for t in plan.targets for f in t.flags.values())
    assert plan.git.ref is None and plan.git.sha is None


def test_the_provisional_plan_reads_no_lock_and_turns_every_auto_flag_off(
    tmp_path: Path,
) -> None:
    matrix = _copy(tmp_path, "matrix.toml")
    (tmp_path / "matrix.lock.json").write_text("{not json")
    with pytest.raises(ConfigError, match=r"matrix\.lock\.json: not valid JSON"):
        load_plan(matrix, mode="unlocked")
    plan = load_plan(matrix, mode="provisional").plan
    auto = [f for t in plan.targets for f in t.flags.values() if f.setting == "auto"]
    assert auto and all(not f.enabled for f in auto)
    assert all("not decided yet" in f.reason for f in auto)
