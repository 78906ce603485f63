"""Staging then promotion: bake --push publishes candidates only; release creates every public
name, the primary included, from the verified candidate; nothing a user pulls is written
before proof."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bakery.errors import ConfigError
from bakery.matrix import parse_matrix
from bakery.plan import expand
from tests.release.conftest import FakeRegistry
from tests.release.data import IDS, REF_ARGS, SHA, candidate, digest, plan, to_create
from tests.support.cli import MINIMAL_MATRIX, run_cli
from tests.support.fake_docker import FakeDocker
from tests.support.locked import locked_project

Capsys = pytest.CaptureFixture[str]
ROOT = Path(__file__).resolve().parents[2]


def with_staging(staging: str, namespace: str = "acme") -> str:
    text = MINIMAL_MATRIX.replace('namespace = "acme"', f'namespace = "{namespace}"')
    return text + f'\n[publish]\nstaging = "{staging}"\n'


def test_default_staging_is_a_repository_of_its_own() -> None:
    for target in plan().targets:
        names = (*target.tags.primary, *target.tags.legacy, *target.tags.compatibility,
                 *target.tags.release)
        public = {ref.rsplit(":", 1)[0] for ref in names}
        assert target.candidate.rsplit(":", 1)[0] == f"{target.repository}-staging"
        assert target.candidate.rsplit(":", 1)[0] not in public
        # the primary tag, then the commit: every build has a candidate of its own
        assert target.candidate.endswith(":" + target.tags.primary[0].rsplit(":", 1)[1]
                                         + "-" + SHA[:7])


def test_a_staging_namespace_on_another_registry() -> None:
    matrix = parse_matrix(with_staging("localhost:5001/staging", "localhost:5000/acme"),
                          source="matrix.toml")
    target = expand(matrix).target("edge_cpu-py313")
    assert target.candidate == "localhost:5001/staging/edge_cpu:py3.13.9-th2.9.1.cpu-tr4.57.1"
    assert target.tags.primary == ("localhost:5000/acme/edge_cpu:py3.13.9-th2.9.1.cpu-tr4.57.1",)


@pytest.mark.parametrize(("staging", "namespace", "message"), [
    ("acme", "acme", "a repository users pull from; staging must be a repository of its own"),
    ("docker.io/acme", "acme", "is in acme/edge_cpu, a repository users pull from"),
    ("Acme/staging", "acme", "publish.staging: 'Acme/staging' is not a valid namespace: path"
                             " component 'Acme' must be lowercase"),
])
def test_staging_that_would_publish_is_refused(staging: str, namespace: str, message: str) -> None:
    with pytest.raises(ConfigError, match=None) as caught:
        expand(parse_matrix(with_staging(staging, namespace), source="matrix.toml"))
    assert message in str(caught.value)


def test_a_cache_in_a_product_repository_is_refused() -> None:
    text = MINIMAL_MATRIX + '\n[cache]\nto = ["type=registry,ref={repo}:buildcache-{id}"]\n'
    with pytest.raises(ConfigError, match=r"cache .* is in acme/edge_cpu, a repository users"
                                          r" pull from; give the cache a repository of its own"):
        expand(parse_matrix(text, source="matrix.toml"))
    ok = MINIMAL_MATRIX + '\n[cache]\nto = ["type=registry,ref={repo}-cache:{id},mode=max"]\n'
    target = expand(parse_matrix(ok, source="matrix.toml")).target("edge_cpu-py313")
    # a cache export that fails must not fail the build that publishes
    assert target.cache_to == (
        "type=registry,ref=acme/edge_cpu-cache:edge_cpu-py313,mode=max,ignore-error=true",)
    own = MINIMAL_MATRIX + ('\n[cache]\nto = ["type=registry,ref={repo}-cache:{id},'
                            'ignore-error=false"]\n')
    target = expand(parse_matrix(own, source="matrix.toml")).target("edge_cpu-py313")
    assert target.cache_to == (
        "type=registry,ref=acme/edge_cpu-cache:edge_cpu-py313,ignore-error=false",)


def test_the_shipped_bake_file_pushes_no_public_name(capsys: Capsys) -> None:
    shown = run_cli(capsys, "plan", "--matrix", str(ROOT / "matrix.toml"), "--format", "json",
                    *REF_ARGS)
    doc = json.loads(shown.out)
    public = {ref for t in doc["targets"] for kind in t["tags"].values() for ref in kind}
    bake_text = (ROOT / "docker-bake.hcl").read_text()
    for target in doc["targets"]:
        # the committed file names the candidate without the commit (bake adds it, --set)
        assert target["candidate"].endswith("-" + SHA[:7])
        assert f'"{target["candidate"].removesuffix("-" + SHA[:7])}"' in bake_text
    assert not [ref for ref in public if f'"{ref}"' in bake_text]
    for target in doc["targets"]:
        for entry in target["cache_to"]:
            assert "-cache:" in entry


def test_bake_push_dry_run_names_the_candidates(
    fake_docker: FakeDocker, capsys: Capsys, tmp_path: Path
) -> None:
    matrix = locked_project(tmp_path / "repo")  # --push publishes only locked targets
    done = run_cli(capsys, "bake", "--matrix", str(matrix), "--results",
                   str(tmp_path / "r.json"), "--push", "--dry-run", "--target", "cpu")
    assert done.code == 0, done.err
    assert ("# base_edge_node_amd64_cpu-py313: pushes ratio1/base_edge_node_amd64_cpu-staging:"
            "py3.13.9-th2.9.1.cpu-tr4.57.1-0123456 only (staging; `bakery release` creates the public"
            " names from its verified digest)") in done.out


def test_release_creates_the_primary_from_the_candidate(
    project: Path, fake_docker: FakeDocker, registry: FakeRegistry, capsys: Capsys
) -> None:
    before = registry.tags()
    assert set(before) == {candidate(t) for t in IDS}  # after bake --push: candidates only
    dry = run_cli(capsys, "release", "--matrix", str(project / "matrix.toml"), *REF_ARGS,
                  "--dry-run", "--target", "edge_cpu-py313")
    assert dry.code == 0 and registry.tags() == before
    primary = plan().target("edge_cpu-py313").tags.primary[0]
    assert (f"docker buildx imagetools create --prefer-index=false --tag {primary}"
            f" acme/edge_cpu-staging@{digest('edge_cpu-py313')}") in dry.out
    done = run_cli(capsys, "release", "--matrix", str(project / "matrix.toml"), *REF_ARGS)
    assert done.code == 0, done.err
    after = registry.tags()
    for target in IDS:
        for name in to_create(target):
            assert after[name] == digest(target)


def test_no_two_runs_share_a_candidate(tmp_path: Path) -> None:
    """A tag run and a main run of one commit, or two runs of it, each push a candidate of
    their own: none overwrites a digest another run verified."""
    from bakery.project import load_plan

    (tmp_path / "matrix.toml").write_text(MINIMAL_MATRIX)

    def candidate_of(**env: str) -> str:
        loaded = load_plan(tmp_path / "matrix.toml", use_git=False, env={"GITHUB_SHA": SHA, **env})
        return loaded.plan.target("edge_cpu-py313").candidate

    main = candidate_of(GITHUB_REF="refs/heads/main", GITHUB_RUN_ID="101")
    tag = candidate_of(GITHUB_REF="refs/tags/v1.2.0", GITHUB_RUN_ID="102")
    assert main == "acme/edge_cpu-staging:py3.13.9-th2.9.1.cpu-tr4.57.1-0123456-run101"
    assert tag == "acme/edge_cpu-staging:py3.13.9-th2.9.1.cpu-tr4.57.1-0123456-run102"
    # outside CI: the commit alone
    assert candidate_of().endswith("-tr4.57.1-0123456")
    with pytest.raises(ConfigError, match="GITHUB_RUN_ID: 'x1' is not a run id"):
        candidate_of(GITHUB_RUN_ID="x1")
