"""Release tags against docker/metadata-action's own test cases (__tests__/meta.test.ts, the
cases whose rules bakery supports: semver, ref, edge, raw, sha, priorities and flavors), and
the places where bakery deliberately differs (docs/matrix.md, "Targets, groups and tags")."""

from __future__ import annotations

from typing import Any

import pytest

from bakery.matrix.models import ReleaseConfig
from bakery.plan.release import latest_moves, release_tags
from bakery.tags.git import GitContext

# (metadata-action case, GITHUB_REF, GITHUB_SHA, rules, flavor, tags it expects)
CASES: list[tuple[str, str | None, str, list[dict[str, Any]], dict[str, str], list[str]]] = [
    ('push02', 'refs/heads/master', '266574110acf203503badf966df2ea24b5d732d7',
     [{'type': 'edge', 'branch': 'master'}],
     {}, ['edge']),
    ('push07', 'refs/heads/dev', '860c1904a1ce19322e91ac35af1ab07466440c37',
     [{'type': 'ref', 'event': 'branch'}, {'type': 'sha'}],
     {}, ['dev', 'sha-860c190']),
    ('push09', 'refs/heads/dev', '860c1904a1ce19322e91ac35af1ab07466440c37',
     [{'type': 'edge', 'branch': 'dev'}, {'type': 'sha'}],
     {}, ['edge', 'sha-860c190']),
    ('push10', 'refs/heads/master', '266574110acf203503badf966df2ea24b5d732d7',
     [{'type': 'edge', 'branch': 'dev'}, {'type': 'sha'}],
     {}, ['sha-2665741']),
    ('push11', 'refs/heads/my/feature#1245', '983315b5e8d46e46fc4c49869e85e7ee5fb289ba',
     [{'type': 'edge', 'branch': 'master'}, {'type': 'sha'}],
     {}, ['sha-983315b']),
    ('push13', 'refs/heads/master', '266574110acf203503badf966df2ea24b5d732d7',
     [{'type': 'ref', 'priority': 2000, 'event': 'branch'}, {'type': 'edge', 'branch': 'master'}],
     {}, ['master', 'edge']),
    ('push18', 'refs/heads/dev', '860c1904a1ce19322e91ac35af1ab07466440c37',
     [{'type': 'ref', 'event': 'branch'}, {'type': 'sha', 'format': 'long'}],
     {}, ['dev', 'sha-860c1904a1ce19322e91ac35af1ab07466440c37']),
    ('push20', 'refs/heads/dev', '860c1904a1ce19322e91ac35af1ab07466440c37',
     [{'type': 'edge', 'branch': 'master'}, {'type': 'ref', 'event': 'branch', 'enable': False}, {'type': 'sha', 'format': 'long'}],
     {}, ['sha-860c1904a1ce19322e91ac35af1ab07466440c37']),
    ('tag01', 'refs/tags/release1', '860c1904a1ce19322e91ac35af1ab07466440c37',
     [{'type': 'ref', 'event': 'branch'}, {'type': 'ref', 'event': 'tag'}, {'type': 'ref', 'event': 'pr'}],
     {}, ['release1', 'latest']),
    ('tag02', 'refs/tags/20200110-RC2', '860c1904a1ce19322e91ac35af1ab07466440c37',
     [{'type': 'ref', 'event': 'branch'}, {'type': 'ref', 'event': 'tag'}, {'type': 'ref', 'event': 'pr'}],
     {}, ['20200110-RC2', 'latest']),
    ('tag11', 'refs/tags/v1.1.1', '860c1904a1ce19322e91ac35af1ab07466440c37',
     [{'type': 'semver', 'pattern': '{{version}}'}, {'type': 'semver', 'pattern': '{{major}}.{{minor}}'}, {'type': 'semver', 'pattern': '{{major}}'}],
     {}, ['1.1.1', '1.1', '1', 'latest']),
    ('tag12', 'refs/tags/v1.1.1', '860c1904a1ce19322e91ac35af1ab07466440c37',
     [{'type': 'semver', 'pattern': '{{version}}'}, {'type': 'semver', 'pattern': '{{major}}.{{minor}}.{{patch}}'}],
     {}, ['1.1.1', 'latest']),
    ('tag13', 'refs/tags/v2.0.8-beta.67', '860c1904a1ce19322e91ac35af1ab07466440c37',
     [{'type': 'semver', 'pattern': '{{major}}.{{minor}}'}, {'type': 'semver', 'pattern': '{{major}}'}],
     {}, ['2.0.8-beta.67']),
    ('tag14', 'refs/tags/sometag', '860c1904a1ce19322e91ac35af1ab07466440c37',
     [{'type': 'ref', 'event': 'tag'}, {'type': 'semver', 'pattern': '{{version}}'}, {'type': 'semver', 'pattern': '{{major}}.{{minor}}'}, {'type': 'semver', 'pattern': '{{major}}'}],
     {'latest': 'false'}, ['sometag']),
    ('tag16', 'refs/tags/v1.1.1', '860c1904a1ce19322e91ac35af1ab07466440c37',
     [{'type': 'raw', 'priority': 2000, 'value': 'foo'}, {'type': 'ref', 'event': 'tag'}, {'type': 'edge', 'branch': 'master'}],
     {}, ['foo', 'v1.1.1']),
    ('tag31', 'refs/tags/v2.0.8-beta.67', '860c1904a1ce19322e91ac35af1ab07466440c37',
     [{'type': 'semver', 'pattern': '{{raw}}'}],
     {}, ['v2.0.8-beta.67']),
    ('latest05', 'refs/tags/v1.1.1', '860c1904a1ce19322e91ac35af1ab07466440c37',
     [{'type': 'ref', 'event': 'branch'}, {'type': 'ref', 'event': 'tag'}, {'type': 'ref', 'event': 'pr'}],
     {}, ['v1.1.1', 'latest']),
    ('latest07', 'refs/tags/v1.1.1', '860c1904a1ce19322e91ac35af1ab07466440c37',
     [{'type': 'ref', 'event': 'tag'}],
     {'latest': 'false'}, ['v1.1.1']),
    ('pr01', 'refs/pull/15/merge', 'a9c8c5828b91be19d9728548b24759e352367ef1',
     [{'type': 'ref', 'event': 'branch'}, {'type': 'ref', 'event': 'tag'}, {'type': 'ref', 'event': 'pr'}],
     {}, ['pr-15']),
    ('pr05', 'refs/pull/15/merge', 'a9c8c5828b91be19d9728548b24759e352367ef1',
     [{'type': 'ref', 'event': 'pr'}],
     {'prefix': 'glo-', 'suffix': '-bal'}, ['pr-15-bal']),
    ('pr06', 'refs/pull/15/merge', 'a9c8c5828b91be19d9728548b24759e352367ef1',
     [{'type': 'ref', 'event': 'pr', 'prefix': ''}],
     {'prefix': 'glo-', 'suffix': '-bal'}, ['15-bal']),
    ('release01', 'refs/tags/v1.1.1', '860c1904a1ce19322e91ac35af1ab07466440c37',
     [{'type': 'ref', 'event': 'branch'}, {'type': 'ref', 'event': 'tag'}, {'type': 'ref', 'event': 'pr'}],
     {}, ['v1.1.1', 'latest']),
    ('raw01', 'refs/heads/dev', '860c1904a1ce19322e91ac35af1ab07466440c37',
     [{'type': 'ref', 'event': 'branch'}, {'type': 'raw', 'value': 'my'}, {'type': 'raw', 'value': 'custom'}, {'type': 'raw', 'value': 'tags'}],
     {}, ['dev', 'my', 'custom', 'tags']),
    ('raw03', 'refs/tags/release1', '860c1904a1ce19322e91ac35af1ab07466440c37',
     [{'type': 'ref', 'event': 'tag'}, {'type': 'raw', 'value': 'my'}, {'type': 'raw', 'value': 'custom'}, {'type': 'raw', 'value': 'tags'}],
     {}, ['release1', 'my', 'custom', 'tags', 'latest']),
    ('raw05', 'refs/tags/v1.1.1', '860c1904a1ce19322e91ac35af1ab07466440c37',
     [{'type': 'semver', 'pattern': '{{version}}'}, {'type': 'semver', 'pattern': '{{major}}.{{minor}}'}, {'type': 'semver', 'pattern': '{{major}}'}, {'type': 'raw', 'value': 'my'}, {'type': 'raw', 'value': 'custom'}, {'type': 'raw', 'value': 'tags'}],
     {}, ['1.1.1', '1.1', '1', 'my', 'custom', 'tags', 'latest']),
    ('raw07', 'refs/heads/dev', '860c1904a1ce19322e91ac35af1ab07466440c37',
     [{'type': 'ref', 'priority': 90, 'event': 'branch'}, {'type': 'raw', 'value': 'my'}, {'type': 'raw', 'value': 'custom'}, {'type': 'raw', 'value': 'tags'}],
     {'latest': 'true'}, ['my', 'custom', 'tags', 'dev', 'latest']),
    ('raw10', 'refs/heads/dev', '860c1904a1ce19322e91ac35af1ab07466440c37',
     [{'type': 'raw', 'value': 'foo'}, {'type': 'raw', 'value': 'bar', 'enable': False}, {'type': 'raw', 'value': 'baz', 'enable': True}],
     {'latest': 'false'}, ['foo', 'baz']),
]


