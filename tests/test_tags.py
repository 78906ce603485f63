"""Tags: normalization (T1), validation (T4) and metadata-action style release rules (T3)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bakery.errors import ConfigError
from bakery.matrix.models import ReleaseConfig
from bakery.plan.release import release_tags, sanitize
from bakery.tags.git import GitContext, resolve_git_context
from bakery.tags.refs import normalize_version, tag_problem

SHA = "90dd6032fac8bda1b6c4436a2e65de27961ed071"
TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def rules(*items: dict[str, object], **flavor: object) -> ReleaseConfig:
    return ReleaseConfig.model_validate({"rules": list(items), **flavor})


def ctx(ref: str | None, sha: str | None = SHA) -> GitContext:
    return GitContext(ref=ref, sha=sha, source="cli")


# --- T1: '+' normalization ----------------------------------------------------------------

@pytest.mark.parametrize(("version", "tag"), [("2.9.1+cu128", "2.9.1.cu128"),
                                              ("2.9.1+cpu", "2.9.1.cpu"), ("2.9.1", "2.9.1")])
def test_plus_becomes_dot(version: str, tag: str) -> None:
    assert normalize_version(version) == tag


@given(st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,3}){0,3}(\+[a-z0-9]{1,8}(\.[a-z0-9]{1,4})?)?",
                     fullmatch=True))
def test_normalized_versions_are_valid_tags(version: str) -> None:
    tag = normalize_version(version)
    assert "+" not in tag
    assert tag_problem(tag) is None


# --- T4: validation, property-based ------------------------------------------------------

@given(st.from_regex(TAG_RE, fullmatch=True))
def test_every_valid_tag_is_accepted(tag: str) -> None:
    assert tag_problem(tag) is None


@given(st.text(min_size=1, max_size=140))
def test_tag_validation_agrees_with_the_grammar(tag: str) -> None:
    assert (tag_problem(tag) is None) == bool(TAG_RE.fullmatch(tag))


@pytest.mark.parametrize("tag", ["", ".x", "-x", "a+b", "a" * 129, "a b"])
def test_invalid_tags(tag: str) -> None:
    assert tag_problem(tag) is not None


# --- T3: release rules ---------------------------------------------------------------------

SEMVER = ({"type": "semver", "pattern": "{{version}}"},
          {"type": "semver", "pattern": "{{major}}.{{minor}}"})


def test_semver_release() -> None:
    assert release_tags(rules(*SEMVER), ctx("refs/tags/v1.2.3")) == ["1.2.3", "1.2", "latest"]


def test_semver_prerelease_only_extends_version_and_gets_no_latest() -> None:
    assert release_tags(rules(*SEMVER), ctx("refs/tags/v2.0.8-beta.67")) == ["2.0.8-beta.67"]


def test_semver_build_metadata_is_dropped() -> None:
    assert release_tags(rules(*SEMVER), ctx("refs/tags/v1.2.3+meta")) == ["1.2.3", "1.2", "latest"]


def test_semver_ignores_non_semver_tags_and_branches() -> None:
    assert release_tags(rules(*SEMVER), ctx("refs/tags/nightly")) == []
    assert release_tags(rules(*SEMVER), ctx("refs/heads/main")) == []


def test_semver_major_zero_follows_metadata_action() -> None:
    config = rules({"type": "semver", "pattern": "{{major}}"},
                   {"type": "semver", "pattern": "{{major}}.{{minor}}.{{patch}}"})
    assert release_tags(config, ctx("refs/tags/v0.1.2")) == ["0", "0.1.2", "latest"]


def test_semver_value_override_and_raw() -> None:
    config = rules({"type": "semver", "pattern": "{{raw}}", "value": "v3.1.0"})
    assert release_tags(config, ctx("refs/heads/main")) == ["v3.1.0", "latest"]


def test_sha_short_long_and_prefix() -> None:
    assert release_tags(rules({"type": "sha"}), ctx(None)) == ["sha-90dd603"]
    assert release_tags(rules({"type": "sha", "format": "long"}), ctx(None)) == [f"sha-{SHA}"]
    assert release_tags(rules({"type": "sha", "prefix": ""}), ctx(None)) == ["90dd603"]
    assert release_tags(rules({"type": "sha"}), ctx("refs/heads/main", sha=None)) == []


@pytest.mark.parametrize(("ref", "event", "expected"), [
    ("refs/heads/main", "branch", ["main"]),
    ("refs/heads/releases/v1", "branch", ["releases-v1"]),
    ("refs/pull/2/merge", "pr", ["pr-2"]),
    ("refs/tags/v1.2.3", "tag", ["v1.2.3", "latest"]),
    ("refs/tags/v1.2.3", "branch", []),
    ("refs/heads/main", "pr", []),
])
def test_ref_rules(ref: str, event: str, expected: list[str]) -> None:
    assert release_tags(rules({"type": "ref", "event": event}), ctx(ref)) == expected


def test_edge_only_on_its_branch() -> None:
    config = rules({"type": "edge", "branch": "main"})
    assert release_tags(config, ctx("refs/heads/main")) == ["edge"]
    assert release_tags(config, ctx("refs/heads/dev")) == []
    assert release_tags(config, ctx("refs/tags/v1.0.0")) == []


def test_raw_and_enable() -> None:
    config = rules({"type": "raw", "value": "stable"},
                   {"type": "raw", "value": "never", "enable": False})
    assert release_tags(config, ctx(None)) == ["stable"]


@pytest.mark.parametrize(("latest", "ref", "has_latest"), [
    ("auto", "refs/tags/v1.0.0", True), ("auto", "refs/heads/main", False),
    # latest=true adds latest only to a release that has tags (metadata-action: no tags at all)
    ("true", "refs/heads/main", False), ("true", "refs/tags/v1.0.0-rc.1", True),
    ("false", "refs/tags/v1.0.0", False),
])
def test_latest_flavor(latest: str, ref: str, has_latest: bool) -> None:
    tags = release_tags(rules(*SEMVER, latest=latest), ctx(ref))
    assert ("latest" in tags) is has_latest


def test_prefix_suffix_flavor_and_variant_suffix() -> None:
    config = rules(*SEMVER, {"type": "sha"}, {"type": "ref", "event": "pr"}, prefix="v",
                   suffix="-ubuntu")
    assert release_tags(config, ctx("refs/tags/v1.2.3"), variant_suffix="-d") == [
        "v1.2.3-ubuntu-d", "v1.2-ubuntu-d", "sha-90dd603-ubuntu-d", "latest-d"]
    # priorities: ref (600) before sha (100), whatever the order in the matrix
    assert release_tags(config, ctx("refs/pull/7/merge")) == ["pr-7-ubuntu",
                                                              "sha-90dd603-ubuntu"]


def test_duplicates_are_dropped() -> None:
    config = rules({"type": "raw", "value": "x"}, {"type": "raw", "value": "x"})
    assert release_tags(config, ctx(None)) == ["x"]


@given(st.text(min_size=1, max_size=200))
def test_sanitizing_replaces_each_run_of_invalid_characters_with_one_dash(name: str) -> None:
    tag = sanitize(name)
    assert tag == "" or tag_problem(tag) is None
    assert len(tag) <= len(name)
    if TAG_RE.fullmatch(name):
        assert tag == name  # a valid tag is never rewritten


# --- git context precedence ------------------------------------------------------------------

def test_cli_beats_env() -> None:
    git = resolve_git_context(ref="refs/heads/x", sha=None,
                              env={"GITHUB_REF": "refs/heads/main", "GITHUB_SHA": SHA},
                              repo_dir=None)
    assert (git.ref, git.sha, git.source) == ("refs/heads/x", None, "cli")


def test_env_beats_checkout() -> None:
    git = resolve_git_context(ref=None, sha=None,
                              env={"GITHUB_REF": "refs/pull/9/merge", "GITHUB_SHA": SHA},
                              repo_dir=None)
    assert (git.kind, git.name, git.source) == ("pr", "9", "env")


def test_bakery_sha_names_the_commit_a_workflow_builds_instead_of_github_sha() -> None:
    built = "b" * 40
    git = resolve_git_context(ref=None, sha=None, repo_dir=None, env={
        "GITHUB_REF": "refs/heads/main", "GITHUB_SHA": SHA, "BAKERY_SHA": built})
    assert (git.ref, git.sha) == ("refs/heads/main", built)
    with pytest.raises(ConfigError, match=r"^BAKERY_SHA: 'main' is not a hex commit id"):
        resolve_git_context(ref=None, sha=None, repo_dir=None,
                            env={"GITHUB_SHA": SHA, "BAKERY_SHA": "main"})


def test_bad_sha_is_rejected() -> None:
    with pytest.raises(ConfigError, match="not a hex commit id"):
        resolve_git_context(ref=None, sha="xyz", env={}, repo_dir=None)


def test_checkout_context(tmp_path: object, allow_subprocess: None) -> None:
    import subprocess
    from pathlib import Path

    repo = Path(str(tmp_path))
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin:/usr/local/bin", "HOME": str(repo)}
    for cmd in (["init", "-q", "-b", "feature/x"], ["commit", "-q", "--allow-empty", "-m", "x"]):
        subprocess.run(["git", *cmd], cwd=repo, env=env, check=True)
    git = resolve_git_context(ref=None, sha=None, env={}, repo_dir=repo)
    assert (git.ref, git.source) == ("refs/heads/feature/x", "git")
    assert git.sha is not None and len(git.sha) == 40
    subprocess.run(["git", "tag", "v2.0.0"], cwd=repo, env=env, check=True)
    assert resolve_git_context(ref=None, sha=None, env={}, repo_dir=repo).ref == "refs/tags/v2.0.0"


@pytest.mark.parametrize(("template", "floats"), [
    ("ratio1/base_edge_node_amd64:latest", True), ("acme/edge:stable", True), ("acme/edge", True),
    ("localhost:5000/acme/edge", True), ("localhost:5000/acme/edge:{machine}-{tag}", False),
    ("ratio1/base_edge_node:{machine}-{tag}", False), ("acme/edge:py{python}", False),
    ("{namespace}/edge:latest", True),
])
def test_floating_templates(template: str, floats: bool) -> None:
    from bakery.tags.templates import is_floating

    assert is_floating(template) is floats
