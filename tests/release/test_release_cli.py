"""`bakery release` through the fake docker: the argv of every imagetools call, refusals that
create nothing, --target subsets, idempotence, moved tags, dry-run, a failure midway, JSON
(T3, B6, B7)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.release.conftest import FakeRegistry
from tests.release.data import (
    CPU,
    IDS,
    REF_ARGS,
    REFUSALS,
    digest,
    entry,
    refused_entry,
    repository,
    to_create,
    write_results,
)
from tests.support.cli import Result, run_cli
from tests.support.fake_docker import FakeDocker

Capsys = pytest.CaptureFixture[str]


def release(capsys: Capsys, project: Path, *args: str) -> Result:
    return run_cli(capsys, "release", "--matrix", str(project / "matrix.toml"), *REF_ARGS, *args)


def imagetools(fake: FakeDocker, verb: str) -> list[list[str]]:
    return [a for a in fake.calls() if a[:3] == ["buildx", "imagetools", verb]]


def create_argv(target: str, tag: str) -> list[str]:
    return ["buildx", "imagetools", "create", "--prefer-index=false", "--tag", tag, f"{repository(target)}@{digest(target)}"]


def one_line(result: Result) -> str:
    lines = [line for line in result.err.splitlines() if line.startswith("bakery: error:")]
    assert len(lines) == 1, result.err
    return lines[0]


def test_every_tag_is_copied_from_its_own_verified_digest(
    project: Path, fake_docker: FakeDocker, registry: FakeRegistry, capsys: Capsys
) -> None:
    done = release(capsys, project)
    assert done.code == 0, done.err
    assert imagetools(fake_docker, "create") == [create_argv(t, tag) for t in IDS
                                                 for tag in to_create(t)]
    # every tag was read first, by name, and read back after its copy
    assert [a[3] for a in imagetools(fake_docker, "inspect")] == [tag for t in IDS
                                                                  for tag in to_create(t)
                                                                  for _ in ("before", "after")]
    after = registry.tags()
    for target in IDS:
        for tag in to_create(target):
            assert after[tag] == digest(target), tag
    # the DinD compatibility and release tags from the DinD variant's own digest
    assert after["acme/edge_dind:x86_64-py3.13.9-th2.9.1.cpu-tr4.57.1"] == digest("edge_cpu-py313-dind")
    assert after["acme/edge_cpu:latest-d"] == digest("edge_cpu-py313-dind")
    assert after["acme/edge_cpu:latest"] == digest("edge_cpu-py313")
    total = sum(len(to_create(t)) for t in IDS)
    assert f"{total} created" in done.out
    assert "acme/edge:x86_64-py3.13.9-th2.9.1.cpu-tr4.57.1" in done.out


def test_a_second_run_changes_nothing(
    project: Path, fake_docker: FakeDocker, registry: FakeRegistry, capsys: Capsys
) -> None:
    assert release(capsys, project).code == 0
    before, creates = registry.tags(), len(imagetools(fake_docker, "create"))
    again = release(capsys, project)
    assert again.code == 0, again.err
    assert len(imagetools(fake_docker, "create")) == creates  # not one create call
    assert registry.tags() == before
    total = sum(len(to_create(t)) for t in IDS)
    assert f"{total} already in place" in again.out and "created" not in again.out
    as_json = release(capsys, project, "--target", "dind", "--format", "json")
    assert {t["state"] for t in json.loads(as_json.out)["tags"]} == {"present"}


def test_a_tag_pointing_elsewhere_is_moved(
    project: Path, fake_docker: FakeDocker, registry: FakeRegistry, capsys: Capsys
) -> None:
    registry.put("acme/edge_cpu:latest", digest("last release"))
    done = release(capsys, project, "--target", "edge_cpu-py313")
    assert done.code == 0, done.err
    assert f"moved from {digest('last release')[:19]}" in done.out
    assert registry.tags()["acme/edge_cpu:latest"] == digest("edge_cpu-py313")
    assert create_argv("edge_cpu-py313", "acme/edge_cpu:latest") in imagetools(fake_docker, "create")


def test_dry_run_prints_every_operation_and_creates_nothing(
    project: Path, fake_docker: FakeDocker, registry: FakeRegistry, capsys: Capsys
) -> None:
    registry.put("acme/edge_cpu:latest", digest("last release"))
    registry.put("acme/edge_gpu:1.2.0", digest("edge_gpu-py313"))  # already in place
    before = registry.tags()
    done = release(capsys, project, "--dry-run")
    assert done.code == 0, done.err
    assert imagetools(fake_docker, "create") == [] and registry.tags() == before
    for target in IDS:
        for tag in to_create(target):
            # the docker command is the one bakery runs (BAKERY_DOCKER), not a bare `docker`
            line = (f"{fake_docker.path} buildx imagetools create --prefer-index=false --tag {tag}"
                    f" {repository(target)}@{digest(target)}")
            assert (line in done.out) == (tag != "acme/edge_gpu:1.2.0"), tag
    assert "would move from sha256:" in done.out and "already in place" in done.out
    doc = json.loads(release(capsys, project, "--dry-run", "--format", "json").out)
    states = {t["tag"]: t["state"] for t in doc["tags"]}
    assert doc["dry_run"] is True and doc["ok"] is True
    assert states["acme/edge_cpu:latest"] == "would move"
    assert states["acme/edge_gpu:1.2.0"] == "present"
    assert states["acme/edge_cpu:1.2.0"] == "would create"
    assert imagetools(fake_docker, "create") == []


@pytest.mark.parametrize("why", list(REFUSALS))
def test_a_refused_target_blocks_the_whole_release(
    project: Path, fake_docker: FakeDocker, registry: FakeRegistry, capsys: Capsys, why: str
) -> None:
    bad = refused_entry("edge_gpu-py313", why)
    targets = [entry(t) if t != "edge_gpu-py313" else bad for t in IDS]
    write_results(project / ".bakery" / "results.json", [t for t in targets if t is not None])
    before = registry.tags()
    done = release(capsys, project)
    assert done.code == 1
    assert imagetools(fake_docker, "create") == [] and registry.tags() == before
    assert imagetools(fake_docker, "inspect") == []  # Docker not even asked
    error = one_line(done)
    assert f"edge_gpu-py313: {REFUSALS[why][1]}" in error
    assert "nothing was created" in error and "--target" in error
    assert "refused: " in done.out and "edge_gpu-py313" in done.out


def test_explicit_targets_release_a_subset(
    project: Path, fake_docker: FakeDocker, registry: FakeRegistry, capsys: Capsys
) -> None:
    targets = [entry(t) if t.startswith("edge_cpu") else refused_entry(t, "unverified")
               for t in IDS]
    write_results(project / ".bakery" / "results.json", [t for t in targets if t is not None])
    assert release(capsys, project).code == 1
    subset = release(capsys, project, "--target", "edge_cpu-*")
    assert subset.code == 0, subset.err
    assert imagetools(fake_docker, "create") == [create_argv(t, tag) for t in CPU
                                                 for tag in to_create(t)]
    assert not any(tag.startswith("acme/edge_gpu:1") for tag in registry.tags())


def test_every_explicitly_named_target_must_be_releasable(
    project: Path, fake_docker: FakeDocker, registry: FakeRegistry, capsys: Capsys
) -> None:
    targets = [refused_entry(t, "verify failed") if t == "edge_gpu-py312" else entry(t)
               for t in IDS]
    write_results(project / ".bakery" / "results.json", [t for t in targets if t is not None])
    named = release(capsys, project, "--target", "edge_gpu-py313", "--target", "*-py312")
    assert named.code == 1
    error = one_line(named)
    assert "edge_gpu-py312: verification failed: torch expected 2.9.1 found 2.9.0" in error
    assert "every target named with --target must be releasable" in error
    assert "1 of 3 target(s)" in error
    assert imagetools(fake_docker, "create") == []


def test_a_failure_midway_says_what_was_and_was_not_done(
    project: Path, fake_docker: FakeDocker, registry: FakeRegistry, capsys: Capsys,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAKE_DOCKER_CREATE_FAIL", "acme/edge_cpu:1.2.0")
    done = release(capsys, project, "--target", "edge_cpu-*", "--format", "json")
    assert done.code == 1
    doc = json.loads(done.out)
    assert doc["ok"] is False
    tags = {t["tag"]: t for t in doc["tags"]}
    failed = tags.pop("acme/edge_cpu:1.2.0")
    assert failed["state"] == "failed"
    assert failed["message"] == ("registry docker.io: cannot create acme/edge_cpu:1.2.0: ERROR:"
                                 " failed to push acme/edge_cpu:1.2.0: unexpected status: 401"
                                 " Unauthorized")
    assert {t["state"] for t in tags.values()} == {"created"}
    error = one_line(done)
    assert "1 of 14 tag(s) failed and are not in place: acme/edge_cpu:1.2.0;" in error
    assert "created or moved: acme/edge_cpu:py3.13.9-th2.9.1.cpu-tr4.57.1, " in error
    assert "acme/edge_cpu:1.2.0" not in registry.tags()
    # the retry does only what is missing
    monkeypatch.delenv("FAKE_DOCKER_CREATE_FAIL")
    count = len(imagetools(fake_docker, "create"))
    assert release(capsys, project, "--target", "edge_cpu-*").code == 0
    assert imagetools(fake_docker, "create")[count:] == [
        create_argv("edge_cpu-py313", "acme/edge_cpu:1.2.0")]


def test_an_unreachable_registry_is_a_failure_naming_it(
    project: Path, fake_docker: FakeDocker, registry: FakeRegistry, capsys: Capsys,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAKE_DOCKER_REGISTRY_DOWN", "1")
    done = release(capsys, project, "--target", "edge_gpu-py313", "--format", "json")
    assert done.code == 1
    assert imagetools(fake_docker, "create") == []  # a tag that cannot be read is not written
    messages = {t["message"] for t in json.loads(done.out)["tags"]}
    assert messages == {f"registry docker.io: cannot read {tag}: ERROR: failed to do request:"
                        ' Head "https://127.0.0.1:5000/v2/": dial tcp 127.0.0.1:5000: connect:'
                        " connection refused" for tag in to_create("edge_gpu-py313")}
    assert "4 of 4 tag(s) failed" in one_line(done)


def test_json_summary_schema(
    project: Path, fake_docker: FakeDocker, registry: FakeRegistry, capsys: Capsys
) -> None:
    registry.put("acme/edge_gpu:latest", digest("last release"))
    done = release(capsys, project, "--target", "gpu", "--format", "json")
    assert done.code == 0, done.err
    doc: dict[str, Any] = json.loads(done.out)
    assert set(doc) == {"schema_version", "ok", "dry_run", "refused", "tags"}
    assert doc["schema_version"] == 1 and doc["ok"] is True and doc["refused"] == []
    latest = next(t for t in doc["tags"] if t["tag"] == "acme/edge_gpu:latest")
    assert latest == {
        "target": "edge_gpu-py313", "tag": "acme/edge_gpu:latest", "kind": "release",
        "source": f"acme/edge_gpu-staging@{digest('edge_gpu-py313')}",
        "sources": [f"acme/edge_gpu-staging@{digest('edge_gpu-py313')}"],
        "digest": digest("edge_gpu-py313"), "state": "moved",
        "previous": digest("last release"), "message": None,
        "command": f"{fake_docker.path} buildx imagetools create --prefer-index=false --tag acme/edge_gpu:latest"
                   f" acme/edge_gpu-staging@{digest('edge_gpu-py313')}",
    }
    write_results(project / ".bakery" / "results.json",
                  [entry(t, verify=None) if t == "edge_gpu-py312" else entry(t) for t in IDS])
    refused = json.loads(release(capsys, project, "--format", "json").out)
    assert refused["ok"] is False and refused["tags"] == []
    assert refused["refused"] == [{"target": "edge_gpu-py312",
                                   "reason": "not verified: run `bakery verify`"}]


@pytest.mark.parametrize(("env", "message"), [
    ({"FAKE_DOCKER_NO_BUILDX": "1"}, "docker buildx is not installed (`docker buildx version`:"
     " docker: 'buildx' is not a docker command.); install the buildx plugin"),
    ({"FAKE_DOCKER_NO_BUILDX": "2"}, "docker buildx is not installed"),
    ({"BAKERY_DOCKER": "/nonexistent/docker"},
     "BAKERY_DOCKER: '/nonexistent/docker' does not exist"),
    ({"BAKERY_DOCKER": "'unclosed"}, "BAKERY_DOCKER: \"'unclosed\": No closing quotation"),
])
def test_missing_tools_exit_2_with_one_line(
    project: Path, fake_docker: FakeDocker, registry: FakeRegistry, capsys: Capsys,
    env: dict[str, str], message: str,
) -> None:
    for name, value in env.items():
        fake_docker.monkeypatch.setenv(name, value)
    done = release(capsys, project, "--dry-run")
    assert done.code == 2
    assert message in one_line(done)
    assert "Traceback" not in done.err
    assert imagetools(fake_docker, "create") == []


def test_no_results_file_is_a_clear_error(
    project: Path, fake_docker: FakeDocker, capsys: Capsys
) -> None:
    (project / ".bakery" / "results.json").unlink()
    done = release(capsys, project)
    assert done.code == 2 and "no build results; run `bakery bake` first" in one_line(done)
    other = project / "elsewhere.json"
    write_results(other, [entry(t) for t in IDS])
    assert release(capsys, project, "--results", str(other), "--dry-run").code == 0


def test_an_unknown_target_is_a_usage_error(project: Path, capsys: Capsys) -> None:
    done = release(capsys, project, "--target", "edge_cpu-py314")
    assert done.code == 2 and "edge_cpu-py314" in one_line(done)


def test_several_results_files_release_in_one_run_with_a_markdown_summary(
    project: Path, fake_docker: FakeDocker, registry: FakeRegistry, capsys: Capsys
) -> None:
    """The CI promote job: one results file per build job, one release, a job summary."""
    files = []
    for n, group in enumerate((IDS[:3], IDS[3:])):
        path = project / f"results-{n}" / "results.json"
        write_results(path, [entry(t) for t in group])
        files += ["--results", str(path)]
    done = release(capsys, project, *files, "--format", "markdown")
    assert done.code == 0, done.err
    assert imagetools(fake_docker, "create") == [create_argv(t, tag) for t in IDS
                                                 for tag in to_create(t)]
    rows = [line for line in done.out.splitlines() if line.startswith("| `")]
    assert len(rows) == sum(len(to_create(t)) for t in IDS)
    assert all(row.endswith("| created |") for row in rows)
    assert done.out.startswith("### bakery: promotion of refs/tags/v1.2.0\n")


def test_branch_names_only_create_the_release_rule_tags(
    project: Path, fake_docker: FakeDocker, registry: FakeRegistry, capsys: Capsys
) -> None:
    done = release(capsys, project, "--names", "branch", "--format", "json")
    assert done.code == 0, done.err
    kinds = {tag["kind"] for tag in json.loads(done.out)["tags"]}
    assert kinds == {"release"}
    assert not any(t.startswith("acme/edge:") for t in registry.tags())  # legacy untouched


def test_a_target_without_a_complete_lock_is_never_released(
    project: Path, fake_docker: FakeDocker, capsys: Capsys
) -> None:
    manifest = project / "locks" / "manifest.json"
    doc = json.loads(manifest.read_text())
    del doc["targets"]["edge_gpu-py313"]
    manifest.write_text(json.dumps(doc))
    result = release(capsys, project)
    assert result.code == 1
    assert result.err.count("\n") == 1
    assert ("release publishes only fully locked targets; 2 lock(s) missing: edge_gpu-py313: no"
            " package lock (run `bakery lock --target edge_gpu-py313`); edge_gpu-py313-dind: no"
            " package lock (run `bakery lock --target edge_gpu-py313`)") in result.err
    assert imagetools(fake_docker, "create") == []


def _git(repo: Path, *args: str) -> str:
    import subprocess

    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.mark.usefixtures("allow_subprocess")
def test_ref_without_sha_takes_the_commit_from_git(
    project: Path, fake_docker: FakeDocker, registry: FakeRegistry, capsys: Capsys
) -> None:
    _git(project, "init", "-q", "-b", "main")
    _git(project, "-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-q",
         "--allow-empty", "-m", "one")
    _git(project, "-c", "user.email=t@example.invalid", "-c", "user.name=t", "tag", "-a",
         "v1.2.0", "-m", "v1.2.0")  # annotated: its commit is taken, not the tag object
    commit = _git(project, "rev-parse", "HEAD")
    # the candidates were built from that commit (their tags carry it)
    results = project / ".bakery" / "results.json"
    results.write_text(results.read_text().replace("-0123456", f"-{commit[:7]}"))
    done = run_cli(capsys, "release", "--matrix", str(project / "matrix.toml"),
                   "--ref", "refs/tags/v1.2.0", "--dry-run", "--format", "json")
    assert done.code == 0, done.err
    tags = {op["tag"] for op in json.loads(done.out)["tags"]}
    assert f"acme/edge_cpu:sha-{commit[:7]}" in tags
    assert "acme/edge_cpu:1.2.0" in tags


@pytest.mark.usefixtures("allow_subprocess")
def test_ref_without_sha_outside_git_is_refused_not_dropped(
    project: Path, fake_docker: FakeDocker, registry: FakeRegistry, capsys: Capsys
) -> None:
    done = run_cli(capsys, "release", "--matrix", str(project / "matrix.toml"),
                   "--ref", "refs/tags/v1.2.0")
    assert done.code == 2
    assert one_line(done) == (
        f"bakery: error: --ref refs/tags/v1.2.0 without --sha: the release's sha names need"
        f" the commit, and git has no refs/tags/v1.2.0 in {project.resolve()}; pass --sha")
    assert imagetools(fake_docker, "create") == []
