"""Multi-architecture names: the matrix joins images of different architectures under one
name; plan shows it with its members; release creates the index from the members' verified
candidates only, and refuses (creating nothing) unless every member is verified."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bakery.errors import ConfigError
from bakery.matrix import parse_matrix
from bakery.plan import Plan, expand
from bakery.tags.git import GitContext
from tests.release.data import REF, REF_ARGS, SHA, digest, write_results
from tests.support.cli import MINIMAL_MATRIX, run_cli
from tests.support.fake_docker import FakeDocker
from tests.support.locked import write_locks

Capsys = pytest.CaptureFixture[str]
ARM = '''
[images.edge_arm]
arch = "arm64"
accelerator = "cpu"
torch = { torch = "2.9.1", torchvision = "0.24.1", torchaudio = "2.9.1" }
features = { bitsandbytes = "off" }
'''
MULTI = '''
[multiarch.cpu]
images = ["edge_cpu", "edge_arm"]
tags = ["acme/edge_multi:{tag}", "acme/edge_multi:latest"]
'''
MATRIX = MINIMAL_MATRIX + ARM + MULTI
NAMES = ["acme/edge_multi:py3.13.9-th2.9.1-tr4.57.1", "acme/edge_multi:latest"]
MEMBERS = ["edge_cpu-py313", "edge_arm-py313"]


def result(target: str, candidate: str, verified: bool = True) -> dict[str, object]:
    """A bake result: pushed as its candidate and (unless told) verified on its digest."""
    return {"id": target, "status": "ok", "platform": "linux/amd64", "digest": digest(target),
            "tags": [candidate], "duration_s": 1.0, "started_at": "2026-11-28T10:00:00Z",
            "error": None, "command": [], "build_ref": None, "log_file": None,
            "verify": {"ok": True, "image": candidate, "digest": digest(target),
                       "verified_at": "2026-11-28T11:00:00Z", "mismatches": [], "probe": {}}
            if verified else None}


def plan_of(text: str = MATRIX, ref: str = REF) -> Plan:
    return expand(parse_matrix(text, source="matrix.toml"),
                  git=GitContext(ref=ref, sha=SHA, source="cli"))


def test_plan_shows_the_index_with_its_members(tmp_path: Path, capsys: Capsys) -> None:
    (tmp_path / "matrix.toml").write_text(MATRIX)
    write_locks(tmp_path / "matrix.toml")
    shown = run_cli(capsys, "plan", "--matrix", str(tmp_path / "matrix.toml"), "--format",
                    "json", *REF_ARGS)
    assert shown.code == 0, shown.err
    assert json.loads(shown.out)["multiarch"] == [{"id": "cpu", "tags": NAMES, "members": [
        {"target": "edge_cpu-py313", "platform": "linux/amd64"},
        {"target": "edge_arm-py313", "platform": "linux/arm64"}]}]
    table = run_cli(capsys, "plan", "--matrix", str(tmp_path / "matrix.toml"), *REF_ARGS)
    assert ("acme/edge_multi:latest  <- edge_cpu-py313 (linux/amd64), edge_arm-py313"
            " (linux/arm64)") in table.out
    gpu_only = run_cli(capsys, "plan", "--matrix", str(tmp_path / "matrix.toml"), "--format",
                       "json", "--target", "gpu", *REF_ARGS)
    assert json.loads(gpu_only.out)["multiarch"] == []


def test_a_pre_release_leaves_the_floating_name_alone() -> None:
    (index,) = plan_of(ref="refs/tags/v1.3.0-rc.1").multiarch
    assert index.tags == (NAMES[0],)


@pytest.mark.parametrize(("change", "message"), [
    (('"edge_cpu", "edge_arm"', '"edge_cpu", "edge_gpu"'), "two images of one architecture"),
    (('"edge_cpu", "edge_arm"', '"edge_cpu", "edge_arn"'),
     "multiarch.cpu.images: unknown image 'edge_arn' (did you mean 'edge_arm'?)"),
    (('"edge_cpu", "edge_arm"', '"edge_cpu"'), "an index joins at least two images"),
    (('torch = "2.9.1", torchvision', 'torch = "2.9.0", torchvision'),
     "the images differ in torch (edge_cpu 2.9.1, edge_arm 2.9.0)"),
    (("acme/edge_multi:latest", "acme/edge_cpu:1.2.0"), "is claimed twice"),
    (("{tag}", "{arch}"), "unknown placeholder {arch}"),
])
def test_bad_indexes_are_config_errors(change: tuple[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        plan_of(MATRIX.replace(*change))
    assert message in str(caught.value)


@pytest.fixture
def project(tmp_path: Path, fake_docker: FakeDocker, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "matrix.toml").write_text(MATRIX)
    write_locks(tmp_path / "matrix.toml")
    plan = plan_of()
    registry = tmp_path / "registry.json"
    registry.write_text(json.dumps({t.candidate: digest(t.id) for t in plan.targets}))
    monkeypatch.setenv("FAKE_DOCKER_REGISTRY", str(registry))
    for name in ("FAKE_DOCKER_CREATE_FAIL", "FAKE_DOCKER_REGISTRY_DOWN"):
        monkeypatch.delenv(name, raising=False)
    results = [result(t.id, t.candidate) for t in plan.targets]
    write_results(tmp_path / ".bakery" / "results.json", results)
    return tmp_path


def release(capsys: Capsys, project: Path, *args: str) -> dict[str, object]:
    done = run_cli(capsys, "release", "--matrix", str(project / "matrix.toml"), *REF_ARGS,
                   "--format", "json", *args)
    doc: dict[str, object] = json.loads(done.out)
    doc["exit"] = done.code
    return doc


def registry(project: Path) -> tuple[dict[str, str], dict[str, list[str]]]:
    tags = json.loads((project / "registry.json").read_text())
    index_file = project / "registry.json.indexes.json"
    return tags, (json.loads(index_file.read_text()) if index_file.exists() else {})


def test_release_joins_the_verified_candidates_and_a_rerun_changes_nothing(
    project: Path, fake_docker: FakeDocker, capsys: Capsys
) -> None:
    doc = release(capsys, project, "--target", "cpu", "--target", "edge_arm-py313")
    assert doc["exit"] == 0, doc
    made = {t["tag"]: t for t in doc["tags"] if t["kind"] == "multiarch"}  # type: ignore[union-attr, index, attr-defined]
    assert list(made) == NAMES
    sources = [f"acme/{m.split('-')[0]}-staging@{digest(m)}" for m in MEMBERS]
    assert made[NAMES[0]]["sources"] == sources
    creates = [a for a in fake_docker.calls() if a[:3] == ["buildx", "imagetools", "create"]]
    assert ["buildx", "imagetools", "create", "--prefer-index=false", "--tag", NAMES[0], *sources] in creates
    tags, indexes = registry(project)
    assert indexes[tags[NAMES[0]]] == [digest(m) for m in MEMBERS]
    assert tags[NAMES[1]] == tags[NAMES[0]]

    again = release(capsys, project, "--target", "cpu", "--target", "edge_arm-py313")
    assert again["exit"] == 0
    assert {t["state"] for t in again["tags"]} == {"present"}  # type: ignore[union-attr, index, attr-defined]
    assert registry(project) == (tags, indexes)
    assert len([a for a in fake_docker.calls() if a[:3] == ["buildx", "imagetools", "create"]]
               ) == len(creates)


def test_an_unverified_member_refuses_the_release_and_creates_nothing(
    project: Path, fake_docker: FakeDocker, capsys: Capsys
) -> None:
    plan = plan_of()
    results = [result(t.id, t.candidate, verified=t.id != "edge_arm-py313")
               for t in plan.targets]
    write_results(project / ".bakery" / "results.json", results)
    before = registry(project)
    doc = release(capsys, project, "--target", "edge_cpu-py313", "--target", "edge_arm-py313")
    assert doc["exit"] == 1
    assert doc["tags"] == []
    assert doc["refused"] == [
        {"target": "edge_arm-py313", "reason": "not verified: run `bakery verify`"},
        {"target": "multiarch.cpu", "reason":
         "member edge_arm-py313: not verified: run `bakery verify`"}]
    assert registry(project) == before
    assert not [a for a in fake_docker.calls() if a[:3] == ["buildx", "imagetools", "create"]]


def test_a_selection_with_only_some_members_is_refused(
    project: Path, fake_docker: FakeDocker, capsys: Capsys
) -> None:
    before = registry(project)
    doc = release(capsys, project, "--target", "edge_cpu-py313")
    assert doc["exit"] == 1 and doc["tags"] == []
    assert doc["refused"] == [{"target": "multiarch.cpu", "reason":
                               "needs all its members; add edge_arm-py313 to --target"}]
    assert registry(project) == before
