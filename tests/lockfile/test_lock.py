"""`bakery lock` end to end: uv resolves against the wheel index on 127.0.0.1; the plan reads
the locks and refuses stale ones."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bakery.lockfile.requirements import LockedPackage, parse_lock
from tests.lockfile.conftest import Project, serving
from tests.support.cli import run_cli
from tests.support.repo import ROOT

KEYS = ["edge_amd-py312", "edge_amd-py313", "edge_arm-py312", "edge_arm-py313"]
GROUP_FILES = ["1-cuda.txt", "2-torch.txt", "3-rest.txt"]


def locked(project: Project, key: str) -> dict[str, LockedPackage]:
    """Every distribution of a target's lock: its group files together."""
    return parse_lock("".join((project.locks / key / f).read_text() for f in GROUP_FILES))


def lock(capsys: pytest.CaptureFixture[str], project: Project, *args: str):  # type: ignore[no-untyped-def]
    return run_cli(capsys, "lock", "--no-base", "--matrix", str(project.matrix), *args)


def plan_args(capsys: pytest.CaptureFixture[str], project: Project) -> dict[str, dict[str, str]]:
    result = run_cli(capsys, "plan", "--format", "json", "--matrix", str(project.matrix))
    assert result.code == 0, result.err
    return {t["id"]: t["args"] for t in json.loads(result.out)["targets"]}


def test_one_lock_per_image_and_python_resolved_for_its_own_platform(capsys, project):
    result = lock(capsys, project)
    assert result.code == 0, result.err

    manifest = json.loads((project.locks / "manifest.json").read_text())
    assert manifest["schema_version"] == 2
    assert sorted(manifest["targets"]) == KEYS
    for key in KEYS:
        entry = manifest["targets"][key]
        assert entry["dir"] == key
        assert [g["file"] for g in entry["groups"]] == [f"{key}/{f}" for f in GROUP_FILES]
        packages = locked(project, key)
        machine = "x86_64" if "amd" in key else "aarch64"
        py = "cp313" if key.endswith("313") else "cp312"
        assert entry["platform"] == f"{machine}-manylinux_2_39"
        assert entry["python"] == ("3.13.9" if py == "cp313" else "3.12.12")
        assert entry["indexes"] == [project.index.url]
        # the complete set, dependencies included, each from the index it was resolved on
        expected = {"torch", "torchvision", "torchaudio", "transformers", "tokenizers", "numpy"}
        if machine == "x86_64":
            # dependencies of torch on x86_64 only
            expected |= {"x86-helper", "nvidia-cublas-cu12", "triton"}
        assert set(packages) == expected, key
        assert entry["packages"] == len(expected)
        assert packages["torch"].version == "2.9.1"
        assert {p.index for p in packages.values()} == {project.index.url}
        # every hash is the sha256 of a file the index serves for that version
        served = {f"sha256:{__import__('hashlib').sha256(data).hexdigest()}"
                  for data in project.index.projects["torch"].values()}
        assert set(packages["torch"].hashes) <= served
    assert "edge_arm-py313" in result.out and "new" in result.out

    args = plan_args(capsys, project)
    assert args["edge_arm-py313"]["PACKAGES_LOCK"] == "locks/edge_arm-py313"
    assert args["edge_arm-py313-dind"]["PACKAGES_LOCK"] == "locks/edge_arm-py313"
    assert args["edge_amd-py312"]["PACKAGES_LOCK"] == "locks/edge_amd-py312"

    before = project.snapshot()
    again = lock(capsys, project)
    assert again.code == 0, again.err
    assert project.snapshot() == before  # deterministic: nothing moves without a reason
    assert "unchanged" in again.out