def tags(rules: list[dict[str, Any]], ref: str | None, sha: str | None = None,
         **flavor: str) -> list[str]:
    config = ReleaseConfig.model_validate({"rules": rules, **flavor})
    return release_tags(config, GitContext(ref=ref, sha=sha, source="cli"))


@pytest.mark.parametrize(("case", "ref", "sha", "rules", "flavor", "expected"), CASES,
                         ids=[c[0] for c in CASES])
def test_agrees_with_metadata_action(case: str, ref: str | None, sha: str,
                                     rules: list[dict[str, Any]], flavor: dict[str, str],
                                     expected: list[str]) -> None:
    assert tags(rules, ref, sha, **flavor) == expected


SEMVER_TAG = [{"type": "semver", "pattern": "{{version}}"}, {"type": "ref", "event": "tag"}]


def test_a_pre_release_never_gets_latest_even_with_a_tag_event_rule() -> None:
    # semver (900) produced the first tag and says "pre-release": it decides, ref,event=tag
    # (600, which alone would say latest) does not
    assert tags(SEMVER_TAG, "refs/tags/v2.0.0-rc.1") == ["2.0.0-rc.1", "v2.0.0-rc.1"]
    assert tags(SEMVER_TAG, "refs/tags/v2.0.0") == ["2.0.0", "v2.0.0", "latest"]


