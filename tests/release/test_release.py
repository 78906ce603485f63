"""`bakery release` through the fake docker: tags copied from each target's verified digest,
refusals that create nothing, idempotence, dry-run, a failure midway (SPEC T2, T3, B6)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tests.bake.conftest import FakeDocker
from tests.cli_helpers import MINIMAL_MATRIX, run_cli

REF = ("--ref", "refs/tags/v1.2.0", "--sha", "0123456789abcdef0123456789abcdef01234567")
IDS = ["edge_cpu-py313", "edge_cpu-py313-dind", "edge_cpu-py312", "edge_gpu-py313",
       "edge_gpu-py313-dind", "edge_gpu-py312"]  # every target of MINIMAL_MATRIX


def digest(name: str) -> str:
    return "sha256:" + hashlib.sha256(name.encode()).hexdigest()


def repo_of(target: str) -> str:
    return "acme/" + target.split("-", 1)[0]


def verified(target: str, **changes: Any) -> dict[str, Any]:
    d = digest(target)
    entry: dict[str, Any] = {
        "id": target, "status": "ok", "platform": "linux/amd64", "digest": d,
        "tags": [f"{repo_of(target)}:primary-{target}"], "duration_s": 1.0,
        "started_at": "2026-11-28T10:00:00Z", "error": None, "command": [],
        "build_ref": None, "log_file": None,
        "verify": {"ok": True, "image": f"{repo_of(target)}@{d}", "digest": d,
                   "verified_at": "2026-11-28T11:00:00Z", "mismatches": [], "probe": {}},
    }
    entry.update(changes)
    return entry


@pytest.fixture
def project(tmp_path: Path, fake_docker: FakeDocker, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "matrix.toml").write_text(MINIMAL_MATRIX)
    registry = tmp_path / "registry.json"
    # what bake --push left in the registry: each target's primary tag
    registry.write_text(json.dumps({f"{repo_of(t)}:primary-{t}": digest(t) for t in IDS}))
    monkeypatch.setenv("FAKE_DOCKER_REGISTRY", str(registry))
    monkeypatch.delenv("FAKE_DOCKER_CREATE_FAIL", raising=False)
    write_results(tmp_path, [verified(t) for t in IDS])
    return tmp_path


def write_results(project: Path, targets: list[dict[str, Any]], output: str = "push") -> None:
    doc = {
        "schema_version": 1, "bakery_version": "0.1.0", "matrix": "matrix.toml",
        "bake_file": "docker-bake.hcl", "builder": None, "output": output, "fail_fast": False,
        "jobs": 1, "git": {"ref": "refs/tags/v1.2.0", "sha": "0" * 40, "source": "cli"},
        "started_at": "2026-11-28T10:00:00Z", "duration_s": 1.0, "ok": True, "targets": targets,
    }
    path = project / ".bakery" / "results.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(doc))


def release(capsys: pytest.CaptureFixture[str], project: Path, *args: str):  # type: ignore[no-untyped-def]
    return run_cli(capsys, "release", "--matrix", str(project / "matrix.toml"), *REF, *args)


def creates(fake: FakeDocker) -> list[list[str]]:
    return [a for a in fake.calls() if a[:3] == ["buildx", "imagetools", "create"]]


def registry(project: Path) -> dict[str, str]:
    return json.loads((project / "registry.json").read_text())


def expected_tags(capsys: pytest.CaptureFixture[str], project: Path) -> dict[str, list[str]]:
    plan = run_cli(capsys, "plan", "--matrix", str(project / "matrix.toml"), *REF,
                   "--format", "json")
    return {t["id"]: t["tags"]["legacy"] + t["tags"]["compatibility"] + t["tags"]["release"]
            for t in json.loads(plan.out)["targets"]}


def test_every_tag_is_copied_from_its_own_verified_digest(
    project: Path, fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str]
) -> None:
    wanted = expected_tags(capsys, project)
    assert sorted(wanted) == sorted(IDS)
    done = release(capsys, project)
    assert done.code == 0, done.err
    calls = creates(fake_docker)
    expected_calls = [
        ["buildx", "imagetools", "create", "--tag", tag, f"{repo_of(t)}@{digest(t)}"]
        for t in IDS for tag in wanted[t]
    ]
    assert calls == expected_calls
    assert "acme/edge_dind:x86_64-py3.13.9-th2.9.1.cpu-tr4.57.1" in wanted["edge_cpu-py313-dind"]
    after = registry(project)
    for target in IDS:
        for tag in wanted[target]:
            assert after[tag] == digest(target), tag  # the DinD tags from the DinD digest
    assert after["acme/edge_cpu:1.2.0"] == digest("edge_cpu-py313")
    assert after["acme/edge_cpu:latest-d"] == digest("edge_cpu-py313-dind")


def test_a_second_run_changes_nothing(
    project: Path, fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str]
) -> None:
    assert release(capsys, project).code == 0
    before = registry(project)
    first = len(creates(fake_docker))
    again = release(capsys, project, "--format", "json")
    assert again.code == 0
    assert len(creates(fake_docker)) == first  # no create call at all
    assert {t["state"] for t in json.loads(again.out)["tags"]} == {"present"}
    assert registry(project) == before


def test_a_tag_pointing_elsewhere_is_moved(
    project: Path, fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str]
) -> None:
    old = registry(project) | {"acme/edge_cpu:latest": digest("last release")}
    (project / "registry.json").write_text(json.dumps(old))
    done = release(capsys, project, "--format", "json")
    assert done.code == 0
    latest = next(t for t in json.loads(done.out)["tags"] if t["tag"] == "acme/edge_cpu:latest")
    assert latest["state"] == "moved" and latest["previous"] == digest("last release")
    assert registry(project)["acme/edge_cpu:latest"] == digest("edge_cpu-py313")


def test_dry_run_prints_every_operation_and_creates_nothing(
    project: Path, fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str]
) -> None:
    wanted = expected_tags(capsys, project)
    before = registry(project)
    done = release(capsys, project, "--dry-run")
    assert done.code == 0, done.err
    assert creates(fake_docker) == []
    assert registry(project) == before
    for target in IDS:
        for tag in wanted[target]:
            line = f"docker buildx imagetools create --tag {tag} {repo_of(target)}@{digest(target)}"
            assert line in done.out


@pytest.mark.parametrize(("change", "reason"), [
    ({"verify": None}, "not verified: run `bakery verify`"),
    ({"verify": {"ok": False, "image": "x", "digest": digest("edge_gpu-py313"),
                 "verified_at": "2026-11-28T11:00:00Z", "probe": {},
                 "mismatches": [{"check": "torch", "expected": "2.9.1", "found": "2.9.0"}]}},
     "verification failed: torch expected 2.9.1, found 2.9.0"),
    ({"verify": {"ok": True, "image": "x", "digest": digest("older build"),
                 "verified_at": "2026-11-28T11:00:00Z", "probe": {}, "mismatches": []}},
     "the verified digest"),
    ({"status": "failed", "digest": None}, "its build is failed"),
])
def test_a_refused_target_stops_the_whole_release(
    project: Path, fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str],
    change: dict[str, Any], reason: str,
) -> None:
    targets = [verified(t, **change) if t == "edge_gpu-py313" else verified(t) for t in IDS]
    write_results(project, targets)
    before = registry(project)
    done = release(capsys, project)
    assert done.code == 1
    assert creates(fake_docker) == [] and registry(project) == before
    assert f"edge_gpu-py313: {reason}" in done.err.replace("\n", " ")
    assert "release a subset with --target" in done.err
    # the user may release what is ready, by name
    subset = release(capsys, project, "--target", "cpu")
    assert subset.code == 0, subset.err
    assert {a[4].split(":")[0] for a in creates(fake_docker)} <= {"acme/edge_cpu",
                                                                  "acme/edge", "acme/edge_dind"}
    named = release(capsys, project, "--target", "gpu")
    assert named.code == 1 and "edge_gpu-py313" in named.err


def test_a_missing_target_and_an_unpushed_build_are_refused(
    project: Path, fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str]
) -> None:
    write_results(project, [verified(t) for t in IDS if t != "edge_gpu-py313-dind"])
    done = release(capsys, project)
    assert done.code == 1 and "edge_gpu-py313-dind: not built" in done.err
    write_results(project, [verified(t) for t in IDS], output="load")
    done = release(capsys, project)
    assert done.code == 1 and "not pushed" in done.err
    assert creates(fake_docker) == []


def test_a_failure_midway_says_what_was_done(
    project: Path, fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAKE_DOCKER_CREATE_FAIL", "acme/edge_cpu:1.2.0")
    done = release(capsys, project, "--format", "json")
    assert done.code == 1
    tags = {t["tag"]: t for t in json.loads(done.out)["tags"]}
    failed = tags["acme/edge_cpu:1.2.0"]
    assert failed["state"] == "failed" and "401 Unauthorized" in failed["message"]
    assert {t["state"] for name, t in tags.items() if name != "acme/edge_cpu:1.2.0"} == {"created"}
    assert "acme/edge_cpu:1.2.0" in done.err
    assert "acme/edge_cpu:1.2.0" not in registry(project)
    # the retry creates only what is missing
    monkeypatch.delenv("FAKE_DOCKER_CREATE_FAIL")
    count = len(creates(fake_docker))
    assert release(capsys, project).code == 0
    assert creates(fake_docker)[count:] == [
        ["buildx", "imagetools", "create", "--tag", "acme/edge_cpu:1.2.0",
         f"acme/edge_cpu@{digest('edge_cpu-py313')}"]]


def test_no_results_file_is_a_clear_error(
    tmp_path: Path, fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "matrix.toml").write_text(MINIMAL_MATRIX)
    done = release(capsys, tmp_path)
    assert done.code == 2 and "no build results; run `bakery bake` first" in done.err