def test_each_lock_is_split_into_layers_by_how_often_they_change(capsys, project):
    """The CUDA runtime wheels, torch and its kin, everything else: each group a complete
    --require-hashes file of its own, in install order; an empty group says so."""
    assert lock(capsys, project).code == 0
    manifest = json.loads((project.locks / "manifest.json").read_text())

    amd = {f: parse_lock((project.locks / "edge_amd-py313" / f).read_text())
           for f in GROUP_FILES}
    assert set(amd["1-cuda.txt"]) == {"nvidia-cublas-cu12"}
    assert set(amd["2-torch.txt"]) == {"torch", "torchvision", "torchaudio", "triton"}
    assert set(amd["3-rest.txt"]) == {"transformers", "tokenizers", "numpy", "x86-helper"}
    groups = manifest["targets"]["edge_amd-py313"]["groups"]
    assert [(g["name"], g["packages"]) for g in groups] == [("cuda", 1), ("torch", 4),
                                                            ("rest", 4)]
    for group in groups:
        text = (project.locks / group["file"]).read_text()
        assert group["sha256"] == "sha256:" + __import__("hashlib").sha256(
            text.encode()).hexdigest()
        assert f"--index-url {project.index.url}" in text.splitlines()

    # arm64 has no CUDA wheel: its first layer is an empty file that says so
    arm = manifest["targets"]["edge_arm-py313"]["groups"]
    assert [g["packages"] for g in arm] == [0, 3, 3]
    empty = (project.locks / "edge_arm-py313" / "1-cuda.txt").read_text()
    assert parse_lock(empty) == {}
    assert "no package of this target is in this layer" in empty


def test_a_package_without_a_wheel_for_one_target_writes_nothing_and_names_it(capsys, project):
    assert lock(capsys, project).code == 0
    before = project.snapshot()
    project.write(amd_extra="on", arm_extra="on")  # x86-only has no aarch64 wheel

    result = lock(capsys, project)
    assert result.code == 1
    assert "could not resolve edge_arm-py313, edge_arm-py312; nothing was written" in result.err
    assert "x86-only" in result.out  # uv's reason, under the target it belongs to
    assert project.snapshot() == before


def test_upgrade_package_moves_only_that_package(capsys, project):
    assert lock(capsys, project).code == 0
    project.index.publish("numpy", "1.1")
    project.index.publish("tokenizers", "0.22.2")

    result = lock(capsys, project)  # a newer release alone never moves the lock
    assert result.code == 0, result.err
    assert locked(project, "edge_arm-py313")["numpy"].version == "1.0"

    before = project.snapshot()
    result = lock(capsys, project, "--upgrade-package", "numpy")
    assert result.code == 0, result.err
    after = project.snapshot()
    for key in KEYS:
        packages = locked(project, key)
        assert packages["numpy"].version == "1.1", key
        assert packages["tokenizers"].version == "0.22.1", key
        # numpy is in the last layer: the CUDA and torch layers' files keep every byte
        for group in ("1-cuda.txt", "2-torch.txt"):
            assert after[f"locks/{key}/{group}"] == before[f"locks/{key}/{group}"], key
        assert after[f"locks/{key}/3-rest.txt"] != before[f"locks/{key}/3-rest.txt"], key
    assert result.out.count("1.0 -> 1.1  [3-rest]") == len(KEYS)
    assert result.out.count("layers rewritten: 3-rest\n") == len(KEYS)
    assert "tokenizers" not in result.out


def test_json_names_every_change_per_target(capsys, project):
    assert lock(capsys, project).code == 0
    project.index.publish("numpy", "1.1")
    result = lock(capsys, project, "-P", "numpy", "--target", "arm", "--format", "json")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert doc["ok"] and doc["written"] and doc["changed"]
    # the image's alias: every python of the image
    assert [t["key"] for t in doc["targets"]] == ["edge_arm-py313", "edge_arm-py312"]
    for target in doc["targets"]:
        (change,) = target["changes"]
        assert change == {"package": "numpy", "old": "1.0", "new": "1.1",
                          "index": project.index.url, "layer": "3-rest.txt"}
        assert target["layers"] == ["3-rest.txt"]
    # the other targets keep their locks untouched
    amd = locked(project, "edge_amd-py313")
    assert amd["numpy"].version == "1.0"


def test_plan_refuses_a_lock_for_other_pins_or_edited_by_hand(capsys, project):
    assert lock(capsys, project).code == 0
    project.write(amd_extra="on")
    result = run_cli(capsys, "plan", "--matrix", str(project.matrix))
    assert result.code == 2
    assert "targets.edge_amd-py313: locked for other inputs" in result.err
    assert "run `bakery lock --target edge_amd-py313`" in result.err
    check = lock(capsys, project, "--check")
    assert check.code == 1 and "edge_amd-py312" in check.out

    assert lock(capsys, project).code == 0
    assert plan_args(capsys, project)["edge_amd-py313"]["PACKAGES_LOCK"]
    path = project.locks / "edge_arm-py312" / "3-rest.txt"
    path.write_text(path.read_text().replace("numpy==1.0", "numpy==1.1"))
    result = run_cli(capsys, "plan", "--matrix", str(project.matrix))
    assert result.code == 2
    assert "edge_arm-py312/3-rest.txt was changed after `bakery lock` wrote it" in result.err
    check = lock(capsys, project, "--check")
    assert check.code == 1 and "edge_arm-py312: " in check.out

    assert lock(capsys, project).code == 0  # bakery lock repairs it
    (project.locks / "edge_amd-py313" / "1-cuda.txt").unlink()
    result = run_cli(capsys, "plan", "--matrix", str(project.matrix))
    assert result.code == 2
    assert "edge_amd-py313/1-cuda.txt does not exist" in result.err


