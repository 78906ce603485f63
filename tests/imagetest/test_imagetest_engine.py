"""images/test_image.sh and `bakery test` on a real engine, against stand-in images
(tests/engine/standin.py): arch detection, version assertions passing and failing, nested
Docker through the embedded dockerd (EE_DD=true, DIND_RUN_FLAGS) and the host socket,
SKIP_NESTED, and GPU checks skipped with their reason."""

from __future__ import annotations

import os
import platform
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from bakery.verify.compare import codec_promise
from tests.engine.standin import (
    DEBIAN_DOCKER,
    GPU_PACKAGES,
    MATCHING_PACKAGES,
    MATCHING_TOOLS,
    StandIn,
    build_standin,
)
from tests.imagetest.matrix import ARM_TARGET, CPU_TARGET, SCRIPT, write_project
from tests.support.engine import NestedImage
from tests.verify.matrix import ARM, GPU, MULTI_MATRIX, write_results

pytestmark = [
    pytest.mark.engine,
    pytest.mark.skipif(platform.machine() != "x86_64", reason="the scenarios assume amd64"),
]

WRONG_TORCH = "FAIL torch: expected 2.9.1+cpu, found 2.9.0+cpu"
NO_GPU = "nvidia-smi is not on this host's PATH (no NVIDIA driver)"


@pytest.fixture(scope="module")
def good() -> str:
    return build_standin(StandIn())


@pytest.fixture(scope="module")
def wrong() -> str:
    return build_standin(StandIn(packages={**MATCHING_PACKAGES, "torch": "2.9.0+cpu"}))


@pytest.fixture
def binfmt(tmp_path: Path) -> Path:
    """An empty binfmt_misc stand-in: no qemu handler, whatever the CI host has registered."""
    path = tmp_path / "binfmt_misc"
    path.mkdir()
    return path


def run(argv: list[str], env: Mapping[str, str], cwd: Path | None = None
        ) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("EXPECT_", "NESTED_", "SKIP_NESTED", "DIND_RUN_FLAGS"))}
    return subprocess.run(argv, env={**clean, **env}, cwd=cwd, capture_output=True, text=True,
                          timeout=600, check=False)


def script(image: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run(["sh", str(SCRIPT), image, *args], env)


def bakery(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "bakery", "test", *args], env, cwd=project)


def lines(done: subprocess.CompletedProcess[str], prefix: str) -> list[str]:
    return [line for line in done.stdout.splitlines() if line.startswith(prefix)]


def test_script_passes_a_matching_image_and_reports_its_skips(good: str, binfmt: Path) -> None:
    done = script(good, SKIP_NESTED="1", BINFMT_DIR=str(binfmt), EXPECT_PLATFORM="linux/amd64",
                  EXPECT_PYTHON="3.11.2", EXPECT_TORCH="2.9.1+cpu", EXPECT_ARCH="x86_64",
                  EXPECT_PACKAGES="bitsandbytes=0.48.2 tensorrt-cu12-bindings=absent")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout.splitlines()
    assert "host: uname -m x86_64, docker engine architecture x86_64 (linux/amd64)" in out
    assert "platform: linux/amd64 matches the host" in out
    for line in ("PASS python 3.11.2", "PASS arch x86_64", "PASS torch 2.9.1+cpu",
                 "PASS bitsandbytes 0.48.2", "PASS tensorrt-cu12-bindings absent",
                 "PASS uv pip check", "PASS every import",
                 "SKIP ffmpeg: EXPECT_FFMPEG is not set",
                 "SKIP torchvision: EXPECT_TORCHVISION is not set",
                 "SKIP nested docker: SKIP_NESTED=1"):
        assert line in out, done.stdout
    gpu = lines(done, "SKIP gpu ")
    assert [line.split(":")[0] for line in gpu] == ["SKIP gpu nvidia-smi", "SKIP gpu checks"]
    if shutil.which("nvidia-smi") is None:
        assert gpu[0] == f"SKIP gpu nvidia-smi: {NO_GPU}"
    assert lines(done, "FAIL") == []
    assert out[-1].startswith(f"SUMMARY {good}: ") and out[-1].endswith(" 7 passed, 0 failed, 18 skipped")


