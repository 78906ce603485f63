"""Which names a release moves: a pre-release only its own release tags; a final release
every name, but never one back onto an older release than the one it holds (unless --force);
and every name it writes resolves to the verified digest."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest
from python_on_whales import DockerClient

from bakery.matrix import parse_matrix
from bakery.plan import Plan, expand
from bakery.plan.release import PublishNames, semver_of_ref
from bakery.release import execute
from bakery.release.run import run_release
from bakery.tags.git import GitContext
from tests.release.conftest import FakeRegistry
from tests.release.data import IDS, SHA, digest, entry, results, to_create
from tests.support.cli import MINIMAL_MATRIX
from tests.support.fake_docker import FakeDocker

LABEL = "org.bakery.release"
IMAGE = "edge_cpu-py313"
FAMILY = [IMAGE, f"{IMAGE}-dind"]


def plan_at(ref: str) -> Plan:
    return expand(parse_matrix(MINIMAL_MATRIX, source="matrix.toml"),
                  git=GitContext(ref=ref, sha=SHA, source="cli"))


def client(fake: FakeDocker) -> DockerClient:
    return DockerClient(client_call=[str(fake.path)])


def release(fake: FakeDocker, ref: str, *, force: bool = False,
            targets: Sequence[str] = FAMILY, names: PublishNames = "all") -> dict[str, str]:
    plan = plan_at(ref)
    report = run_release(client(fake), [plan.target(t) for t in targets],
                         results([entry(t) for t in IDS]), dry_run=False, plan=plan,
                         release_label=LABEL, force=force, names=names)
    assert report.ok, report.error(named=True)
    return {o.operation.tag: o.state for o in report.outcomes}


def test_semver_of_ref() -> None:
    assert semver_of_ref("refs/tags/v1.3.0") == ("1.3.0", False)
    assert semver_of_ref("refs/tags/v1.3.0-rc.1") == ("1.3.0-rc.1", True)
    assert semver_of_ref("refs/heads/v1.3.0") is None
    assert semver_of_ref("refs/tags/nightly") is None
    assert semver_of_ref(None) is None


def test_a_pre_release_creates_its_release_tags_only(
    fake_docker: FakeDocker, registry: FakeRegistry
) -> None:
    before = registry.tags()
    states = release(fake_docker, "refs/tags/v1.2.0-rc.1")
    assert states == {
        "acme/edge_cpu:1.2.0-rc.1": "created", "acme/edge_cpu:sha-0123456": "created",
        "acme/edge_cpu:1.2.0-rc.1-d": "created", "acme/edge_cpu:sha-0123456-d": "created",
    }
    # no primary, legacy, compatibility name, no latest: what devices pull is untouched
    assert registry.tags() == before | dict.fromkeys(states, digest(IMAGE)) | {
        "acme/edge_cpu:1.2.0-rc.1-d": digest(FAMILY[1]),
        "acme/edge_cpu:sha-0123456-d": digest(FAMILY[1])}


def test_the_final_release_creates_every_name(
    fake_docker: FakeDocker, registry: FakeRegistry
) -> None:
    states = release(fake_docker, "refs/tags/v1.2.0")
    assert list(states) == [n for t in FAMILY for n in to_create(t)]
    assert "acme/edge_cpu:latest" in states and "acme/edge:x86_64-" in " ".join(states)


def newer_where(registry: FakeRegistry, held: dict[str, str]
                ) -> Callable[[DockerClient, str], dict[str, str]]:
    """What the registry's images say about their release: `held` {name: version}, read by
    release through `imagetools inspect --format '{{json .Image}}'` (here: the registry state
    of the fake docker, which has no image configs)."""
    def labels(_client: DockerClient, ref: str) -> dict[str, str]:
        return {LABEL: held[ref]} if ref in held else {}
    return labels


@pytest.fixture
def on_130(registry: FakeRegistry, monkeypatch: pytest.MonkeyPatch) -> str:
    """`latest` and `latest-d` already on a 1.3.0 build (another digest)."""
    newer = digest("the 1.3.0 build")
    registry.put("acme/edge_cpu:latest", newer)
    registry.put("acme/edge_cpu:latest-d", newer)
    monkeypatch.setattr(execute, "image_labels", newer_where(registry, {
        "acme/edge_cpu:latest": "1.3.0", "acme/edge_cpu:latest-d": "1.3.0"}))
    return newer


def test_a_backport_never_moves_latest_back(
    fake_docker: FakeDocker, registry: FakeRegistry, on_130: str
) -> None:
    states = release(fake_docker, "refs/tags/v1.2.0")
    assert states["acme/edge_cpu:latest"] == states["acme/edge_cpu:latest-d"] == "kept"
    assert states["acme/edge_cpu:1.2.0"] == "created"
    assert registry.tags()["acme/edge_cpu:latest"] == on_130
    assert registry.tags()["acme/edge_cpu:1.2.0"] == digest(IMAGE)
    # a dry run says the same, and the message names both versions
    plan = plan_at("refs/tags/v1.2.0")
    report = run_release(client(fake_docker), [plan.target(IMAGE)],
                         results([entry(t) for t in IDS]), dry_run=True, plan=plan,
                         release_label=LABEL)
    kept = [o for o in report.outcomes if o.state == "kept"]
    assert [o.operation.tag for o in kept] == ["acme/edge_cpu:latest"]
    assert kept[0].message == "holds 1.3.0, newer than 1.2.0: not moved back (--force moves it)"


def test_force_rolls_latest_back(
    fake_docker: FakeDocker, registry: FakeRegistry, on_130: str
) -> None:
    states = release(fake_docker, "refs/tags/v1.2.0", force=True)
    assert states["acme/edge_cpu:latest"] == "moved"
    assert registry.tags()["acme/edge_cpu:latest"] == digest(IMAGE)


@pytest.mark.parametrize(("held", "state"), [
    ("1.1.9", "moved"), ("1.2.0-rc.1", "moved"), ("1.2.0", "moved"), ("not-a-version", "moved"),
    ("1.2.1", "kept"), ("2.0.0-beta.1", "kept"),
])
def test_versions_compare_as_versions(
    fake_docker: FakeDocker, registry: FakeRegistry, monkeypatch: pytest.MonkeyPatch,
    held: str, state: str
) -> None:
    registry.put("acme/edge_cpu:latest", digest("another build"))
    monkeypatch.setattr(execute, "image_labels",
                        newer_where(registry, {"acme/edge_cpu:latest": held}))
    assert release(fake_docker, "refs/tags/v1.2.0", targets=[IMAGE])["acme/edge_cpu:latest"] \
        == state


def test_a_branch_promotion_reads_no_release(
    fake_docker: FakeDocker, registry: FakeRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unread(_client: DockerClient, ref: str) -> dict[str, str]:
        raise AssertionError(f"{ref}: a branch promotion compares no versions")

    monkeypatch.setattr(execute, "image_labels", unread)
    registry.put("acme/edge_cpu:sha-0123456", digest("an older build"))
    assert release(fake_docker, "refs/heads/main", targets=[IMAGE], names="branch") == {
        "acme/edge_cpu:sha-0123456": "moved"}


def test_a_name_that_does_not_resolve_to_the_verified_digest_fails(
    fake_docker: FakeDocker, registry: FakeRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What buildx >= 0.15 would do without --prefer-index=false: wrap the source in a new
    index, so the name carries another digest than the one verified."""
    wrapped = digest("a new index around the candidate")

    def wrap(_client: DockerClient, _sources: object, tag: str, *, prefer_index: bool) -> None:
        registry.put(tag, wrapped)

    monkeypatch.setattr(execute, "copy_to_tag", wrap)
    plan = plan_at("refs/tags/v1.2.0")
    report = run_release(client(fake_docker), [plan.target(IMAGE)],
                         results([entry(t) for t in IDS]), dry_run=False, plan=plan)
    assert {o.state for o in report.outcomes} == {"failed"}
    message = report.outcomes[0].message or ""
    assert f"resolves to {wrapped} after the copy, not the verified {digest(IMAGE)}" in message
    assert not report.ok