def test_a_target_without_a_lock_builds_unlocked_and_check_says_so(capsys, project):
    args = plan_args(capsys, project)
    assert args["edge_arm-py313"]["PACKAGES_LOCK"] == ""
    check = lock(capsys, project, "--check")
    assert check.code == 1
    assert "edge_arm-py313: missing" in check.out


def test_an_unreachable_index_keeps_the_committed_lock_and_is_named(capsys, project):
    assert lock(capsys, project).code == 0
    before = project.snapshot()
    url = project.index.url
    project.index.server.shutdown()
    project.index.server.server_close()
    result = lock(capsys, project)
    # the committed locks are still current: every target ends locked
    assert result.code == 0, result.err
    assert f"index {url}" in result.out and "is unavailable" in result.out
    assert "the committed lock is kept" in result.out
    assert project.snapshot() == before


def test_a_target_left_without_a_current_lock_exits_1_naming_it(
    capsys, project, dead_index_url
):
    assert lock(capsys, project).code == 0
    before = project.snapshot()
    project.write(pypi=dead_index_url)
    result = lock(capsys, project)
    assert result.code == 1, result.err
    assert f"index {dead_index_url} is unavailable" in result.out
    # the committed locks are for the old index: no target can be published until it answers
    assert result.err.count("bakery: error:") == 1
    for key in KEYS:
        assert f"{key} (`bakery lock --target {key}` once its index answers)" in result.err
    # the manifest and locks are byte for byte as before (the matrix inputs are now stale)
    assert project.snapshot() == before


INSTALL = ROOT / "images" / "shared" / "install-packages.sh"


def run_install(layer: str, group: Path, stage: Path, bin_dir: Path, cache: Path,
                ) -> subprocess.CompletedProcess[str]:
    """The image's install step for one layer (images/shared/install-packages.sh, as the
    Dockerfile's RUN calls it for a locked target) with the real uv, into `stage`."""
    return subprocess.run(
        ["sh", str(INSTALL), layer, str(group), str(stage)],
        capture_output=True, text=True, check=False, timeout=120,
        env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "UV_NO_CONFIG": "1",
             "PACKAGES_LOCK": "locks/edge_amd-py313", "UV_CACHE_DIR": str(cache),
             "UV_PYTHON": sys.executable},
    )


