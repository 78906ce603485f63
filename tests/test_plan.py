"""`bakery plan`: targets, tags, groups and the three output formats."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bakery.errors import ConfigError
from bakery.matrix import parse_matrix
from bakery.plan import expand, select_targets
from bakery.plan.bulk import assemble
from bakery.plan.target import FlagChoice, ImageChoice, TagSet, Target
from bakery.project import load_plan
from bakery.tags.git import GitContext
from tests.support.cli import MINIMAL_MATRIX, run_cli
from tests.support.repo import ROOT

SHA = "0123456789abcdef0123456789abcdef01234567"
GPU = "base_edge_node_amd64_gpu-py313"


@pytest.fixture
def shipped(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    result = run_cli(capsys, "plan", "--format", "json", "--matrix", str(ROOT / "matrix.toml"),
                     "--ref", "refs/tags/v1.4.0", "--sha", SHA)
    assert result.code == 0, result.err
    doc: dict[str, object] = json.loads(result.out)
    return doc


def by_id(doc: dict[str, object]) -> dict[str, dict[str, object]]:
    return {t["id"]: t for t in doc["targets"]}  # type: ignore[attr-defined, index]


def test_json_lists_every_documented_field(shipped: dict[str, object]) -> None:
    assert shipped["schema_version"] == 1
    assert shipped["git"] == {"ref": "refs/tags/v1.4.0", "sha": SHA, "source": "cli"}
    fields = {"id", "image", "repository", "variant", "platform", "arch", "machine",
              "accelerator", "python", "flags", "context", "dockerfile", "contexts", "args",
              "tags", "candidate", "labels", "cache_from", "cache_to", "derived_from",
              "attest", "size_budget", "gpu_proof_waiver"}
    for target in shipped["targets"]:  # type: ignore[attr-defined]
        assert set(target) == fields
        assert set(target["tags"]) == {"primary", "legacy", "compatibility", "release",
                                      "edge"}
        assert set(target["python"]) == {"version", "role", "reason"}
        for flag in target["flags"].values():
            assert set(flag) == {"setting", "enabled", "reason"} and flag["reason"]


def test_the_three_images_and_their_variants(shipped: dict[str, object]) -> None:
    targets = by_id(shipped)
    assert sorted(targets) == sorted(
        f"base_edge_node_{img}-{v}" for img in ("amd64_gpu", "amd64_cpu", "arm64_cpu")
        for v in ("py313", "py313-dind", "py312"))
    gpu = targets[GPU]
    assert gpu["platform"] == "linux/amd64" and gpu["machine"] == "x86_64"
    assert targets["base_edge_node_arm64_cpu-py313"]["platform"] == "linux/arm64"


def test_primary_legacy_compat_and_release_tags(shipped: dict[str, object]) -> None:
    targets = by_id(shipped)
    tags = targets[GPU]["tags"]
    assert tags == {  # type: ignore[comparison-overlap]
        "primary": ["ratio1/base_edge_node_amd64_gpu:py3.13.9-th2.9.1.cu128-tr4.57.1"],
        "legacy": ["ratio1/base_edge_node:x86_64-py3.13.9-th2.9.1.cu128-tr4.57.1",
                   "ratio1/base_edge_node_amd64:latest"],
        "compatibility": [],
        "release": ["ratio1/base_edge_node_amd64_gpu:1.4.0", "ratio1/base_edge_node_amd64_gpu:1.4",
                    "ratio1/base_edge_node_amd64_gpu:sha-0123456",
                    "ratio1/base_edge_node_amd64_gpu:latest"],
        "edge": [],  # no edge rule fires on a tag
    }
    dind = targets[f"{GPU}-dind"]["tags"]
    assert dind["primary"] == [  # type: ignore[index]
        "ratio1/base_edge_node_amd64_gpu:py3.13.9-th2.9.1.cu128-tr4.57.1-d"]
    assert "ratio1/base_edge_node_dind:x86_64-py3.13.9-th2.9.1.cu128-tr4.57.1" in dind[
        "compatibility"]  # type: ignore[index]
    assert "ratio1/base_edge_node_amd64_gpu:latest-d" in dind["release"]  # type: ignore[index]
    fallback = targets["base_edge_node_amd64_gpu-py312"]["tags"]
    assert fallback["primary"] == [  # type: ignore[index]
        "ratio1/base_edge_node_amd64_gpu:py3.12.12-th2.9.1.cu128-tr4.57.1"]
    assert fallback["legacy"] == []  # type: ignore[index]
    assert "ratio1/base_edge_node_amd64_gpu:1.4.0-py312" in fallback["release"]  # type: ignore[index]
    arm = targets["base_edge_node_arm64_cpu-py313"]["tags"]
    assert "ratio1/base_edge_node:aarch64-py3.13.9-th2.9.1-tr4.57.1" in arm["legacy"]  # type: ignore[index]


def test_dind_variant_differs_only_in_the_ee_dd_default(shipped: dict[str, object]) -> None:
    targets = by_id(shipped)
    base, dind = targets[GPU], targets[f"{GPU}-dind"]
    assert base["args"]["EE_DD_DEFAULT"] == "false"  # type: ignore[index]
    assert dind["args"] == {**base["args"], "EE_DD_DEFAULT": "true"}  # type: ignore[dict-item]
    # built FROM the image's own target in the same bake: the same layers, config differs
    assert dind["derived_from"] == GPU and base["derived_from"] is None
    assert dind["dockerfile"] == "images/shared/Dockerfile.dind"
    assert dind["contexts"] == {"image": f"target:{GPU}"}
    assert dind["cache_to"] == [] and base["cache_to"]


def test_build_args_carry_every_pin(shipped: dict[str, object]) -> None:
    args = by_id(shipped)[GPU]["args"]
    assert args["TORCH_VERSION"] == "2.9.1+cu128"  # type: ignore[index]
    assert args["TORCH_INDEX_URL"] == "https://download.pytorch.org/whl/cu128"  # type: ignore[index]
    assert args["PYTHON_VERSION"] == "3.13.9"  # type: ignore[index]
    # the features on, as generic pins and indexes: bitsandbytes and TensorRT (all three of
    # its distributions, at its version), by feature name; flash-attn is off
    assert args["FEATURE_PACKAGES"] == (  # type: ignore[index]
        "bitsandbytes==0.48.2 tensorrt-cu12-bindings==10.13.3.9 tensorrt-cu12==10.13.3.9"
        " tensorrt-cu12-libs==10.13.3.9")
    assert args["FEATURE_INDEX_URLS"] == "https://pypi.nvidia.com"  # type: ignore[index]
    assert not any(name.startswith(("TENSORRT", "BITSANDBYTES", "FLASH_ATTN"))
                   for name in args)  # type: ignore[union-attr]
    assert args["UV_SHA256"].startswith("e97906ca")  # type: ignore[index]
    arm = by_id(shipped)["base_edge_node_arm64_cpu-py313"]["args"]
    assert arm["TORCH_INDEX_URL"] == ""  # type: ignore[index]
    assert arm["FEATURE_PACKAGES"] == "bitsandbytes==0.48.2"  # type: ignore[index]
    assert arm["FEATURE_INDEX_URLS"] == ""  # type: ignore[index]
    assert arm["FFMPEG_PROFILE"] == "slim"  # type: ignore[index]
    assert arm["UV_SHA256"].startswith("d901269e")  # type: ignore[index]
    # a per-architecture download: each target gets its own architecture's address and sum
    assert args["NGROK_URL"].endswith("-linux-amd64.zip")  # type: ignore[index]
    assert arm["NGROK_URL"].endswith("-linux-arm64.zip")  # type: ignore[index]
    assert arm["NGROK_SHA256"] != args["NGROK_SHA256"]  # type: ignore[index]


def test_flags_say_why(shipped: dict[str, object]) -> None:
    cpu = by_id(shipped)["base_edge_node_amd64_cpu-py313"]["flags"]
    assert cpu["tensorrt"] == {"setting": "off", "enabled": False,  # type: ignore[index]
                               "reason": "GPU-only; this is a cpu image"}
    assert cpu["bitsandbytes"]["enabled"] is True  # type: ignore[index]


def test_groups(shipped: dict[str, object]) -> None:
    groups = shipped["groups"]
    assert groups["default"] == [GPU, "base_edge_node_amd64_cpu-py313",  # type: ignore[index]
                                 "base_edge_node_arm64_cpu-py313"]
    assert groups["gpu"] == [GPU, f"{GPU}-dind"]  # type: ignore[index]
    assert groups["arm64"] == groups["base_edge_node_arm64_cpu"]  # type: ignore[index]
    assert all(t.endswith("-py312") for t in groups["fallback"])  # type: ignore[index]
    assert all(t.endswith("-dind") for t in groups["dind"])  # type: ignore[index]
    assert len(groups["all"]) == 9  # type: ignore[index]


def test_labels(shipped: dict[str, object]) -> None:
    labels = by_id(shipped)[GPU]["labels"]
    assert labels["org.opencontainers.image.version"] == "py3.13.9-th2.9.1.cu128-tr4.57.1"  # type: ignore[index]
    assert labels["ai.ratio1.edge-node.torch"] == "2.9.1+cu128"  # type: ignore[index]
    assert labels["org.opencontainers.image.title"] == "base_edge_node_amd64_gpu"  # type: ignore[index]


@pytest.mark.parametrize(("names", "expected"), [
    (["gpu"], [GPU, f"{GPU}-dind"]),
    (["*-py312"], ["base_edge_node_amd64_gpu-py312", "base_edge_node_amd64_cpu-py312",
                   "base_edge_node_arm64_cpu-py312"]),
    ([GPU, "gpu"], [GPU, f"{GPU}-dind"]),
    ([], [GPU, "base_edge_node_amd64_cpu-py313", "base_edge_node_arm64_cpu-py313"]),
])
def test_selection(names: list[str], expected: list[str]) -> None:
    plan = load_plan(ROOT / "matrix.toml", use_git=False, env={}).plan
    assert [t.id for t in select_targets(plan, names)] == expected


def test_glob_matching_nothing_is_an_error() -> None:
    plan = load_plan(ROOT / "matrix.toml", use_git=False, env={}).plan
    with pytest.raises(ConfigError, match="matches no target"):
        select_targets(plan, ["*-py399"])


def test_target_filter_in_json(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "plan", "-f", "json", "--matrix", str(ROOT / "matrix.toml"),
                     "--sha", SHA, "--target", "arm64")
    doc = json.loads(result.out)
    assert [t["id"] for t in doc["targets"]] == ["base_edge_node_arm64_cpu-py313",
                                                 "base_edge_node_arm64_cpu-py313-dind"]
    assert "gpu" not in doc["groups"]


def test_gha_matrix_has_one_job_per_family(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "plan", "-f", "gha-matrix", "--matrix", str(ROOT / "matrix.toml"),
                     "--sha", SHA, "--target", "cpu", "--target", "fallback")
    assert result.code == 0
    jobs = [job["target"] for job in json.loads(result.out)["include"]]
    # the image and its DinD variant: one job, by the image's group; the fallbacks alone
    assert jobs == ["base_edge_node_amd64_gpu-py312", "base_edge_node_amd64_cpu",
                    "base_edge_node_amd64_cpu-py312", "base_edge_node_arm64_cpu-py312"]


def test_gha_matrix(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "plan", "-f", "gha-matrix", "--matrix", str(ROOT / "matrix.toml"),
                     "--sha", SHA, "--target", "default")
    assert result.code == 0
    assert json.loads(result.out) == {"include": [
        {"target": GPU, "image": "base_edge_node_amd64_gpu", "platform": "linux/amd64",
         "runner": "ubuntu-24.04", "gpu": True},
        {"target": "base_edge_node_amd64_cpu-py313", "image": "base_edge_node_amd64_cpu",
         "platform": "linux/amd64", "runner": "ubuntu-24.04", "gpu": False},
        {"target": "base_edge_node_arm64_cpu-py313", "image": "base_edge_node_arm64_cpu",
         "platform": "linux/arm64", "runner": "ubuntu-24.04-arm", "gpu": False},
    ]}


def test_table_shows_tags_and_reasons(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "plan", "--matrix", str(ROOT / "matrix.toml"), "--sha", SHA,
                     "--ref", "refs/heads/main", "--target", "cpu")
    assert result.code == 0
    assert "ratio1/base_edge_node_amd64_cpu:py3.13.9-th2.9.1.cpu-tr4.57.1" in result.out
    assert "tensorrt off  GPU-only; this is a cpu image" in result.out
    assert "ratio1/base_edge_node_amd64_cpu:edge" in result.out
    assert "refs/heads/main @ 0123456 (from cli)" in result.out


def test_env_git_context(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_REF", "refs/pull/42/merge")
    monkeypatch.setenv("GITHUB_SHA", SHA)
    result = run_cli(capsys, "plan", "-f", "json", "--matrix", str(ROOT / "matrix.toml"))
    doc = json.loads(result.out)
    assert doc["git"]["source"] == "env"
    assert "ratio1/base_edge_node_amd64_gpu:pr-42" in by_id(doc)[GPU]["tags"]["release"]


def test_expansion_is_pure_and_repeatable() -> None:
    matrix = parse_matrix(MINIMAL_MATRIX)
    assert expand(matrix) == expand(matrix)


def test_lock_decisions_select_fallback_python_and_auto_flags() -> None:
    matrix = parse_matrix(MINIMAL_MATRIX.replace('features = { bitsandbytes = "on" }',
                                                 'features = { bitsandbytes = "auto" }'))
    decision = ImageChoice(
        python="3.12.12", python_reason="torch has no cp313 wheel",
        flags={"bitsandbytes": FlagChoice(setting="auto", enabled=False,
                                            reason="no cp312 manylinux wheel")})
    plan = expand(matrix, decisions={"edge_cpu": decision})
    cpu = [t for t in plan.targets if t.image == "edge_cpu"]
    assert [t.id for t in cpu] == ["edge_cpu-py312", "edge_cpu-py312-dind"]
    assert cpu[0].variant == "default"
    assert cpu[0].python.reason == "torch has no cp313 wheel"
    assert cpu[0].flags["bitsandbytes"].enabled is False
    assert plan.groups["default"][0] == "edge_cpu-py312"


def test_a_fallback_variant_says_its_auto_flags_were_decided_for_another_python() -> None:
    matrix = parse_matrix(MINIMAL_MATRIX.replace('features = { bitsandbytes = "on" }',
                                                 'features = { bitsandbytes = "auto" }'))
    decision = ImageChoice(
        python="3.13.9", python_reason="wheels for every package",
        flags={"bitsandbytes": FlagChoice(setting="auto", enabled=True,
                                          reason="preflight: wheels found for python 3.13.9")})
    plan = expand(matrix, decisions={"edge_cpu": decision})
    primary, fallback = plan.target("edge_cpu-py313"), plan.target("edge_cpu-py312")
    assert primary.flags["bitsandbytes"].reason == "preflight: wheels found for python 3.13.9"
    assert fallback.flags["bitsandbytes"].enabled is True
    assert fallback.flags["bitsandbytes"].reason == (
        "follows the decision for python 3.13.9 (preflight: wheels found for python 3.13.9);"
        " not checked for python 3.12.12")


@pytest.mark.parametrize("ref", ["refs/heads/main", "refs/tags/v1.4.0", "refs/pull/7/merge"])
def test_targets_are_what_validation_makes_of_them(ref: str) -> None:
    """The expansion assembles targets without validating them again (a plan of 10,000 images
    has 30,000): each must equal, and serialize as, the validated model of its own values."""
    auto = MINIMAL_MATRIX.replace('features = { bitsandbytes = "on" }',
                                  'features = { bitsandbytes = "auto" }')
    decision = ImageChoice(
        python="3.13.9", python_reason="wheels for every package",
        flags={"bitsandbytes": FlagChoice(setting="auto", enabled=True, reason="wheels")})
    git = GitContext(ref=ref, sha=SHA, source="cli")
    plans = [load_plan(ROOT / "matrix.toml", ref=ref, sha=SHA).plan,
             expand(parse_matrix(auto), git=git, decisions={"edge_cpu": decision})]
    for target in (t for plan in plans for t in plan.targets):
        validated = Target.model_validate(target.model_dump())
        assert validated == target
        assert validated.model_dump_json() == target.model_dump_json()
        assert validated.model_fields_set == target.model_fields_set
    with pytest.raises(TypeError, match=r"in declared order"):
        assemble(TagSet, primary=(), legacy=(), compatibility=(), release=(), edge=(), id="x")
    with pytest.raises(TypeError, match=r"in declared order"):
        assemble(TagSet, legacy=(), primary=(), compatibility=(), release=(), edge=())


def test_a_lock_naming_an_unknown_python_points_at_the_matrix() -> None:
    decision = ImageChoice(python="3.10.1", python_reason="?")
    with pytest.raises(ConfigError, match=r"^m\.toml: python: the lock selects python '3\.10\.1'"):
        expand(parse_matrix(MINIMAL_MATRIX), decisions={"edge_cpu": decision}, source="m.toml")


def test_an_unknown_target_id_is_a_key_error() -> None:
    plan = expand(parse_matrix(MINIMAL_MATRIX))
    with pytest.raises(KeyError, match="nope"):
        plan.target("nope")


def test_cli_basics(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "--version").out.startswith("bakery ")
    help_text = run_cli(capsys, "--help").out
    for command in ("plan", "render"):
        assert command in help_text
    result = run_cli(capsys, "plan", "--format", "yaml")
    assert result.code == 2 and "yaml" in result.err


@pytest.mark.parametrize("namespace", ["localhost:5000/acme", "ghcr.io/ratio1",
                                       "registry.example.com:8443/team/edge"])
def test_a_namespace_may_name_a_registry(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         namespace: str) -> None:
    from tests.support.cli import MINIMAL_MATRIX

    text = MINIMAL_MATRIX.replace('namespace = "acme"', f'namespace = "{namespace}"')
    text = text.replace('"acme/edge', f'"{namespace}/edge')
    (tmp_path / "matrix.toml").write_text(text)
    (tmp_path / "docker-bake.hcl.j2").write_text(
        (Path(__file__).parents[1] / "docker-bake.hcl.j2").read_text())
    result = run_cli(capsys, "plan", "--matrix", str(tmp_path / "matrix.toml"), "--format",
                     "json", "--ref", "refs/tags/v1.0.0", "--sha", "0" * 40)
    assert result.code == 0, result.err
    target = next(t for t in json.loads(result.out)["targets"] if t["id"] == "edge_cpu-py313")
    assert target["repository"] == f"{namespace}/edge_cpu"
    assert target["tags"]["legacy"] == [f"{namespace}/edge:x86_64-{target['tags']['primary'][0].split(':')[-1]}"]
    assert target["tags"]["release"][0] == f"{namespace}/edge_cpu:1.0.0"
    rendered = run_cli(capsys, "render", "--matrix", str(tmp_path / "matrix.toml"))
    assert rendered.code == 0, rendered.err
    assert f'"{namespace}/edge_cpu' in (tmp_path / "docker-bake.hcl").read_text()


def test_docker_hub_spellings_of_one_tag_collide(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from tests.support.cli import MINIMAL_MATRIX

    text = MINIMAL_MATRIX.replace('dind_tags = ["acme/edge_dind:{machine}-{tag}"]',
                                  'dind_tags = ["docker.io/acme/edge:{machine}-{tag}-d"]')
    text = text.replace('legacy_tags = ["acme/edge:{machine}-{tag}"]',
                        'legacy_tags = ["acme/edge:{machine}-{tag}-d"]')
    (tmp_path / "matrix.toml").write_text(text)
    result = run_cli(capsys, "plan", "--matrix", str(tmp_path / "matrix.toml"), "--sha", "0" * 40)
    assert result.code == 2
    assert "is claimed by two targets" in result.err


def test_the_gpu_image_states_the_driver_and_compute_capability_it_needs() -> None:
    """A device owner reads from the labels whether their GPU and driver can run the image
    (the cu128 torch wheels dropped Pascal and Volta)."""
    plan = load_plan(ROOT / "matrix.toml", use_git=False, env={}).plan
    prefix = "ai.ratio1.edge-node"
    for target in plan.targets:
        labels = target.labels
        if target.accelerator == "cuda":
            assert labels[f"{prefix}.nvidia.driver.min"] == "570.26", target.id
            assert labels[f"{prefix}.cuda.compute-capability.min"] == "7.5", target.id
        else:
            assert not [k for k in labels if k.endswith((".driver.min", "-capability.min"))]


def test_an_unpinned_base_names_the_lock_option_that_pins_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # the shipped base is not pinned by digest yet (docs/packages.md, "The shipped locks")
    result = run_cli(capsys, "plan", "--matrix", str(ROOT / "matrix.toml"), "--sha", SHA,
                     "--target", "cpu")
    assert result.code == 0, result.err
    hint = re.search(r"not pinned by digest \((bakery lock [^)]*)\)", result.out)
    assert hint is not None, result.out
    assert hint.group(1) == "bakery lock --base-only"
    assert "--base-only" in run_cli(capsys, "lock", "--help").out
