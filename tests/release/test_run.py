"""`run_release`, the library function behind `bakery release`, driven directly: every
operation attempted, each outcome exact, a second run finishing the rest and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest
from python_on_whales import DockerClient

from bakery.release.run import run_release
from tests.release.conftest import FakeRegistry
from tests.release.data import CPU, IDS, digest, entry, plan, results, to_create
from tests.support.fake_docker import FakeDocker

PAIR = ["edge_cpu-py313", "edge_cpu-py313-dind"]  # ten names between them


def client(fake: FakeDocker) -> DockerClient:
    return DockerClient(client_call=[str(fake.path)])


def test_the_third_of_ten_failing_leaves_the_other_nine_done_and_a_rerun_finishes(
    fake_docker: FakeDocker, registry: FakeRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    targets = [plan().target(t) for t in PAIR]
    names = [name for t in PAIR for name in to_create(t)]
    assert len(names) == 10
    monkeypatch.setenv("FAKE_DOCKER_CREATE_FAIL", names[2])
    first = run_release(client(fake_docker), targets, results([entry(t) for t in IDS]),
                        dry_run=False)
    assert [o.operation.tag for o in first.outcomes] == names
    assert [o.state for o in first.outcomes] == ["created"] * 2 + ["failed"] + ["created"] * 7
    assert not first.ok
    assert first.error(named=True) is not None
    assert f"1 of 10 tag(s) failed and are not in place: {names[2]};" in (
        first.error(named=True) or "")
    assert names[2] not in registry.tags()
    before = registry.tags()

    monkeypatch.delenv("FAKE_DOCKER_CREATE_FAIL")
    second = run_release(client(fake_docker), targets, results([entry(t) for t in IDS]),
                         dry_run=False)
    assert [o.state for o in second.outcomes] == ["present"] * 2 + ["created"] + ["present"] * 7
    assert second.ok and second.error(named=True) is None
    assert registry.tags() == before | {names[2]: digest("edge_cpu-py313")}


def test_a_refusal_never_asks_docker(registry: FakeRegistry, tmp_path: Path) -> None:
    # a docker that is not there: asking it at all would fail (MissingToolError)
    absent = DockerClient(client_call=[str(tmp_path / "no-docker")])
    doc = results([entry(t, verify=None) if t == "edge_cpu-py312" else entry(t) for t in IDS])
    report = run_release(absent, [plan().target(t) for t in CPU], doc, dry_run=False)
    assert report.outcomes == () and [r.target for r in report.refusals] == ["edge_cpu-py312"]
    assert "release refused 1 of 3 target(s), so nothing was created" in (
        report.error(named=False) or "")
    assert "release the others by naming them with --target" in (report.error(named=False) or "")


def test_dry_run_changes_nothing(fake_docker: FakeDocker, registry: FakeRegistry,
                                 tmp_path: Path) -> None:
    before = registry.tags()
    report = run_release(client(fake_docker), [plan().target(PAIR[0])],
                         results([entry(t) for t in IDS]), dry_run=True)
    assert {o.state for o in report.outcomes} == {"would create"}
    assert report.ok and registry.tags() == before
