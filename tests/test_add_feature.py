"""A feature flag is data: adding a GPU-only flag to a copy of the shipped matrix is a
matrix.toml edit plus `bakery render` (and `bakery lock` where the layer rule moves), and the
plan, the bake file, the lock's layer groups, the one install path and verify's and `bakery
test`'s expectations all follow, with no other file edited by hand."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from bakery.imagetest.expect import expectation_env
from bakery.lockfile.groups import split
from bakery.lockfile.spec import lock_spec
from bakery.plan.target import Target
from bakery.project import LoadedPlan, load_plan
from bakery.verify.compare import expectations, feature_modules, feature_packages
from bakery.verify.run import gpu_wanted
from tests.bakehcl import resolve
from tests.support.cli import run_cli
from tests.support.repo import ROOT

# what a project holds next to matrix.toml that bakery reads or writes
COPIED = ("matrix.toml", "matrix.lock.json", "docker-bake.hcl.j2", "docker-bake.hcl", "locks")
GPU = "base_edge_node_amd64_gpu"
FEATURE = """
[features.fastkernels]
package = "fastkernels"
version = "1.2.3"
also = ["fastkernels-cu12-libs"]
gpu_only = true
extra_index = "nvidia"
module = "fast_kernels"
description = "a GPU-only flag added by a test"
{layers}
"""
PINS = ["fastkernels==1.2.3", "fastkernels-cu12-libs==1.2.3"]
GPU_FLAGS = 'features = { flash-attn = "off", bitsandbytes = "on", tensorrt = "on" }'
# what uv writes for the GPU target with the flag on (abridged): the pins, their hashes, where
# each file comes from
UV_LOCK = """\
--index-url https://pypi.org/simple
--extra-index-url https://download.pytorch.org/whl/cu128
--extra-index-url https://pypi.nvidia.com

fastkernels==1.2.3 \\
    --hash=sha256:{a}
    # from https://pypi.org/simple
fastkernels-cu12-libs==1.2.3 \\
    --hash=sha256:{b}
    # from https://pypi.nvidia.com
nvidia-cudnn-cu12==9.10.2.21 \\
    --hash=sha256:{c}
    # from https://download.pytorch.org/whl/cu128
torch==2.9.1+cu128 \\
    --hash=sha256:{d}
    # from https://download.pytorch.org/whl/cu128
""".format(a="a" * 64, b="b" * 64, c="c" * 64, d="d" * 64)


def copy_project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, project / name)
        else:
            shutil.copy2(source, project / name)
    return project


def add_flag(project: Path, layers: str = "") -> None:
    """The one hand edit: the feature's table, and the GPU image switching it on."""
    path = project / "matrix.toml"
    text = path.read_text()
    assert "[stages.edge-node-base]" in text and GPU_FLAGS in text
    text = text.replace("[stages.edge-node-base]",
                        FEATURE.format(layers=layers) + "\n[stages.edge-node-base]", 1)
    text = text.replace(GPU_FLAGS, GPU_FLAGS[:-2] + ', fastkernels = "on" }', 1)
    path.write_text(text)


def untouched(project: Path) -> list[str]:
    """The copied files other than matrix.toml and the rendered bake file that differ from
    the repository's (none may: nothing else is edited)."""
    changed = []
    for path in sorted(project.rglob("*")):
        name = str(path.relative_to(project))
        if (path.is_file() and name not in ("matrix.toml", "docker-bake.hcl")
                and path.read_bytes() != (ROOT / name).read_bytes()):
            changed.append(name)
    return changed


def targets_of(loaded: LoadedPlan, image: str) -> list[Target]:
    found = [t for t in loaded.plan.targets if t.image == image]
    assert found, image
    return found


def stage_of(bake: dict[str, dict[str, Any]], target_id: str) -> dict[str, Any]:
    context = bake[target_id]["contexts"]["edge-node-base"]
    return bake[context.removeprefix("target:")]


