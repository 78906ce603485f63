"""Grouping targets into bake invocations and building their command lines."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bakery.bake.invocations import (
    FAIL_FAST_NAME,
    MAX_DEFAULT_JOBS,
    REVISION_LABEL,
    BakeSettings,
    Invocation,
    bake_argv,
    default_jobs,
    default_overrides,
    parse_overrides,
    plan_invocations,
)
from bakery.errors import ConfigError
from bakery.plan import Plan, select_targets
from bakery.plan.target import StageTarget
from bakery.project import load_plan
from tests.support.fake_docker import FakeDocker
from tests.support.repo import ROOT

META = Path(".bakery/metadata")


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan(ROOT / "matrix.toml", use_git=False, env={}).plan


def test_one_invocation_per_family_in_plan_order(plan: Plan) -> None:
    targets = select_targets(plan, ["gpu", "arm64", "fallback"])
    invocations = plan_invocations(targets, fail_fast=False, metadata_dir=META)
    gpu, arm = "base_edge_node_amd64_gpu-py313", "base_edge_node_arm64_cpu-py313"
    gpu12, arm12 = "base_edge_node_amd64_gpu-py312", "base_edge_node_arm64_cpu-py312"
    cpu12 = "base_edge_node_amd64_cpu-py312"
    # an image and its DinD variant in one bake (the variant is built FROM that very build);
    # every other target alone, so one broken family never hides another's result
    assert [i.targets for i in invocations] == [
        (gpu, f"{gpu}-dind"), (gpu12,), (cpu12,), (arm, f"{arm}-dind"), (arm12,)]
    assert [i.name for i in invocations] == [gpu, gpu12, cpu12, arm, arm12]
    assert [i.metadata_file for i in invocations] == [
        META / f"{name}.json" for name in (gpu, gpu12, cpu12, arm, arm12)]
    (alone,) = plan_invocations(select_targets(plan, [f"{gpu}-dind"]), fail_fast=False,
                                metadata_dir=META)
    assert (alone.name, alone.targets) == (gpu, (f"{gpu}-dind",))


def test_fail_fast_is_one_invocation_for_everything(plan: Plan) -> None:
    targets = select_targets(plan, ["all"])
    (only,) = plan_invocations(targets, fail_fast=True, metadata_dir=META)
    assert only.name == FAIL_FAST_NAME
    assert only.targets == tuple(t.id for t in targets) == plan.groups["all"]
    assert only.metadata_file == META / "fail-fast.json"


def test_no_targets_is_a_usage_error() -> None:
    with pytest.raises(ConfigError, match="selects no targets"):
        plan_invocations([], fail_fast=False, metadata_dir=META)


@pytest.mark.parametrize(("count", "jobs"), [(0, 1), (1, 1), (2, 2), (4, 4), (9, MAX_DEFAULT_JOBS)])
def test_default_jobs(count: int, jobs: int) -> None:
    assert default_jobs(count) == jobs


def test_overrides_reach_only_invocations_that_build_a_matching_target(plan: Plan) -> None:
    gpu, gpu_dind = select_targets(plan, ["gpu"])
    (cpu,) = select_targets(plan, ["base_edge_node_amd64_cpu-py313"])
    overrides = {
        "*.args.UV_VERSION": "0.9.12",
        f"{gpu.id}.args.FEATURE_PACKAGES": "",
        "*-py313-dind.args.EE_DD_DEFAULT": "false",
    }
    by_name = {i.name: i for i in plan_invocations(
        [gpu, gpu_dind, cpu], fail_fast=False, metadata_dir=META, overrides=overrides)}
    assert by_name[gpu.id].overrides == overrides  # the family's bake builds all three
    assert by_name[cpu.id].overrides == {"*.args.UV_VERSION": "0.9.12"}
    (dind_alone,) = plan_invocations([gpu_dind], fail_fast=False, metadata_dir=META,
                                     overrides={f"{cpu.id}.args.X": "1"})
    assert dind_alone.overrides == {}


def test_overrides_follow_shared_stages_used_as_named_contexts(plan: Plan) -> None:
    target = plan.targets[0].model_copy(update={"contexts": {"python": "target:stage-py"}})
    (invocation,) = plan_invocations(
        [target], fail_fast=False, metadata_dir=META,
        overrides={"stage-py.args.X": "1", "stage-ff.args.Y": "2"})
    assert invocation.overrides == {"stage-py.args.X": "1"}


def test_parse_overrides(plan: Plan) -> None:
    assert parse_overrides(
        ["*.args.UV_VERSION=0.9.12", "*-py312.no-cache=true", "base_edge_node_amd64_gpu-py313"
         ".labels.a=b=c"], plan=plan,
    ) == {"*.args.UV_VERSION": "0.9.12", "*-py312.no-cache": "true",
          "base_edge_node_amd64_gpu-py313.labels.a": "b=c"}


def test_parse_overrides_accepts_shared_stage_ids(plan: Plan) -> None:
    stage = StageTarget(id="stage-python-3139", stage="python", context=".", dockerfile="D",
                        target="python", platform="linux/amd64", args={})
    with_stage = plan.model_copy(update={"stages": (stage,)})
    assert parse_overrides(["stage-python-3139.args.A=1"], plan=with_stage) == {
        "stage-python-3139.args.A": "1"}


@pytest.mark.parametrize(("value", "message"), [
    ("noequals", "expected <target>.<key>=<value>"),
    ("*=1", "expected <target>.<key>=<value>"),
    ("*.=1", "expected <target>.<key>=<value>"),
    ("base_edge_node_amd64_gpu-py31.args.A=1", "did you mean 'base_edge_node_amd64_gpu-py313'"),
    ("gpu.args.A=1", "matches no target of the bake file"),
])
def test_parse_overrides_rejects(plan: Plan, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_overrides([value], plan=plan)


def test_revision_label_only_when_the_commit_is_known() -> None:
    assert default_overrides("abc1234") == {REVISION_LABEL: "abc1234"}
    assert default_overrides(None) == {}


def test_a_release_label_only_for_a_release() -> None:
    assert default_overrides("abc1234", release=("org.bakery.release", "1.3.0")) == {
        REVISION_LABEL: "abc1234", "*.labels.org.bakery.release": "1.3.0"}


def _invocation() -> Invocation:
    return Invocation(name="t1", targets=("t1",), metadata_file=META / "t1.json",
                      overrides={"*.args.A": "1", "t1.labels.b": "two words"})


@pytest.mark.parametrize(("settings", "flags"), [
    (BakeSettings(bake_file=Path("docker-bake.hcl")), []),
    (BakeSettings(bake_file=Path("docker-bake.hcl"), load=True), ["--load"]),
    (BakeSettings(bake_file=Path("docker-bake.hcl"), push=True, builder="cloud"),
     ["--builder", "cloud", "--push"]),
])
def test_bake_argv(settings: BakeSettings, flags: list[str]) -> None:
    argv = bake_argv(["docker"], _invocation(), settings)
    assert list(argv) == [
        "docker", "buildx", "bake", *flags, "--progress", "plain", "--file", "docker-bake.hcl",
        "--set", "*.args.A=1", "--set", "t1.labels.b=two words",
        "--metadata-file", ".bakery/metadata/t1.json", "t1",
    ]


def test_output_mode() -> None:
    base = Path("f")
    assert BakeSettings(bake_file=base).output == "cache"
    assert BakeSettings(bake_file=base, load=True).output == "load"
    assert BakeSettings(bake_file=base, push=True).output == "push"


@pytest.mark.parametrize("settings", [
    BakeSettings(bake_file=Path("docker-bake.hcl"), push=True, builder="cloud"),
    BakeSettings(bake_file=Path("docker-bake.hcl"), load=True),
])
def test_argv_is_what_python_on_whales_bake_runs(
    fake_docker: FakeDocker, tmp_path: Path, settings: BakeSettings
) -> None:
    """bakery starts the process itself; its command must be python-on-whales' own."""
    from python_on_whales import DockerClient

    invocation = Invocation(name="t1", targets=("t1", "t2"), metadata_file=tmp_path / "m.json",
                            overrides={"*.args.A": "1", "t1.labels.b": "two words"})
    client = DockerClient(client_call=[str(fake_docker.path)])
    client.buildx.bake(
        targets=list(invocation.targets), builder=settings.builder,
        files=[str(settings.bake_file)], load=settings.load, push=settings.push,
        progress="plain", set=dict(invocation.overrides), metadata_file=invocation.metadata_file,
    )
    whales = fake_docker.bakes()[0]  # the second call is python-on-whales' `--print` re-run
    assert whales == list(bake_argv([], invocation, settings))
    assert json.loads((tmp_path / "m.json").read_text()).keys() == {"t1", "t2"}