def test_a_pre_release_with_only_major_minor_rules_yields_its_version() -> None:
    rules = [{"type": "semver", "pattern": "{{major}}.{{minor}}"},
             {"type": "semver", "pattern": "{{major}}"}]
    assert tags(rules, "refs/tags/v2.0.8-beta.67") == ["2.0.8-beta.67"]


def test_an_explicitly_empty_rule_prefix_replaces_the_flavor_prefix() -> None:
    rules = [{"type": "ref", "event": "pr", "prefix": ""}]
    assert tags(rules, "refs/pull/15/merge", prefix="glo-", suffix="-bal") == ["15-bal"]
    rules = [{"type": "semver", "pattern": "{{version}}", "suffix": ""}]
    assert tags(rules, "refs/tags/v1.0.0", prefix="glo-", suffix="-bal") == ["glo-1.0.0",
                                                                             "latest"]


def test_latest_true_with_no_tag_at_all_yields_nothing() -> None:
    rules = [{"type": "semver", "pattern": "{{version}}"}]
    assert tags(rules, "refs/heads/main", latest="true") == []
    assert tags(rules, "refs/tags/v1.0.0-rc.1", latest="true") == ["1.0.0-rc.1", "latest"]


@pytest.mark.parametrize(("ref", "moves"), [
    ("refs/tags/v1.3.0", True), ("refs/tags/v1.3.0-rc.1", False), ("refs/tags/nightly", False),
    ("refs/heads/main", False), ("refs/pull/7/merge", False),
])
def test_floating_names_move_exactly_when_latest_does(ref: str, moves: bool) -> None:
    config = ReleaseConfig.model_validate({"rules": [
        {"type": "semver", "pattern": "{{version}}"}, {"type": "ref", "event": "branch"},
        {"type": "sha"}, {"type": "edge", "branch": "main"}]})
    git = GitContext(ref=ref, sha="0" * 40, source="cli")
    assert latest_moves(config, git) is moves
    assert ("latest" in release_tags(config, git)) is moves


def test_a_branch_docker_would_refuse_as_a_tag_is_made_valid_or_named() -> None:
    rules = [{"type": "ref", "event": "branch"}]
    assert tags(rules, "refs/heads/-wip") == ["wip"]  # metadata-action: "-wip", refused later
    long = tags(rules, "refs/heads/" + "b" * 200, prefix="x-", suffix="-y")
    assert long == ["x-" + "b" * 124 + "-y"] and len(long[0]) == 128
    config = ReleaseConfig.model_validate({"rules": rules})
    with_variant = release_tags(config, GitContext(ref="refs/heads/" + "b" * 200, sha=None,
                                                   source="cli"), variant_suffix="-py312-d")
    assert len(with_variant[0]) == 128 and with_variant[0].endswith("-py312-d")


def test_the_shipped_plan_has_no_latest_for_a_release_candidate(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pathlib import Path

    from tests.support.cli import run_cli

    matrix = str(Path(__file__).resolve().parents[1] / "matrix.toml")
    monkeypatch.setenv("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")
    monkeypatch.setenv("GITHUB_REF", "refs/tags/v1.3.0-rc.1")
    candidate = run_cli(capsys, "plan", "--matrix", matrix, "--format", "json")
    assert candidate.code == 0 and "latest" not in candidate.out
    assert '"ratio1/base_edge_node_amd64_gpu:1.3.0-rc.1"' in candidate.out
    monkeypatch.setenv("GITHUB_REF", "refs/tags/v1.3.0")
    final = run_cli(capsys, "plan", "--matrix", matrix, "--format", "json")
    import json

    gpu = next(t for t in json.loads(final.out)["targets"]
               if t["id"] == "base_edge_node_amd64_gpu-py313")
    dind = next(t for t in json.loads(final.out)["targets"]
                if t["id"] == "base_edge_node_amd64_gpu-py313-dind")
    assert "ratio1/base_edge_node_amd64:latest" in gpu["tags"]["legacy"]
    assert "ratio1/base_edge_node_amd64_gpu:latest" in gpu["tags"]["release"]
    assert "ratio1/base_edge_node_dind:latest" in dind["tags"]["compatibility"]
    assert "ratio1/base_edge_node_amd64_gpu:latest-d" in dind["tags"]["release"]
