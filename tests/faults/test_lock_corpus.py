"""locks/manifest.json damaged or pointing elsewhere: plan and bake refuse it in one line
naming the manifest, the key and the fix (`bakery lock`); never a build from another target's
lock or a base pin that is not a digest. And a lock write that fails leaves every file under
locks/ byte-identical."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bakery.lockfile.groups import GROUPS
from bakery.lockfile.manifest import (
    BaseLock,
    LockedGroup,
    LockedTarget,
    Manifest,
    expected_files,
    file_sha256,
    manifest_json,
)
from bakery.lockfile.spec import lock_dir_name, lock_specs
from bakery.matrix import parse_matrix
from bakery.plan import expand
from tests.faults.conftest import one_line_error, snapshot
from tests.support.cli import MINIMAL_MATRIX, run_cli
from tests.support.fake_docker import FakeDocker

PY313, PY312 = "edge_cpu-py313", "edge_cpu-py312"
AMD64 = "sha256:" + "b" * 64


def _locked_project(root: Path) -> Path:
    """MINIMAL_MATRIX with a current lock of every target (hand-made, as `bakery lock` would
    write it) and a base pinned for linux/amd64."""
    root.mkdir()
    matrix_path = root / "matrix.toml"
    matrix_path.write_text(MINIMAL_MATRIX, encoding="utf-8")
    matrix = parse_matrix(MINIMAL_MATRIX, source="matrix.toml")
    plan = expand(matrix)
    locks = root / "locks"
    entries: dict[str, LockedTarget] = {}
    for spec in lock_specs(matrix, list(plan.targets)):
        groups = []
        for group, file in zip(GROUPS, expected_files(spec.key), strict=True):
            text = f"# {spec.key}\n{group.name}-pkg==1.0\n"
            (locks / file).parent.mkdir(parents=True, exist_ok=True)
            (locks / file).write_text(text, encoding="utf-8")
            groups.append(LockedGroup(name=group.name, file=file, packages=1,
                                      sha256=file_sha256(text)))
        entries[spec.key] = LockedTarget(
            inputs=spec.fingerprint(), dir=lock_dir_name(spec.key), python=spec.python,
            platform=spec.uv_platform, requirements=spec.requirements, indexes=spec.indexes,
            packages=3, groups=tuple(groups))
    manifest = Manifest(base=BaseLock(image=matrix.base_image, digests={"linux/amd64": AMD64}),
                        targets=entries)
    (locks / "manifest.json").write_text(manifest_json(manifest), encoding="utf-8")
    return matrix_path


def _plan_args(capsys: pytest.CaptureFixture[str], matrix: Path) -> dict[str, dict[str, str]]:
    done = run_cli(capsys, "plan", "--format", "json", "--matrix", str(matrix))
    assert done.code == 0, done.err
    return {t["id"]: t["args"] for t in json.loads(done.out)["targets"]}


def test_the_hand_made_lock_is_used(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _plan_args(capsys, _locked_project(tmp_path / "p"))
    assert args[PY313]["PACKAGES_LOCK"] == f"locks/{lock_dir_name(PY313)}"
    assert args[PY312]["PACKAGES_LOCK"] == f"locks/{lock_dir_name(PY312)}"
    assert args[PY313]["BASE_IMAGE"] == f"ubuntu:24.04@{AMD64}"


Edit = Callable[[dict[str, Any]], None]


def _target(key: str, field: str, value: Any) -> Edit:
    def edit(doc: dict[str, Any]) -> None:
        doc["targets"][key][field] = value
    return edit


def _base(field: str, value: Any) -> Edit:
    def edit(doc: dict[str, Any]) -> None:
        doc["base"][field] = value
    return edit


# name -> (edit of the manifest, what the error line must contain)
CASES: dict[str, tuple[Edit, str]] = {
    "dir-of-another-target": (
        _target(PY313, "dir", lock_dir_name(PY312)),
        f"targets.{PY313}: names the directory '{lock_dir_name(PY312)}', not its own"),
    "dir-outside-locks": (_target(PY313, "dir", "../etc"),
                          f"targets.{PY313}.dir: String should match pattern"),
    "python-of-another-target": (_target(PY313, "python", "3.12.12"),
                                 f"targets.{PY313}: locked for python 3.12.12"),
    "inputs-of-another-target": (_target(PY313, "inputs", "sha256:" + "0" * 64),
                                 f"targets.{PY313}: locked for other inputs"),
    "packages-negative": (_target(PY313, "packages", -1),
                          f"targets.{PY313}.packages: Input should be greater"),
    "packages-true": (_target(PY313, "packages", True),
                      f"targets.{PY313}.packages: Input should be a valid integer"),
    "group-sha-garbage": (
        lambda doc: doc["targets"][PY313]["groups"][0].update(sha256="garbage"),
        f"targets.{PY313}.groups.0.sha256: String should match pattern"),
    "base-digest-garbage": (_base("digests", {"linux/amd64": "garbage"}),
                            "base.digests.linux/amd64: String should match pattern"),
    "base-digest-md5": (_base("digests", {"linux/amd64": "md5:xyz"}),
                        "base.digests.linux/amd64: String should match pattern"),
    "base-digest-short": (_base("digests", {"linux/amd64": "sha256:abc"}),
                          "base.digests.linux/amd64: String should match pattern"),
    "base-digest-with-newline": (_base("digests", {"linux/amd64": AMD64 + "\nX=1"}),
                                 "base.digests.linux/amd64: String should match pattern"),
    "base-platform-garbage": (_base("digests", {"linux amd64": AMD64}),
                              "base.digests.linux amd64.[key]: String should match pattern"),
    "base-of-another-image": (_base("image", "ubuntu:22.04"),
                              "base.image: pinned for 'ubuntu:22.04'"),
    "base-null-digests": (_base("digests", None), "base.digests: Input should be an object"),
}


def _damage(matrix: Path, edit: Edit) -> Path:
    manifest = matrix.parent / "locks" / "manifest.json"
    doc = json.loads(manifest.read_text())
    edit(doc)
    manifest.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return manifest


@pytest.mark.parametrize("case", sorted(CASES))
def test_plan_refuses_a_manifest_that_is_not_this_matrixs_lock(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str) -> None:
    matrix = _locked_project(tmp_path / "p")
    edit, reason = CASES[case]
    manifest = _damage(matrix, edit)
    before = snapshot(matrix.parent)
    done = run_cli(capsys, "plan", "--matrix", str(matrix))
    line = one_line_error(done.code, done.err)
    assert line.startswith(f"bakery: error: {manifest}: "), line
    assert reason in line, line
    assert "run `bakery lock" in line, line
    assert done.out == ""
    assert snapshot(matrix.parent) == before


@pytest.mark.parametrize("case", ["dir-of-another-target", "base-digest-garbage"])
def test_bake_refuses_it_before_building(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         fake_docker: FakeDocker, case: str) -> None:
    matrix = _locked_project(tmp_path / "p")
    done = run_cli(capsys, "render", "--matrix", str(matrix))
    edit, reason = CASES[case]
    _damage(matrix, edit)
    done = run_cli(capsys, "bake", "--matrix", str(matrix))
    line = one_line_error(done.code, done.err)
    assert reason in line and "run `bakery lock" in line, line
    assert not [a for a in fake_docker.calls() if a[:2] == ["buildx", "bake"]]


@pytest.mark.parametrize("doc", ["[" * 500 + "]" * 500, '{"schema_version": NaN}', "null"])
def test_a_manifest_that_is_not_json_of_a_lock(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str],
                                               doc: str) -> None:
    matrix = _locked_project(tmp_path / "p")
    (matrix.parent / "locks" / "manifest.json").write_text(doc)
    done = run_cli(capsys, "plan", "--matrix", str(matrix))
    line = one_line_error(done.code, done.err)
    assert "locks/manifest.json: " in line and "run `bakery lock`" in line, line