@pytest.fixture
def uv_for_the_target(tmp_path: Path) -> Path:
    """A bin directory whose `uv` is the real one, told to install for the locked target's
    python and platform (the image's interpreter is 3.13 on x86_64; this test runs on
    another python), and whose `python3` is the test's interpreter."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    uv = os.fspath(Path(sys.executable).parent / "uv")
    (bin_dir / "uv").write_text(
        "#!/bin/sh\n"
        'if [ "$1 $2" = "pip install" ]; then shift 2; exec ' + uv
        + ' pip install --python-version 3.13 --python-platform x86_64-manylinux_2_39 "$@"; fi\n'
        f'exec {uv} "$@"\n'
    )
    (bin_dir / "uv").chmod(0o755)
    (bin_dir / "python3").symlink_to(sys.executable)
    return bin_dir


def test_each_layer_installs_only_its_group_and_refuses_a_file_whose_hash_is_not_locked(
    capsys, project, tmp_path, uv_for_the_target
):
    """The image's install steps: each group into a stage of its own holding only what it
    adds under the interpreter's prefix; an index serving other bytes than those locked stops
    the layer that installs them, and only that one."""
    assert lock(capsys, project, "--target", "edge_amd-py313").code == 0
    folder = project.locks / "edge_amd-py313"
    # the shim's python3 is the base interpreter: its prefix is where the script installs
    prefix = Path(sys.base_prefix).resolve()
    where = Path("lib", f"python{sys.version_info[0]}.{sys.version_info[1]}", "site-packages")

    def staged(stage: Path) -> set[str]:
        return {p.name.split("-", 1)[0] for p in (stage / prefix.relative_to("/") / where)
                .glob("*.dist-info")}

    stages = {}
    for layer, group in zip(("cuda", "torch", "rest"), GROUP_FILES, strict=True):
        stage = tmp_path / f"stage-{layer}"
        done = run_install(layer, folder / group, stage, uv_for_the_target, tmp_path / "cache")
        assert done.returncode == 0, done.stderr
        stages[layer] = staged(stage)
        assert not (stage / prefix.relative_to("/") / ".lock").exists()
    assert stages == {
        "cuda": {"nvidia_cublas_cu12"},
        "torch": {"torch", "torchvision", "torchaudio", "triton"},
        "rest": {"transformers", "tokenizers", "numpy", "x86_helper"},
    }

    project.index.tamper("numpy", "1.0")
    fresh = tmp_path / "fresh-cache"  # nothing cached: the tampered file is downloaded
    bad = run_install("rest", folder / "3-rest.txt", tmp_path / "bad", uv_for_the_target, fresh)
    assert bad.returncode != 0
    assert "hash" in bad.stderr.lower() and "numpy" in bad.stderr
    assert staged(tmp_path / "bad") <= set()
    ok = run_install("cuda", folder / "1-cuda.txt", tmp_path / "ok", uv_for_the_target, fresh)
    assert ok.returncode == 0, ok.stderr


def test_an_empty_layer_installs_nothing(capsys, project, tmp_path, uv_for_the_target):
    assert lock(capsys, project, "--target", "edge_arm-py313").code == 0
    done = run_install("cuda", project.locks / "edge_arm-py313" / "1-cuda.txt",
                       tmp_path / "stage", uv_for_the_target, tmp_path / "cache")
    assert done.returncode == 0, done.stderr
    assert "layer cuda: no package of this target is in it" in done.stdout
    assert list((tmp_path / "stage").iterdir()) == []


GPU_MATRIX = """\
schema_version = 1
namespace = "acme"
base_image = "ubuntu:24.04"

[python]
primary = "3.13.9"
fallback = "3.12.12"

[indexes]
pypi = "{pypi}"
pytorch-cu128 = "{pytorch}"
nvidia = "{nvidia}"

[versions]
transformers = "4.57.1"
tokenizers = "0.22.1"

[features.tensorrt]
package = "tensorrt-cu12-bindings"
version = "10.13.3.9"
also = ["tensorrt-cu12", "tensorrt-cu12-libs"]
gpu_only = true
extra_index = "nvidia"
layers = {{ cuda = ["tensorrt-*-libs"] }}

[release]
rules = [{{ type = "sha" }}]

