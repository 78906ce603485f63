"""Eligibility and the operation list, pure: plan targets + bake results in."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bakery.docker.imagetools import registry_of
from bakery.release.operations import release_operations
from tests.release.data import (
    IDS,
    REFUSALS,
    digest,
    entry,
    plan,
    refused_entry,
    repository,
    results,
    to_create,
)


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
    pushed = entry("edge_cpu-py313", tags=["docker.io/acme/edge_cpu-staging:py3.13.9-th2.9.1.cpu-tr4.57.1"])
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
