"""Eligibility and the operation list, pure: plan targets + bake results in."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bakery.docker.imagetools import registry_of
from bakery.errors import ConfigError
from bakery.matrix import parse_matrix
from bakery.plan import Target, expand
from bakery.release.operations import find_results, release_operations
from bakery.tags.git import GitContext
from tests.release.data import (
    IDS,
    REFUSALS,
    SHA,
    digest,
    entry,
    plan,
    refused_entry,
    repository,
    results,
    to_create,
)
from tests.support.cli import MINIMAL_MATRIX


def test_every_tag_comes_from_its_own_targets_verified_digest() -> None:
    operations, refusals = release_operations(plan().targets, results([entry(t) for t in IDS]))
    assert refusals == []
    assert [(o.target, o.tag) for o in operations] == [(t, tag) for t in IDS
                                                         for tag in to_create(t)]
    for op in operations:
        assert op.source == f"{repository(op.target)}@{digest(op.target)}"
        assert op.digest == digest(op.target)
    dind = [o for o in operations if o.tag.startswith("acme/edge_dind:")]
    assert [(o.target, o.kind) for o in dind] == [("edge_cpu-py313-dind", "compatibility")]
    kinds = {o.tag: o.kind for o in operations}
    assert kinds["acme/edge:x86_64-py3.13.9-th2.9.1.cpu-tr4.57.1"] == "legacy"
    assert kinds["acme/edge_cpu:latest-d"] == "release"


@pytest.mark.parametrize("why", list(REFUSALS))
def test_each_refusal_names_its_reason(why: str) -> None:
    others = [entry(t) for t in IDS if t != "edge_gpu-py313"]
    bad = refused_entry("edge_gpu-py313", why)
    operations, refusals = release_operations(
        plan().targets, results(others + ([bad] if bad else [])))
    assert [r.target for r in refusals] == ["edge_gpu-py313"]
    assert REFUSALS[why][1] in refusals[0].reason
    assert all(o.target != "edge_gpu-py313" for o in operations)


@pytest.mark.parametrize(("output", "reason"), [
    ("load", "not pushed (built with --load)"),
    ("cache", "not pushed (built with neither --push nor --load)"),
])
def test_an_unpushed_bake_is_refused(output: str, reason: str) -> None:
    _, refusals = release_operations(plan().targets, results([entry(t) for t in IDS], output))
    assert len(refusals) == len(IDS) and all(reason in r.reason for r in refusals)


def test_a_registry_qualified_push_still_matches_the_plan() -> None:
    pushed = entry("edge_cpu-py313", tags=["docker.io/acme/edge_cpu-staging:py3.13.9-th2.9.1.cpu-tr4.57.1-0123456"])
    _, refusals = release_operations([plan().target("edge_cpu-py313")], results([pushed]))
    assert refusals == []


@given(st.lists(st.sampled_from([None, *REFUSALS]), min_size=len(IDS), max_size=len(IDS)))
def test_operations_exactly_for_the_eligible_targets(whys: list[str | None]) -> None:
    entries = [entry(t) if why is None else refused_entry(t, why) for t, why in zip(IDS, whys, strict=True)]
    operations, refusals = release_operations(
        plan().targets, results([e for e in entries if e is not None]))
    eligible = [t for t, why in zip(IDS, whys, strict=True) if why is None]
    assert [r.target for r in refusals] == [t for t, why in zip(IDS, whys, strict=True) if why is not None]
    assert [(o.target, o.tag) for o in operations] == [(t, tag) for t in eligible
                                                         for tag in to_create(t)]
    assert all(o.source.endswith("@" + digest(o.target)) for o in operations)


@pytest.mark.parametrize(("ref", "registry"), [
    ("acme/edge:latest", "docker.io"),
    ("edge:latest", "docker.io"),
    ("localhost/acme/edge:1", "localhost"),
    ("localhost:5000/acme/edge:1", "localhost:5000"),
    ("127.0.0.1:5000/edge@sha256:00", "127.0.0.1:5000"),
    ("ghcr.io/acme/edge:1", "ghcr.io"),
])
def test_registry_of(ref: str, registry: str) -> None:
    assert registry_of(ref) == registry


BRANCH_RULES = MINIMAL_MATRIX.replace(
    'rules = [{ type = "semver", pattern = "{{version}}" }, { type = "sha" }]',
    'rules = [{ type = "semver", pattern = "{{version}}" }, { type = "ref", event = "branch" },'
    ' { type = "sha" }, { type = "edge", branch = "main" }]')


def _main_plan() -> list[Target]:
    assert BRANCH_RULES != MINIMAL_MATRIX
    return list(expand(parse_matrix(BRANCH_RULES, source="matrix.toml"),
                       git=GitContext(ref="refs/heads/main", sha=SHA, source="cli")).targets)


def test_a_branch_push_creates_only_the_release_rule_tags() -> None:
    """main: the edge, branch and sha tags; never the primary, legacy or compatibility names
    (they are a release's to move)."""
    targets = _main_plan()
    operations, refusals = release_operations(targets, results([entry(t) for t in IDS]),
                                              names="branch")
    assert refusals == []
    assert {o.kind for o in operations} == {"release"}
    assert [(o.target, o.tag) for o in operations] == [
        (t.id, tag) for t in targets for tag in t.tags.release]
    tags = {o.tag for o in operations}
    assert "acme/edge_cpu:edge" in tags and "acme/edge_cpu:main" in tags
    assert "acme/edge_cpu:sha-0123456" in tags


def test_a_scheduled_rebuild_creates_only_the_edge_tags() -> None:
    targets = _main_plan()
    operations, _ = release_operations(targets, results([entry(t) for t in IDS]), names="edge")
    assert sorted(o.tag for o in operations) == sorted(
        ["acme/edge_cpu:edge", "acme/edge_cpu:edge-d", "acme/edge_cpu:edge-py312",
         "acme/edge_gpu:edge", "acme/edge_gpu:edge-d", "acme/edge_gpu:edge-py312"])


def test_results_of_several_jobs_release_together() -> None:
    """CI: one results file per build job, one release over all of them."""
    first, second = IDS[:3], IDS[3:]
    found = find_results([results([entry(t) for t in first]),
                          results([entry(t) for t in second])], sources=["a.json", "b.json"])
    operations, refusals = release_operations(plan().targets, found)
    assert refusals == []
    assert [(o.target, o.tag) for o in operations] == [(t, tag) for t in IDS
                                                         for tag in to_create(t)]
    # each target keeps its own document's verdicts: an unpushed job refuses only its targets
    found = find_results([results([entry(t) for t in first], "load"),
                          results([entry(t) for t in second])])
    _, refusals = release_operations(plan().targets, found)
    assert [r.target for r in refusals] == first


def test_a_target_in_two_results_files_is_refused_naming_both() -> None:
    doc = results([entry(IDS[0])])
    with pytest.raises(ConfigError, match=r"'edge_cpu-py313' is in two results files: a\.json"
                                          r" and b\.json"):
        find_results([doc, doc], sources=["a.json", "b.json"])
