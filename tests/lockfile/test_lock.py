"""`bakery lock` end to end: uv resolves against the wheel index on 127.0.0.1; the plan reads
the locks and refuses stale ones."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bakery.lockfile.requirements import parse_lock
from tests.lockfile.conftest import Project
from tests.support.cli import run_cli

KEYS = ["edge_amd-py312", "edge_amd-py313", "edge_arm-py312", "edge_arm-py313"]


def lock(capsys: pytest.CaptureFixture[str], project: Project, *args: str):  # type: ignore[no-untyped-def]
    return run_cli(capsys, "lock", "--no-base", "--matrix", str(project.matrix), *args)


def plan_args(capsys: pytest.CaptureFixture[str], project: Project) -> dict[str, dict[str, str]]:
    result = run_cli(capsys, "plan", "--format", "json", "--matrix", str(project.matrix))
    assert result.code == 0, result.err
    return {t["id"]: t["args"] for t in json.loads(result.out)["targets"]}


def test_one_lock_per_image_and_python_resolved_for_its_own_platform(capsys, project):
    result = lock(capsys, project)
    assert result.code == 0, result.err

    manifest = json.loads((project.locks / "manifest.json").read_text())
    assert sorted(manifest["targets"]) == KEYS
    for key in KEYS:
        entry = manifest["targets"][key]
        packages = parse_lock((project.locks / entry["file"]).read_text())
        machine = "x86_64" if "amd" in key else "aarch64"
        py = "cp313" if key.endswith("313") else "cp312"
        assert entry["platform"] == f"{machine}-manylinux_2_39"
        assert entry["python"] == ("3.13.9" if py == "cp313" else "3.12.12")
        assert entry["indexes"] == [project.index.url]
        # the complete set, dependencies included, each from the index it was resolved on
        expected = {"torch", "torchvision", "torchaudio", "transformers", "tokenizers", "numpy"}
        if machine == "x86_64":
            expected.add("x86-helper")  # a dependency of torch on x86_64 only
        assert set(packages) == expected, key
        assert packages["torch"].version == "2.9.1"
        assert {p.index for p in packages.values()} == {project.index.url}
        # every hash is the sha256 of a file the index serves for that version
        served = {f"sha256:{__import__('hashlib').sha256(data).hexdigest()}"
                  for data in project.index.projects["torch"].values()}
        assert set(packages["torch"].hashes) <= served
    assert "edge_arm-py313" in result.out and "new" in result.out

    args = plan_args(capsys, project)
    assert args["edge_arm-py313"]["PACKAGES_LOCK"] == "locks/edge_arm-py313.txt"
    assert args["edge_arm-py313-dind"]["PACKAGES_LOCK"] == "locks/edge_arm-py313.txt"
    assert args["edge_amd-py312"]["PACKAGES_LOCK"] == "locks/edge_amd-py312.txt"

    before = project.snapshot()
    again = lock(capsys, project)
    assert again.code == 0, again.err
    assert project.snapshot() == before  # deterministic: nothing moves without a reason
    assert "unchanged" in again.out


def test_a_package_without_a_wheel_for_one_target_writes_nothing_and_names_it(capsys, project):
    assert lock(capsys, project).code == 0
    before = project.snapshot()
    project.write(amd_extra="on", arm_extra="on")  # x86-only has no aarch64 wheel

    result = lock(capsys, project)
    assert result.code == 1
    assert "could not resolve edge_arm-py313, edge_arm-py312; nothing was written" in result.err
    assert "x86-only" in result.out  # uv's reason, under the target it belongs to
    assert project.snapshot() == before


def test_upgrade_package_moves_only_that_package(capsys, project):
    assert lock(capsys, project).code == 0
    project.index.publish("numpy", "1.1")
    project.index.publish("tokenizers", "0.22.2")

    result = lock(capsys, project)  # a newer release alone never moves the lock
    assert result.code == 0, result.err
    assert parse_lock((project.locks / "edge_arm-py313.txt").read_text())["numpy"].version == "1.0"

    result = lock(capsys, project, "--upgrade-package", "numpy")
    assert result.code == 0, result.err
    for key in KEYS:
        packages = parse_lock((project.locks / f"{key}.txt").read_text())
        assert packages["numpy"].version == "1.1", key
        assert packages["tokenizers"].version == "0.22.1", key
    assert result.out.count("1.0 -> 1.1") == len(KEYS)
    assert "tokenizers" not in result.out


def test_json_names_every_change_per_target(capsys, project):
    assert lock(capsys, project).code == 0
    project.index.publish("numpy", "1.1")
    result = lock(capsys, project, "-P", "numpy", "--target", "arm", "--format", "json")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert doc["ok"] and doc["written"] and doc["changed"]
    assert [t["key"] for t in doc["targets"]] == ["edge_arm-py313"]
    (change,) = doc["targets"][0]["changes"]
    assert change == {"package": "numpy", "old": "1.0", "new": "1.1", "index": project.index.url}
    # the other targets keep their locks untouched
    amd = parse_lock((project.locks / "edge_amd-py313.txt").read_text())
    assert amd["numpy"].version == "1.0"


def test_plan_refuses_a_lock_for_other_pins_or_edited_by_hand(capsys, project):
    assert lock(capsys, project).code == 0
    project.write(amd_extra="on")
    result = run_cli(capsys, "plan", "--matrix", str(project.matrix))
    assert result.code == 2
    assert "targets.edge_amd-py313: locked for other inputs" in result.err
    assert "run `bakery lock --target edge_amd-py313`" in result.err
    check = lock(capsys, project, "--check")
    assert check.code == 1 and "edge_amd-py312" in check.out

    assert lock(capsys, project).code == 0
    assert plan_args(capsys, project)["edge_amd-py313"]["PACKAGES_LOCK"]
    path = project.locks / "edge_arm-py312.txt"
    path.write_text(path.read_text().replace("numpy==1.0", "numpy==1.1"))
    result = run_cli(capsys, "plan", "--matrix", str(project.matrix))
    assert result.code == 2
    assert "edge_arm-py312.txt was changed after `bakery lock` wrote it" in result.err


def test_a_target_without_a_lock_builds_unlocked_and_check_says_so(capsys, project):
    args = plan_args(capsys, project)
    assert args["edge_arm-py313"]["PACKAGES_LOCK"] == ""
    check = lock(capsys, project, "--check")
    assert check.code == 1
    assert "edge_arm-py313: missing" in check.out


def test_an_unreachable_index_keeps_the_committed_lock_and_is_named(
    capsys, project, dead_index_url
):
    assert lock(capsys, project).code == 0
    before = project.snapshot()
    project.write(pypi=dead_index_url)
    result = lock(capsys, project)
    assert result.code == 0, result.err
    assert f"index {dead_index_url} is unavailable" in result.out
    assert "the committed lock is kept" in result.out
    # the manifest and locks are byte for byte as before (the matrix inputs are now stale)
    assert project.snapshot() == before


def test_install_refuses_a_file_whose_hash_is_not_in_the_lock(capsys, project, tmp_path):
    """The image's install step (`uv pip install --require-hashes -r <lock>`), into a
    throwaway directory: an index serving other bytes than those locked stops it."""
    assert lock(capsys, project, "--target", "edge_amd-py313").code == 0
    lock_file = project.locks / "edge_amd-py313.txt"
    uv = os.fspath(Path(sys.executable).parent / "uv")

    def install(into: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [uv, "pip", "install", "--no-cache", "--no-compile", "--require-hashes",
             "-r", str(lock_file), "--target", str(into), "--python-platform",
             "x86_64-manylinux_2_39", "--python-version", "3.13"],
            capture_output=True, text=True, check=False, timeout=120,
            env={**os.environ, "UV_PYTHON": sys.executable, "UV_NO_CONFIG": "1"},
        )

    good = install(tmp_path / "good")
    assert good.returncode == 0, good.stderr
    assert (tmp_path / "good" / "numpy" / "__init__.py").exists()

    project.index.tamper("numpy", "1.0")
    bad = install(tmp_path / "bad")
    assert bad.returncode != 0
    assert "hash" in bad.stderr.lower() and "numpy" in bad.stderr
    assert not (tmp_path / "bad" / "numpy").exists()