def test_script_fails_a_wrong_torch_with_the_exact_line(wrong: str) -> None:
    done = script(wrong, SKIP_NESTED="1", EXPECT_TORCH="2.9.1+cpu", EXPECT_PYTHON="3.11.2")
    assert done.returncode == 1
    assert lines(done, "FAIL") == [WRONG_TORCH]
    assert done.stdout.splitlines()[-1].endswith(": 3 passed, 1 failed, 19 skipped")


def test_script_runs_a_nested_container_in_the_embedded_dockerd(
    good: str, nested_image: NestedImage, dind_run_flags: list[str]
) -> None:
    done = script(good, EXPECT_ACCELERATOR="cpu", NESTED_IMAGE_TAR=str(nested_image.tar),
                  DIND_RUN_FLAGS=shlex.join(dind_run_flags))
    assert done.returncode == 0, done.stdout + done.stderr
    assert (f"PASS nested docker via embedded (the image from {nested_image.tar} ran inside)"
            in done.stdout.splitlines())
    assert lines(done, "SKIP gpu nvidia-smi") == [
        "SKIP gpu nvidia-smi: a cpu image (EXPECT_ACCELERATOR=cpu)"]


def test_script_refuses_an_arm64_image_without_a_qemu_handler(good: str, binfmt: Path) -> None:
    done = script(good, EXPECT_PLATFORM="linux/arm64", BINFMT_DIR=str(binfmt))
    assert done.returncode == 0
    assert lines(done, "SKIP") == [
        f"SKIP image: linux/arm64 does not match the linux/amd64 host and no qemu binfmt"
        f" handler is registered ({binfmt}/qemu-aarch64); run it on a arm64 host or register"
        " qemu-user-static"]
    assert lines(done, "PASS") == []