def test_a_gpu_only_flag_is_a_matrix_edit_and_a_render(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], allow_subprocess: None
) -> None:
    project = copy_project(tmp_path)
    before = load_plan(project / "matrix.toml", use_git=False, env={})
    add_flag(project)
    matrix_path = str(project / "matrix.toml")

    # the plan: the GPU targets have the flag on and its pins in FEATURE_PACKAGES (with its
    # index), the CPU targets have it off and their args unchanged
    loaded = load_plan(project / "matrix.toml", use_git=False, env={})
    old = {t.id: t for t in before.plan.targets}
    for target in loaded.plan.targets:
        flag = target.flags["fastkernels"]
        if target.image == GPU:
            assert flag.enabled and flag.setting == "on"
            pins = target.args["FEATURE_PACKAGES"].split()
            assert [p for p in pins if p.startswith("fastkernels")] == PINS
            # the other features' pins kept, in their order (features by name)
            assert [p for p in pins if p not in PINS] == old[
                target.id].args["FEATURE_PACKAGES"].split()
            assert pins.index(PINS[0]) > pins.index("bitsandbytes==0.48.2")
            assert target.args["FEATURE_INDEX_URLS"] == "https://pypi.nvidia.com"
            assert {k: v for k, v in target.args.items() if k != "FEATURE_PACKAGES"} == {
                k: v for k, v in old[target.id].args.items() if k != "FEATURE_PACKAGES"}
        else:
            assert not flag.enabled and flag.reason == "GPU-only; this is a cpu image"
            assert target.args == old[target.id].args
    shown = json.loads(run_cli(capsys, "plan", "--matrix", matrix_path, "--format", "json",
                               "--sha", "0" * 40).out)
    flags = {t["id"]: t["flags"]["fastkernels"]["enabled"] for t in shown["targets"]}
    assert flags == {t.id: t.image == GPU for t in loaded.plan.targets}

    # the bake file, written by `bakery render`: the GPU targets' shared stage gets the pins,
    # the CPU targets' stages are the very same bake targets as before
    committed = resolve((project / "docker-bake.hcl").read_text())
    assert run_cli(capsys, "render", "--matrix", matrix_path, "--check").code == 1
    assert run_cli(capsys, "render", "--matrix", matrix_path).code == 0
    assert run_cli(capsys, "render", "--matrix", matrix_path, "--check").code == 0
    rendered = resolve((project / "docker-bake.hcl").read_text())
    built = [t for t in loaded.plan.targets if "edge-node-base" in t.contexts]
    assert {t.image for t in built} == set(loaded.matrix.images)
    for target in built:
        new_stage, old_stage = stage_of(rendered, target.id), stage_of(committed, target.id)
        if target.image == GPU:
            assert new_stage["args"]["FEATURE_PACKAGES"] == target.args["FEATURE_PACKAGES"]
            assert {k: v for k, v in new_stage["args"].items() if k != "FEATURE_PACKAGES"} == {
                k: v for k, v in old_stage["args"].items() if k != "FEATURE_PACKAGES"}
        else:  # the same bake target as before: same id, same args
            assert (rendered[target.id]["contexts"] == committed[target.id]["contexts"]
                    and new_stage == old_stage)

    # the lock: its pins are requirements of the GPU locks, its packages go to the last layer
    # (it names no other), and the rule is unchanged, so the shipped locks stay fresh
    gpu = targets_of(loaded, GPU)[0]
    spec = lock_spec(loaded.matrix, gpu)
    assert [r for r in spec.requirements if r.startswith("fastkernels")] == PINS
    assert "https://pypi.nvidia.com" in spec.extra_index_urls
    files = split(UV_LOCK, spec.groups, key=spec.key, python="3.13.9", platform="x86_64")
    assert "fastkernels==1.2.3" in files["3-rest.txt"]
    assert "fastkernels-cu12-libs==1.2.3" in files["3-rest.txt"]
    assert "nvidia-cudnn-cu12" in files["1-cuda.txt"] and "torch==" in files["2-torch.txt"]
    checked = run_cli(capsys, "lock", "--matrix", matrix_path, "--check")
    assert "arm64" not in checked.err + checked.out  # locked, and still fresh
    assert all(t.args["PACKAGES_LOCK"] for t in loaded.plan.targets if t.arch == "arm64")

    # the one install path: install-packages.sh, for a target without a lock, gets its pins
    env, log = fake_uv(tmp_path)
    stage_args = stage_of(rendered, gpu.id)["args"]
    done = run_install(env | {k: v for k, v in stage_args.items() if v is not None},
                       tmp_path / "stage")
    assert done.returncode == 0, done.stderr
    argv = log.read_text().splitlines()
    features = stage_args["FEATURE_PACKAGES"].split()
    assert argv[-len(features):] == features and set(PINS) <= set(features)
    urls = [argv[i + 1] for i, a in enumerate(argv) if a == "--extra-index-url"]
    assert urls == [stage_args["TORCH_INDEX_URL"], "https://pypi.nvidia.com"]

    # verify and `bakery test`: the package at its pin and its module (matrix.toml's
    # `module`) on the GPU targets, absent on the others; the probe is told about both
    assert "fastkernels" in feature_packages(loaded.matrix)
    for target in loaded.plan.targets:
        assert ("--import=fast_kernels" in feature_modules(target, loaded.matrix)) is (
            target.image == GPU)
        expect = expectations(target, loaded.matrix)
        env_vars = expectation_env(target, loaded.matrix)
        if target.image == GPU:
            assert expect["fastkernels"] == "1.2.3" and expect["import fast_kernels"] == "ok"
            assert "fastkernels=1.2.3" in env_vars["EXPECT_PACKAGES"].split()
            assert "fast_kernels" in env_vars["EXPECT_IMPORTS"].split()
            # no deep GPU check of its own: the generic ones above are its checks
            assert gpu_wanted(target, loaded.matrix) == ["tensorrt", "bitsandbytes"]
        else:
            assert expect["fastkernels"] == "absent" and "import fast_kernels" not in expect
            assert "fastkernels=absent" in env_vars["EXPECT_PACKAGES"].split()

    assert untouched(project) == []


