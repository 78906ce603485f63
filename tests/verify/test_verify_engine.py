"""`bakery verify` on a real engine: stand-in images pushed to a real registry on 127.0.0.1,
pulled back by digest and probed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bakery.verify.compare import codec_promise
from tests.engine.images import build_scratch_image, docker
from tests.engine.standin import (
    DEBIAN_DOCKER,
    GPU_PACKAGES,
    MATCHING_TOOLS,
    StandIn,
    build_standin,
)
from tests.support.registry import Registry
from tests.verify.matrix import ARM, GPU, MULTI_MATRIX, TARGET, write_matrix, write_results

pytestmark = pytest.mark.engine


def bakery(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bakery", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600, check=False)


@pytest.fixture(scope="module")
def pushed(registry: Registry) -> dict[str, tuple[str, str]]:
    """name -> (tag, digest) in the registry, for the three stand-ins."""
    images = {
        "good": StandIn(),
        "wrong-torch": StandIn(packages={
            "torch": "2.9.0+cpu", "torchvision": "0.24.1+cpu", "torchaudio": "2.9.1+cpu",
            "transformers": "4.57.1", "tokenizers": "0.22.1", "bitsandbytes": "0.48.2"}),
        "no-uv": StandIn(tools={k: v for k, v in MATCHING_TOOLS.items() if k != "uv"}),
    }
    return {name: registry.push(build_standin(spec), "acme/edge_cpu", name)
            for name, spec in images.items()}


def verify(tmp_path: Path, tag_digest: tuple[str, str], *extra: str) -> tuple[
        subprocess.CompletedProcess[str], Path]:
    write_matrix(tmp_path)
    results = write_results(tmp_path / ".bakery" / "results.json", {TARGET: tag_digest})
    return bakery("verify", *extra, cwd=tmp_path), results


def test_a_matching_image_passes_and_the_verdict_is_recorded(
    tmp_path: Path, pushed: dict[str, tuple[str, str]]
) -> None:
    done, results = verify(tmp_path, pushed["good"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{TARGET}: passed" in done.stdout
    record = json.loads(results.read_text())["targets"][0]["verify"]
    tag, digest = pushed["good"]
    assert record["ok"] is True and record["digest"] == digest
    assert record["image"] == f"{tag.rsplit(':', 1)[0]}@{digest}"  # pulled by digest
    assert record["mismatches"] == []
    assert record["probe"]["packages"]["torch"] == "2.9.1+cpu"
    assert record["probe"]["packages"]["tensorrt-cu12-bindings"] is None  # off: absent


def test_a_wrong_torch_is_the_one_mismatch(
    tmp_path: Path, pushed: dict[str, tuple[str, str]]
) -> None:
    done, results = verify(tmp_path, pushed["wrong-torch"], "--format", "json")
    assert done.returncode == 1
    doc = json.loads(done.stdout)
    failed = [c for c in doc["targets"][0]["checks"] if not c["ok"]]
    assert failed == [{"name": "torch", "expected": "2.9.1+cpu", "found": "2.9.0+cpu",
                       "ok": False}]
    record = json.loads(results.read_text())["targets"][0]["verify"]
    assert record["ok"] is False
    assert record["mismatches"] == [{"check": "torch", "expected": "2.9.1+cpu",
                                     "found": "2.9.0+cpu"}]


def test_an_image_without_uv_fails_uv_and_its_pip_check(
    tmp_path: Path, pushed: dict[str, tuple[str, str]]
) -> None:
    done, _ = verify(tmp_path, pushed["no-uv"])
    assert done.returncode == 1
    assert ("FAILED: uv expected 0.9.11, found nothing; uv pip check expected ok,"
            " found nothing") in done.stdout


def test_image_option_checks_one_target_without_recording(
    tmp_path: Path, pushed: dict[str, tuple[str, str]], registry: Registry
) -> None:
    write_matrix(tmp_path)
    tag, digest = pushed["wrong-torch"]
    done = bakery("verify", "--target", TARGET, "--image", f"{tag.rsplit(':', 1)[0]}@{digest}",
                  cwd=tmp_path)
    assert done.returncode == 1 and "torch expected 2.9.1+cpu, found 2.9.0+cpu" in done.stdout
    assert "not recorded" in done.stderr
    assert not (tmp_path / ".bakery").exists()


def test_an_image_that_cannot_be_pulled_is_an_error_naming_it(
    tmp_path: Path, registry: Registry
) -> None:
    missing = f"{registry.host}/acme/edge_cpu@sha256:{'0' * 64}"
    write_matrix(tmp_path)
    done = bakery("verify", "--target", TARGET, "--image", missing, cwd=tmp_path)
    assert done.returncode == 1
    assert f"{TARGET}: ERROR: cannot pull {missing}: " in done.stdout


def test_the_dind_variant_is_probed_without_starting_dockerd(
    tmp_path: Path, registry: Registry
) -> None:
    """EE_DD=true in the image: the probe must still run (its entrypoint is python3)."""
    tag, digest = registry.push(build_standin(StandIn(ee_dd_default="true")), "acme/edge_cpu",
                                "dind")
    write_matrix(tmp_path)
    write_results(tmp_path / ".bakery" / "results.json", {f"{TARGET}-dind": (tag, digest)})
    done = bakery("verify", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{TARGET}-dind: passed" in done.stdout


def test_an_image_without_python3_is_an_error_with_dockers_reason(tmp_path: Path) -> None:
    image = build_scratch_image("bakery-test-busybox")
    write_matrix(tmp_path)
    done = bakery("verify", "--target", TARGET, "--image", image, "--format", "json",
                  cwd=tmp_path)
    assert done.returncode == 1
    (entry,) = json.loads(done.stdout)["targets"]
    assert entry["status"] == "error"
    # the reason of docker (or of the init the probe runs under): no python3 to execute
    assert "python3" in entry["message"]
    assert "not found" in entry["message"] or "No such file" in entry["message"]
    assert docker("ps", "-a", "-q", "--filter", f"ancestor={image}").stdout.strip() == ""


# ------------------------------------------------- behaviour behind the metadata (local images)

BROKEN = {
    # present metadata, no module: the bindings alone give no `import tensorrt` (and the
    # import of every installed distribution's modules says so too)
    "tensorrt does not import": (
        GPU, StandIn(packages=GPU_PACKAGES, torch_cuda="12.8", broken_modules=("tensorrt",)),
        [("import tensorrt", "failed: ModuleNotFoundError: No module named 'tensorrt'"),
         ("every import", "import tensorrt: ModuleNotFoundError: No module named 'tensorrt'")]),
    "a codec of the profile is missing": (
        TARGET, StandIn(codecs=tuple(c for c in codec_promise("full") if c != "encoder libx265")),
        [("ffmpeg encoder libx265", None)]),
    "no Python headers": (TARGET, StandIn(python_headers=False), [("python headers", None)]),
    "the wrong EE_DD default": (TARGET, StandIn(ee_dd_default="true"),
                                [("EE_DD default", "true")]),
}


@pytest.mark.parametrize("case", BROKEN, ids=list(BROKEN))
def test_verify_fails_what_the_metadata_hides(tmp_path: Path, case: str) -> None:
    target, spec, failures = BROKEN[case]
    write_matrix(tmp_path, MULTI_MATRIX)
    done = bakery("verify", "--target", target, "--image", build_standin(spec), "--format",
                  "json", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    (entry,) = json.loads(done.stdout)["targets"]
    failed = [(c["name"], c["found"]) for c in entry["checks"] if not c["ok"]]
    assert failed == failures


def test_a_correct_gpu_standin_passes_with_tensorrt_importable(tmp_path: Path) -> None:
    spec = StandIn(packages=GPU_PACKAGES, torch_cuda="12.8")
    write_matrix(tmp_path, MULTI_MATRIX)
    done = bakery("verify", "--target", GPU, "--image", build_standin(spec), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


# ------------------------------------------------- the Raspberry Pi gate: arm64, emulated

ARM_PACKAGES = {"torch": "2.9.1", "torchvision": "0.24.1", "torchaudio": "2.9.1",
                "transformers": "4.57.1", "tokenizers": "0.22.1"}
ARM_TOOLS = {**MATCHING_TOOLS, "docker": DEBIAN_DOCKER, "dockerd": DEBIAN_DOCKER}


def test_an_arm64_image_is_verified_running_as_a_cortex_a72(
    tmp_path: Path, arm64_emulation: None,
) -> None:
    image = build_standin(StandIn(arch="arm64", packages=ARM_PACKAGES, tools=ARM_TOOLS))
    write_matrix(tmp_path, MULTI_MATRIX)
    done = bakery("verify", "--target", ARM, "--image", image, "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    (entry,) = json.loads(done.stdout)["targets"]
    assert entry["probe"]["arch"] == "aarch64"
    assert entry["probe"]["torch_op"] == "ok"  # import torch and the matmul ran emulated
    assert entry["probe"]["lse_atomics"] is False  # as a Pi 4's Cortex-A72, not qemu's `max`


def test_a_torch_for_newer_arm_cores_fails_the_pi_gate(
    tmp_path: Path, arm64_emulation: None,
) -> None:
    image = build_standin(StandIn(arch="arm64", packages=ARM_PACKAGES, tools=ARM_TOOLS,
                                  torch_needs_lse=True))
    # qemu's default CPU has LSE atomics: there the wheel would pass unnoticed ...
    plain = docker("run", "--rm", "--entrypoint", "python3", image, "-c", "import torch",
                   check=False, timeout=300)
    assert plain.returncode == 0, plain.stderr
    # ... verify runs it as the Pi's CPU, where it dies (SIGILL); the report still comes back
    write_matrix(tmp_path, MULTI_MATRIX)
    done = bakery("verify", "--target", ARM, "--image", image, "--format", "json", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    (entry,) = json.loads(done.stdout)["targets"]
    assert entry["status"] == "failed"
    failed = {c["name"]: c["found"] for c in entry["checks"] if not c["ok"]}
    sigill = "killed by SIGILL (illegal instruction on cortex-a72)"
    assert failed["import torch"] == f"failed: {sigill}"
    assert failed["every import"] == f"import torch: {sigill}"
    assert entry["probe"]["tools"]["uv"] == "0.9.11"  # the rest of the report came back
