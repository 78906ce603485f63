"""What each workflow event builds, pushes and promotes: the decisions the jobs read."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bakery.ci.ancestry import require_on_branch
from bakery.ci.events import SEMVER, decide
from bakery.errors import ConfigError
from tests.support.cli import run_cli
from tests.support.locked import locked_project


@pytest.mark.parametrize(
    ("event", "ref", "build", "plan_target", "push", "promote", "names", "prerelease"),
    [
        ("pull_request", "refs/pull/7/merge", True, "default", False, False, None, False),
        ("push", "refs/heads/main", True, "all", True, True, "branch", False),
        ("push", "refs/tags/v1.3.0-rc.1", True, "all", True, True, "all", True),
        ("push", "refs/tags/v1.3.0", True, "all", True, True, "all", False),
        # the weekly refresh builds, pushes and promotes edge only when its refresh changed
        # something (the workflow's jobs read `refresh` for that); `build` is False
        ("schedule", "refs/heads/main", False, "all", True, True, "edge", False),
        ("workflow_dispatch", "refs/heads/main", False, "all", True, True, "edge", False),
    ],
)
def test_each_event_gets_its_jobs_and_names(
    event: str, ref: str, build: bool, plan_target: str, push: bool, promote: bool,
    names: str | None, prerelease: bool,
) -> None:
    decision = decide(event, ref)
    assert (decision.build, decision.plan_target, decision.push, decision.promote,
            decision.names, decision.prerelease) == (
        build, plan_target, push, promote, names, prerelease)
    assert decision.refresh == (event in ("schedule", "workflow_dispatch"))
    # only release tags need their commit checked against main
    assert decision.needs_ancestry_check == ref.startswith("refs/tags/")


@pytest.mark.parametrize(
    ("event", "ref", "message"),
    [
        ("push", "refs/tags/vnext", "'vnext' is not a semver release tag"),
        ("push", "refs/tags/v1.3", "'v1.3' is not a semver release tag"),
        ("push", "refs/tags/release-2026", "not a semver release tag"),
        ("push", "refs/heads/feature", "pushes build only refs/heads/main and semver tags"),
        ("schedule", "refs/heads/feature", "refresh the locks of refs/heads/main only"),
        ("release", "refs/tags/v1.0.0", "not an event this workflow handles"),
    ],
)
def test_runs_that_must_not_publish_are_refused(event: str, ref: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        decide(event, ref)


def test_another_default_branch_is_honoured() -> None:
    assert decide("push", "refs/heads/trunk", default_branch="trunk").names == "branch"
    with pytest.raises(ConfigError):
        decide("push", "refs/heads/main", default_branch="trunk")


@given(st.integers(0, 999), st.integers(0, 999), st.integers(0, 999),
       st.sampled_from(["", "-rc.1", "-beta.67", "-alpha", "+build.5"]))
def test_semver_tags_are_accepted_with_or_without_v(
    major: int, minor: int, patch: int, tail: str
) -> None:
    for prefix in ("", "v"):
        tag = f"{prefix}{major}.{minor}.{patch}{tail}"
        decision = decide("push", f"refs/tags/{tag}")
        assert decision.prerelease == tail.startswith("-")


@pytest.mark.parametrize("tag", ["v01.2.3", "1.2", "v1.2.3.4", "v1.2.3-", "latest", "V1.2.3"])
def test_almost_semver_is_not_semver(tag: str) -> None:
    assert SEMVER.match(tag) is None


def test_github_outputs_are_key_value_lines(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, allow_subprocess: None
) -> None:
    matrix = locked_project(tmp_path / "repo")
    result = run_cli(capsys, "ci", "--event", "push", "--ref", "refs/heads/main",
                     "--format", "github", "--matrix", str(matrix))
    assert result.code == 0, result.err
    lines = dict(line.split("=", 1) for line in result.out.splitlines())
    assert lines["plan-target"] == "all"
    assert lines["push"] == "true"
    assert lines["names"] == "branch"


def test_cli_refusal_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "ci", "--event", "push", "--ref", "refs/tags/vnext")
    assert result.code == 2
    assert result.out == ""
    assert result.err.count("\n") == 1
    assert "bakery: error: GITHUB_REF: tag 'vnext'" in result.err


def test_cli_reads_the_github_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_EVENT_NAME", "pull_request")
    monkeypatch.setenv("GITHUB_REF", "refs/pull/12/merge")
    result = run_cli(capsys, "ci", "--format", "json")
    assert result.code == 0
    doc = json.loads(result.out)
    # real booleans and a schema version, not GitHub's strings
    assert doc["schema_version"] == 1
    assert (doc["push"], doc["build"], doc["plan-target"]) == (False, True, "default")


@pytest.mark.parametrize("ref", ["refs/heads/main", "refs/tags/v1.3.0"])
def test_a_publishing_run_refuses_an_unlocked_target_naming_it_and_the_fix(
    capsys: pytest.CaptureFixture[str], repo: Path, ref: str
) -> None:
    matrix = locked_project(repo / "locked")
    manifest = matrix.parent / "locks" / "manifest.json"
    doc = json.loads(manifest.read_text())
    del doc["targets"]["base_edge_node_amd64_gpu-py313"]
    doc["base"] = None
    manifest.write_text(json.dumps(doc))
    result = run_cli(capsys, "ci", "--event", "push", "--ref", ref,
                     "--sha", _git(repo, "rev-parse", "main"), "--branch-ref", "refs/heads/main",
                     "--repo", str(repo), "--matrix", str(matrix))
    assert result.code == 1
    assert result.out == ""
    assert result.err.count("\n") == 1
    assert ("base_edge_node_amd64_gpu-py313: no package lock (run `bakery lock --target"
            " base_edge_node_amd64_gpu-py313`)") in result.err
    assert "base_edge_node_amd64_gpu-py313-dind: no package lock" in result.err
    assert "is not pinned by digest (run `bakery lock --base-only`)" in result.err


def test_a_pull_request_builds_unlocked_targets_and_says_so_in_one_line(
    capsys: pytest.CaptureFixture[str]
) -> None:
    # the shipped matrix: the amd64 targets have no lock yet
    result = run_cli(capsys, "ci", "--event", "pull_request", "--ref", "refs/pull/1/merge",
                     "--format", "github")
    assert result.code == 0, result.err
    assert "push=false" in result.out
    assert result.err.count("\n") == 1
    assert "unlocked" in result.err and "base_edge_node_amd64_gpu-py313" in result.err


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, allow_subprocess: None) -> Path:
    """main with two commits, and a side branch with a commit main never got."""
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "config", "user.email", "ci@example.invalid")
    _git(tmp_path, "config", "user.name", "ci")
    for name in ("one", "two"):
        (tmp_path / name).write_text(name)
        _git(tmp_path, "add", name)
        _git(tmp_path, "commit", "-q", "-m", name)
    _git(tmp_path, "checkout", "-q", "-b", "side")
    (tmp_path / "side").write_text("side")
    _git(tmp_path, "add", "side")
    _git(tmp_path, "commit", "-q", "-m", "side")
    _git(tmp_path, "checkout", "-q", "main")
    return tmp_path


def test_a_tag_on_main_passes_and_a_tag_off_main_is_refused(repo: Path) -> None:
    on_main = _git(repo, "rev-parse", "main~1")
    off_main = _git(repo, "rev-parse", "side")
    require_on_branch(on_main, "refs/heads/main", repo_dir=repo)
    with pytest.raises(ConfigError, match="is not on refs/heads/main"):
        require_on_branch(off_main, "refs/heads/main", repo_dir=repo)


def test_a_checkout_without_the_branch_says_what_it_needs(repo: Path) -> None:
    sha = _git(repo, "rev-parse", "main")
    with pytest.raises(ConfigError, match="fetch-depth: 0"):
        require_on_branch(sha, "refs/remotes/origin/main", repo_dir=repo)


def test_release_tag_off_main_is_refused_by_the_command(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    off_main = _git(repo, "rev-parse", "side")
    result = run_cli(capsys, "ci", "--event", "push", "--ref", "refs/tags/v1.3.0",
                     "--sha", off_main, "--branch-ref", "refs/heads/main", "--repo", str(repo))
    assert result.code == 2
    assert f"commit {off_main} is not on refs/heads/main" in result.err
    on_main = _git(repo, "rev-parse", "main")
    matrix = locked_project(repo / "locked")
    result = run_cli(capsys, "ci", "--event", "push", "--ref", "refs/tags/v1.3.0",
                     "--sha", on_main, "--branch-ref", "refs/heads/main", "--repo", str(repo),
                     "--format", "github", "--matrix", str(matrix))
    assert result.code == 0, result.err
    assert "names=all" in result.out