def test_the_command_carries_prefer_index_false_where_buildx_knows_it(
    fake_docker: FakeDocker, registry: FakeRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    for knows, flag in ((True, ["--prefer-index=false"]), (False, [])):
        monkeypatch.setattr(execute, "knows_prefer_index", lambda _c, k=knows: k)
        plan = plan_at("refs/tags/v1.2.0")
        report = run_release(client(fake_docker), [plan.target(IMAGE)],
                             results([entry(t) for t in IDS]), dry_run=True, plan=plan)
        tag = report.outcomes[0].operation.tag
        assert report.outcomes[0].command.split()[1:] == [
            "buildx", "imagetools", "create", *flag, "--tag", tag,
            f"{plan.target(IMAGE).candidate.rsplit(':', 1)[0]}@{digest(IMAGE)}"]


@pytest.mark.parametrize(("answer", "labels"), [
    # one image (a single manifest, or an index of one platform and its attestations)
    ('{"architecture": "amd64", "config": {"Labels": {"org.bakery.release": "1.3.0"}}}',
     {LABEL: "1.3.0"}),
    # one config per platform (a multi-architecture index)
    ('{"linux/amd64": {"config": {"Labels": {"org.bakery.release": "1.3.0"}}},'
     ' "linux/arm64": {"config": {"Labels": {"org.bakery.release": "1.3.0"}}}}',
     {LABEL: "1.3.0"}),
    ('{"architecture": "amd64", "config": {}}', {}),  # no labels at all
    ('{"mediaType": "x", "digest": "sha256:00", "size": 1}', {}),  # no image config in it
    ("null", {}),
])
def test_the_labels_of_what_a_name_holds(monkeypatch: pytest.MonkeyPatch, answer: str,
                                         labels: dict[str, str]) -> None:
    from bakery.docker import imagetools

    monkeypatch.setattr(imagetools, "_inspect", lambda _client, _ref, *_options: answer)
    assert imagetools.image_labels(DockerClient(client_call=["docker"]), "acme/x:latest") \
        == labels


class _Buildx:
    def __init__(self, line: str) -> None:
        self.line = line

    def version(self) -> str:
        return self.line


@pytest.mark.parametrize(("line", "knows"), [
    ("github.com/docker/buildx v0.15.1 1c1dbb2", True),
    ("github.com/docker/buildx v0.30.1 9e5a7d2", True),
    ("github.com/docker/buildx 0.13.1+ds1 0.13.1+ds1-3", False),  # Debian's
    ("github.com/docker/buildx v0.14.1 59582f7", False),
    ("something else", False),
])
def test_prefer_index_is_known_from_buildx_0_15(line: str, knows: bool) -> None:
    from types import SimpleNamespace

    from bakery.docker.imagetools import knows_prefer_index

    client = SimpleNamespace(buildx=_Buildx(line))
    assert knows_prefer_index(client) is knows  # type: ignore[arg-type]