def test_script_rejects_an_unknown_setting_in_an_expect_file(good: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.env"
    bad.write_text("EXPECT_TORCH=2.9.1+cpu\nPATH=/nowhere\n")
    done = script(good, "--expect-file", str(bad))
    assert done.returncode == 2
    assert f"{bad}:2: unknown setting 'PATH'" in done.stderr


def test_bakery_test_runs_the_host_targets_and_skips_arm64(
    project: Path, good: str, binfmt: Path, nested_image: NestedImage,
    dind_run_flags: list[str],
) -> None:
    write_results(project / ".bakery" / "results.json",
                  {CPU_TARGET: (good, "sha256:" + "0" * 64),
                   ARM_TARGET: (good, "sha256:" + "1" * 64)}, output="load")
    done = bakery(project, BINFMT_DIR=str(binfmt), NESTED_IMAGE_TAR=str(nested_image.tar),
                  DIND_RUN_FLAGS=shlex.join(dind_run_flags), EXPECT_TORCH="stale-ignored")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout.splitlines()
    assert out[0] == "bakery test: host engine architecture x86_64 (linux/amd64)"
    assert (f"SKIP target {ARM_TARGET}: linux/arm64 does not match the linux/amd64 host and no"
            f" qemu binfmt handler is registered ({binfmt}/qemu-aarch64); run it on a arm64"
            " host") in out
    assert f"== {CPU_TARGET}: images/test_image.sh {good}" in out
    for line in ("PASS torch 2.9.1+cpu", "PASS docker 20.10.24+dfsg1", "PASS torch cuda none",
                 "PASS tensorrt-cu12-bindings absent", "PASS uv pip check",
                 "PASS import bitsandbytes", "PASS torch op", "PASS python headers",
                 "PASS ffmpeg encoder libx264", "PASS EE_DD default false",
                 f"PASS nested docker via embedded (the image from {nested_image.tar} ran"
                 " inside)",
                 "SKIP gpu nvidia-smi: a cpu image (EXPECT_ACCELERATOR=cpu)"):
        assert line in out, done.stdout
    assert lines(done, "FAIL") == []
    assert out[-1] == "bakery test: 1 passed, 0 failed, 1 skipped (platform)"


def test_bakery_test_fails_a_wrong_image_and_honours_skip_nested(
    project: Path, wrong: str
) -> None:
    done = bakery(project, "--target", CPU_TARGET, "--image", wrong, "--skip-nested")
    assert done.returncode == 1
    assert lines(done, "FAIL") == [WRONG_TORCH]
    assert "SKIP nested docker: SKIP_NESTED=1" in done.stdout.splitlines()
    assert done.stderr.strip().endswith(
        f"bakery: error: test: 1 of 1 target(s) failed: {CPU_TARGET}")


def test_bakery_test_nested_through_the_host_socket(
    project: Path, good: str, nested_image: NestedImage
) -> None:
    done = bakery(project, "--target", CPU_TARGET, "--image", good, "--nested-via", "socket",
                  NESTED_IMAGE_TAR=str(nested_image.tar))
    assert done.returncode == 0, done.stdout + done.stderr
    assert (f"PASS nested docker via socket (the image from {nested_image.tar} ran inside)"
            in done.stdout.splitlines())


def test_the_expect_file_from_print_env_drives_the_script(
    project: Path, wrong: str, tmp_path: Path
) -> None:
    printed = bakery(project, "--target", CPU_TARGET, "--print-env")
    assert printed.returncode == 0, printed.stderr
    expect = tmp_path / "expect.env"
    expect.write_text(printed.stdout)
    done = script(wrong, "--expect-file", str(expect), SKIP_NESTED="1")
    assert done.returncode == 1
    assert lines(done, "FAIL") == [WRONG_TORCH]


# ------------------------------------------------- behaviour behind the metadata (local images)

BROKEN = {
    "tensorrt does not import": (
        GPU, StandIn(packages=GPU_PACKAGES, torch_cuda="12.8", broken_modules=("tensorrt",)),
        ["FAIL import tensorrt: expected ok, found failed: ModuleNotFoundError:"
         " No module named 'tensorrt'",
         "FAIL every import: expected ok, found import tensorrt: ModuleNotFoundError:"
         " No module named 'tensorrt'"]),
    "a codec of the profile is missing": (
        CPU_TARGET,
        StandIn(codecs=tuple(c for c in codec_promise("full") if c != "encoder libx265")),
        ["FAIL ffmpeg encoder libx265: expected present, found absent"]),
    "no Python headers": (CPU_TARGET, StandIn(python_headers=False),
                          ["FAIL python headers: expected ok, found absent"]),
    "the wrong EE_DD default": (CPU_TARGET, StandIn(ee_dd_default="true"),
                                ["FAIL EE_DD default: expected false, found true"]),
}


@pytest.fixture
def multi_project(tmp_path: Path) -> Path:
    """A project whose matrix has a CUDA target with tensorrt on (tests/verify/matrix.py)."""
    project = write_project(tmp_path / "multi")
    (project / "matrix.toml").write_text(MULTI_MATRIX)
    return project


@pytest.mark.parametrize("case", BROKEN, ids=list(BROKEN))
def test_bakery_test_fails_what_the_metadata_hides(multi_project: Path, case: str) -> None:
    target, spec, failures = BROKEN[case]
    done = bakery(multi_project, "--target", target, "--image", build_standin(spec),
                  "--skip-nested")
    assert done.returncode == 1, done.stdout + done.stderr
    assert lines(done, "FAIL") == failures


def test_bakery_test_passes_a_correct_gpu_standin_and_require_gpu_fails_without_one(
    multi_project: Path,
) -> None:
    image = build_standin(StandIn(packages=GPU_PACKAGES, torch_cuda="12.8"))
    done = bakery(multi_project, "--target", GPU, "--image", image, "--skip-nested")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS import tensorrt" in done.stdout.splitlines()
    if shutil.which("nvidia-smi") is None:  # no GPU here: required, the check fails
        required = bakery(multi_project, "--target", GPU, "--image", image, "--skip-nested",
                          "--require-gpu")
        assert required.returncode == 1, required.stdout
        assert lines(required, "FAIL") == [
            f"FAIL gpu: expected a GPU check that runs (REQUIRE_GPU=1), found {NO_GPU}"]


def test_script_runs_an_arm64_image_emulated_as_a_cortex_a72(arm64_emulation: None) -> None:
    image = build_standin(StandIn(
        arch="arm64",
        packages={"torch": "2.9.1", "torchvision": "0.24.1", "torchaudio": "2.9.1",
                  "transformers": "4.57.1", "tokenizers": "0.22.1"},
        tools={**MATCHING_TOOLS, "docker": DEBIAN_DOCKER, "dockerd": DEBIAN_DOCKER}))
    done = script(image, SKIP_NESTED="1", EXPECT_PLATFORM="linux/arm64", EXPECT_ARCH="aarch64",
                  EXPECT_TORCH="2.9.1", EXPECT_TORCH_OP="ok", EXPECT_IMPORTS="torch",
                  EXPECT_ACCELERATOR="cpu")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout.splitlines()
    assert "platform: emulating a Cortex-A72 (Raspberry Pi 4): QEMU_CPU=cortex-a72" in out
    for line in ("PASS arch aarch64", "PASS torch 2.9.1", "PASS import torch", "PASS torch op"):
        assert line in out, done.stdout


# ------------------------------------------------- the Raspberry Pi gate: a real LSE atomic

SIGILL = ("FAIL every import: expected ok, found import fastatomics: killed by SIGILL (illegal"
          " instruction on cortex-a72)")


@pytest.fixture(scope="module")
def lse_image() -> str:
    """arm64: a package whose library's constructor executes `ldaddal` (ARMv8.1)."""
    return build_standin(StandIn(
        arch="arm64", packages={"torch": "2.9.1", "torchvision": "0.24.1",
                                "torchaudio": "2.9.1", "transformers": "4.57.1",
                                "tokenizers": "0.22.1"},
        tools={**MATCHING_TOOLS, "docker": DEBIAN_DOCKER, "dockerd": DEBIAN_DOCKER},
        lse_packages={"fastatomics": "1.0"}))


def test_script_refuses_a_package_killed_by_sigill_naming_it(
    lse_image: str, arm64_emulation: None
) -> None:
    done = script(lse_image, SKIP_NESTED="1", EXPECT_PLATFORM="linux/arm64",
                  EXPECT_ACCELERATOR="cpu", EXPECT_TORCH="2.9.1")
    assert done.returncode == 1, done.stdout + done.stderr
    assert lines(done, "FAIL") == [SIGILL]
    assert "PASS pi gate" in done.stdout.splitlines()  # on by default for an arm64 image
    assert "PASS torch 2.9.1" in done.stdout.splitlines()  # the rest of the report came back


def test_script_on_an_arm64_engine_runs_the_probe_under_the_hosts_qemu(
    lse_image: str, arm64_emulation: None
) -> None:
    """The native branch, the engine's architecture simulated: no QEMU_CPU, the image's
    python runs under the real qemu-aarch64-static -cpu cortex-a72 (binfmt's default CPU
    would let the import pass)."""
    qemu = shutil.which("qemu-aarch64-static")
    if qemu is None:
        pytest.skip("qemu-aarch64-static is not installed (apt-get install qemu-user-static)")
    done = script(lse_image, SKIP_NESTED="1", EXPECT_PLATFORM="linux/arm64",
                  EXPECT_ACCELERATOR="cpu", ENGINE_ARCH="aarch64")
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout.splitlines()
    assert (f"platform: linux/arm64 on an arm64 host: the probe's python runs under {qemu}"
            " -cpu cortex-a72 (Raspberry Pi 4)") in out
    assert lines(done, "FAIL") == [SIGILL]
    assert "PASS pi gate" in out
    missing = script(lse_image, SKIP_NESTED="1", EXPECT_PLATFORM="linux/arm64",
                     ENGINE_ARCH="aarch64", PI_GATE_QEMU="/nonexistent/qemu")
    assert missing.returncode == 1
    assert lines(missing, "FAIL") == [
        "FAIL pi gate: expected qemu-aarch64-static on this arm64 host (apt-get install"
        " qemu-user-static), found /nonexistent/qemu"]


def test_bakery_test_refuses_a_package_killed_by_sigill_naming_it(
    multi_project: Path, lse_image: str, arm64_emulation: None
) -> None:
    done = bakery(multi_project, "--target", ARM, "--image", lse_image, "--skip-nested")
    assert done.returncode == 1, done.stdout + done.stderr
    assert lines(done, "FAIL") == [SIGILL]
