"""The Raspberry Pi gate on a real engine, against an arm64 stand-in holding a package whose
import executes a real LSE atomic (`ldaddal`, from a library compiled for ARMv8.1): it imports
on qemu's default CPU, and under the gate it is killed by SIGILL and named.

Emulated through binfmt (this amd64 host), and through the explicit `qemu-aarch64-static -cpu
cortex-a72` path that an arm64 engine takes: the engine architecture is simulated (`host_arch`),
the host's static qemu is the real one, and it runs the image's arm64 python here too."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bakery.docker.client import make_client
from bakery.matrix import parse_matrix
from bakery.plan import expand
from bakery.tags.git import GitContext
from bakery.verify.gate import HOST_QEMU
from bakery.verify.run import probe_source, verify_target
from tests.engine.images import docker
from tests.engine.standin import DEBIAN_DOCKER, MATCHING_TOOLS, StandIn, build_standin
from tests.verify.matrix import ARM, MULTI_MATRIX, write_matrix

pytestmark = pytest.mark.engine

ARM_PACKAGES = {"torch": "2.9.1", "torchvision": "0.24.1", "torchaudio": "2.9.1",
                "transformers": "4.57.1", "tokenizers": "0.22.1"}
ARM_TOOLS = {**MATCHING_TOOLS, "docker": DEBIAN_DOCKER, "dockerd": DEBIAN_DOCKER}
SIGILL = "import fastatomics: killed by SIGILL (illegal instruction on cortex-a72)"


@pytest.fixture(scope="module")
def lse_image() -> str:
    return build_standin(StandIn(arch="arm64", packages=ARM_PACKAGES, tools=ARM_TOOLS,
                                 lse_packages={"fastatomics": "1.0"}))


@pytest.fixture(scope="module")
def good_image() -> str:
    return build_standin(StandIn(arch="arm64", packages=ARM_PACKAGES, tools=ARM_TOOLS))


def host_qemu() -> str:
    found = shutil.which(HOST_QEMU)
    if found is None:
        pytest.skip(f"{HOST_QEMU} is not installed (apt-get install qemu-user-static)")
    return found


def test_the_package_imports_on_a_cpu_with_lse_atomics(
    lse_image: str, arm64_emulation: None
) -> None:
    """qemu's default CPU has LSE atomics, as a native arm64 runner has: the import works
    there, so only the gate can catch it."""
    done = docker("run", "--rm", "--entrypoint", "python3",
                  lse_image, "-c", "import fastatomics; print(fastatomics._lib.lse_counter())",
                  check=False, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"  # the constructor's ldaddal ran


def test_verify_refuses_it_naming_the_module_and_sigill(
    tmp_path: Path, lse_image: str, arm64_emulation: None
) -> None:
    write_matrix(tmp_path, MULTI_MATRIX)
    done = subprocess.run([sys.executable, "-m", "bakery", "verify", "--target", ARM, "--image",
                           lse_image, "--format", "json"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=900, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    (entry,) = json.loads(done.stdout)["targets"]
    failed = {c["name"]: c["found"] for c in entry["checks"] if not c["ok"]}
    assert failed == {"every import": SIGILL}
    assert entry["probe"]["imports"]["torch"] is None  # the other imports still came back


def verify_on_arm64_host(image: str) -> tuple[str, dict[str, str | None], dict[str, object]]:
    """verify_target as on an arm64 engine (simulated), with the host's real static qemu:
    (status, failed checks, probe report)."""
    matrix = parse_matrix(MULTI_MATRIX, source="matrix.toml")
    target = expand(matrix, git=GitContext(), source="matrix.toml").target(ARM)
    client = make_client([shutil.which("docker") or "docker"])
    verdict = verify_target(client, target, matrix, image, None, probe_source(),
                            host_arch="aarch64", qemu=host_qemu())
    failed = {c.name: c.found for c in verdict.checks if not c.ok}
    return verdict.status, failed, verdict.probe


def test_on_an_arm64_host_the_probe_runs_under_the_explicit_qemu(
    lse_image: str, good_image: str, arm64_emulation: None
) -> None:
    """No QEMU_CPU in this branch: binfmt's qemu alone would emulate its default CPU (LSE
    atomics, the import works). The SIGILL proves the probe and its children ran under the
    mounted `qemu-aarch64-static -cpu cortex-a72`."""
    status, failed, report = verify_on_arm64_host(lse_image)
    assert (status, failed) == ("failed", {"every import": SIGILL})
    assert report["emulated_cpu"] == "cortex-a72" and report["lse_atomics"] is False
    status, failed, report = verify_on_arm64_host(good_image)
    assert (status, failed) == ("passed", {}), failed
    assert report["lse_atomics"] is False  # the gate was in force