[images.edge_gpu]
arch = "amd64"
accelerator = "cuda"
aliases = ["gpu"]
torch = {{ index = "pytorch-cu128", torch = "2.9.1+cu128", torchvision = "0.24.1+cu128", torchaudio = "2.9.1+cu128" }}
features = {{ tensorrt = "on" }}
"""
TRT = "10.13.3.9"
X86 = "manylinux_2_28_x86_64"


@pytest.fixture
def gpu_indexes(project):  # type: ignore[no-untyped-def]
    """Stand-ins for PyTorch's CUDA index (torch +cu128 needing cuDNN) and NVIDIA's (TensorRT's
    bindings, its `tensorrt` package and its native libraries, needing the CUDA runtime)."""
    with serving() as pytorch, serving() as nvidia:
        for py in ("312", "313"):
            pytorch.publish("torch", "2.9.1+cu128", f"cp{py}-cp{py}-{X86}",
                            ("numpy>=1.0", "nvidia-cudnn-cu12==9.10.2.21"))
            nvidia.publish("tensorrt-cu12-bindings", TRT, f"cp{py}-none-{X86}")
        pytorch.publish("torchvision", "0.24.1+cu128", requires=("torch==2.9.1+cu128",))
        pytorch.publish("torchaudio", "2.9.1+cu128", requires=("torch==2.9.1+cu128",))
        pytorch.publish("nvidia-cudnn-cu12", "9.10.2.21", f"py3-none-{X86}")
        nvidia.publish("tensorrt-cu12", TRT, requires=(
            f"tensorrt-cu12-bindings=={TRT}", f"tensorrt-cu12-libs=={TRT}"))
        nvidia.publish("tensorrt-cu12-libs", TRT, f"py3-none-{X86}",
                       ("nvidia-cuda-runtime-cu12==12.8.90",))
        nvidia.publish("nvidia-cuda-runtime-cu12", "12.8.90", f"py3-none-{X86}")
        project.matrix.write_text(GPU_MATRIX.format(
            pypi=project.index.url, pytorch=pytorch.url, nvidia=nvidia.url))
        yield pytorch, nvidia


def test_a_gpu_target_locks_tensorrt_into_the_layers_of_the_grouping_rule(
    capsys, project, gpu_indexes
):
    _pytorch, nvidia = gpu_indexes
    result = lock(capsys, project, "--target", "edge_gpu-py313")
    assert result.code == 0, result.err
    folder = project.locks / "edge_gpu-py313"
    groups = {name: parse_lock((folder / name).read_text()) for name in GROUP_FILES}
    # TensorRT's native libraries next to the CUDA runtime, its bindings with the rest
    assert {"tensorrt-cu12-libs", "nvidia-cuda-runtime-cu12", "nvidia-cudnn-cu12"} <= set(
        groups["1-cuda.txt"])
    assert set(groups["2-torch.txt"]) == {"torch", "torchvision", "torchaudio"}
    assert {"tensorrt-cu12-bindings", "tensorrt-cu12"} <= set(groups["3-rest.txt"])
    for name in ("tensorrt-cu12-libs", "tensorrt-cu12-bindings", "tensorrt-cu12"):
        package = next(g[name] for g in groups.values() if name in g)
        assert package.version == TRT and package.hashes, name
        assert package.index.rstrip("/") == nvidia.url.rstrip("/"), name
    # each group file names the NVIDIA index only when one of its packages comes from it
    assert f"--extra-index-url {nvidia.url}" in (folder / "1-cuda.txt").read_text()
    assert nvidia.url not in (folder / "2-torch.txt").read_text()


def test_a_feature_package_that_is_only_a_source_distribution_is_refused(
    capsys, project, gpu_indexes
):
    _pytorch, nvidia = gpu_indexes
    with nvidia.lock:
        del nvidia.projects["tensorrt-cu12"]
    nvidia.publish_file("tensorrt-cu12", f"tensorrt_cu12-{TRT}.tar.gz", b"not built here")
    result = lock(capsys, project, "--target", "edge_gpu-py313")
    assert result.code == 1
    assert "could not resolve edge_gpu-py313; nothing was written" in result.err
    assert "tensorrt-cu12" in result.out
    assert "building from source is disabled" in result.out
    assert "no source distribution is ever built at image build time" in result.out
    assert not (project.locks / "edge_gpu-py313").exists()


def test_target_naming_an_image_locks_every_python_of_it(tmp_path):
    """`lock --target <image>` (or its alias) takes the fallback python too: each python has
    its own lock. Other names select as in `bakery plan`."""
    from bakery.lockfile.targets import chosen
    from bakery.project import load_plan
    from tests.support.cli import MINIMAL_MATRIX

    (tmp_path / "matrix.toml").write_text(MINIMAL_MATRIX)
    plan = load_plan(tmp_path / "matrix.toml", mode="unlocked").plan
    every_python = ["edge_cpu-py313", "edge_cpu-py313-dind", "edge_cpu-py312"]
    assert [t.id for t in chosen(plan, ["edge_cpu"])] == every_python
    assert [t.id for t in chosen(plan, ["cpu"])] == every_python  # its alias
    assert [t.id for t in chosen(plan, ["edge_cpu-py313"])] == ["edge_cpu-py313"]
    assert [t.id for t in chosen(plan, ["default"])] == ["edge_cpu-py313", "edge_gpu-py313"]
    assert len(chosen(plan, None)) == len(plan.targets)


def test_progress_on_a_terminal_names_each_index_and_target(capsys, project, monkeypatch):
    import re

    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich: standard error is a terminal
    monkeypatch.setenv("TERM", "xterm")
    result = lock(capsys, project, "--dry-run", "--target", KEYS[0])
    assert result.code == 0, result.err
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", result.err).replace("\r", "\n")
    # the index probe, then the target resolved by uv, each with its seconds
    assert re.search(rf"^  {re.escape(project.index.url.rstrip('/'))}/ +1/1  \d+\.\ds  done$", shown,
                     re.MULTILINE), shown
    assert re.search(rf"^  {KEYS[0]} +1/1  \d+\.\ds  done$", shown, re.MULTILINE), shown