def test_a_flag_sends_its_cuda_libraries_to_the_cuda_layer_and_every_lock_is_redone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`layers` puts a feature's CUDA libraries in the CUDA layer. The layer rule is part of
    every lock's fingerprint, so `bakery lock --check` then names every lock as stale, the
    shipped arm64 ones included: `bakery lock` re-splits them (no package moves there)."""
    project = copy_project(tmp_path)
    add_flag(project, layers='layers = { cuda = ["fastkernels-*-libs"] }')
    matrix_path = str(project / "matrix.toml")
    checked = run_cli(capsys, "lock", "--matrix", matrix_path, "--check")
    assert checked.code == 1
    assert ("base_edge_node_arm64_cpu-py313: locked for other inputs (python, platform,"
            " package pins, indexes or the layer rule changed since)") in checked.out
    # the lock groups, from the matrix alone (the plan of the GPU image needs no lock)
    shutil.rmtree(project / "locks")
    loaded = load_plan(project / "matrix.toml", use_git=False, env={})
    spec = lock_spec(loaded.matrix, targets_of(loaded, GPU)[0])
    files = split(UV_LOCK, spec.groups, key=spec.key, python="3.13.9", platform="x86_64")
    assert "fastkernels-cu12-libs==1.2.3" in files["1-cuda.txt"]
    assert "fastkernels-*-libs" in files["1-cuda.txt"].splitlines()[1]  # the header says so
    assert "fastkernels==1.2.3" in files["3-rest.txt"]
    # the index a group's packages come from is named in that group only
    assert "--extra-index-url https://pypi.nvidia.com" in files["1-cuda.txt"]
    assert "pypi.nvidia.com" not in files["2-torch.txt"]


def fake_uv(tmp_path: Path) -> tuple[dict[str, str], Path]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "uv.log"
    uv = bin_dir / "uv"
    uv.write_text('#!/bin/sh\nfor arg in "$@"; do printf "%s\\n" "$arg"; done >>"$UV_LOG"\n')
    uv.chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "UV_LOG": str(log), "HOME": str(tmp_path),
           "UV_CACHE_DIR": str(tmp_path / "cache")}
    return env, log


def run_install(env: dict[str, str], stage: Path) -> Any:
    import subprocess

    group = ROOT / "images" / "shared" / "unlocked" / "3-rest.txt"
    return subprocess.run(
        ["sh", str(ROOT / "images" / "shared" / "install-packages.sh"), "rest", str(group),
         str(stage)],
        env={**env, "PACKAGES_LOCK": ""}, capture_output=True, text=True, timeout=60,
        check=False)
