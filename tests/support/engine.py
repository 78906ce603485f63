"""The pytest plugin for tests that run a real Docker engine (each of them is marked `engine`),
registered by tests/conftest.py: tests/engine, tests/imagetest and tests/verify use these
fixtures (`arm64_emulation` too).

* `dind_image`: a Debian bookworm image with Debian's docker.io (and its docker-init), python3,
  fuse-overlayfs, iptables and openssl, plus the project's own entrypoint.sh (its bytes,
  unchanged), started as the real images start (their ENTRYPOINT line: docker-init, then
  entrypoint.sh; no CMD), with the images' defaults EE_DD=false and DOCKER_TLS_CERTDIR=/certs.
  Built once, cached across runs.
* `nested_image`: a busybox-only image and its `docker save` tar, to `docker load` inside a DinD
  container (nothing can be pulled).
* `dind_run_flags`: what replaces `--privileged`: env DIND_RUN_FLAGS, else a set that works on
  hosts that refuse `--privileged` (docs/testing-images.md).
* `containers`: unique container names, removed (with their volumes) after the test.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.engine.images import (
    build_image,
    build_scratch_image,
    docker,
    prune_other_tags,
    save_image,
)
from tests.engine.standin import image_entrypoint, standin_rootfs
from tests.support.repo import ROOT

ENTRYPOINT = ROOT / "entrypoint.sh"

DEFAULT_DIND_RUN_FLAGS = (
    "--cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined "
    "--security-opt apparmor=unconfined --security-opt systempaths=unconfined "
    "--device /dev/fuse -v /sys/fs/cgroup:/sys/fs/cgroup:rw"
)
READY_TEXT = "dockerd ready"


@pytest.fixture(scope="session")
def dind_run_flags() -> list[str]:
    return shlex.split(os.environ.get("DIND_RUN_FLAGS") or DEFAULT_DIND_RUN_FLAGS)


@pytest.fixture(scope="session")
def dind_image() -> str:
    dockerfile = (
        f"FROM {standin_rootfs()}\n"
        "COPY entrypoint.sh /usr/local/bin/entrypoint.sh\n"
        "ENV EE_DD=false DOCKER_TLS_CERTDIR=/certs\n"
        f"{image_entrypoint()}\n"
    )
    ref = build_image("bakery-test-dind", dockerfile, {"entrypoint.sh": ENTRYPOINT})
    prune_other_tags(ref)  # one per edit of entrypoint.sh otherwise
    return ref


@dataclass(frozen=True)
class NestedImage:
    ref: str
    tar: Path


@pytest.fixture(scope="session")
def nested_image(tmp_path_factory: pytest.TempPathFactory) -> NestedImage:
    ref = build_scratch_image("bakery-test-busybox")
    tar = save_image(ref, tmp_path_factory.mktemp("nested") / "busybox.tar")
    return NestedImage(ref, tar)


@dataclass
class Containers:
    """Hands out unique container names and removes those containers afterwards."""

    prefix: str
    names: list[str] = field(default_factory=list)

    def name(self, purpose: str) -> str:
        name = f"{self.prefix}-{purpose}-{uuid.uuid4().hex[:8]}"
        self.names.append(name)
        return name

    def remove_all(self) -> None:
        if self.names:
            docker("rm", "-f", "-v", *self.names, check=False, timeout=120)


@pytest.fixture
def containers() -> Iterator[Containers]:
    made = Containers("bakery-test")
    yield made
    made.remove_all()


@pytest.fixture(scope="module")
def module_containers() -> Iterator[Containers]:
    made = Containers("bakery-test")
    yield made
    made.remove_all()


def wait_for_log(container: str, text: str, timeout: float) -> str:
    """Poll the container's logs (stdout + stderr) until `text` shows; return them.

    Fails the test with the logs when `timeout` seconds pass or the container stops first.
    """
    deadline = time.monotonic() + timeout
    while True:
        logs = docker("logs", container, check=False, timeout=30)
        combined = logs.stdout + logs.stderr
        if text in combined:
            return combined
        state = docker("inspect", "--format", "{{.State.Running}}", container, check=False)
        if state.stdout.strip() != "true":
            pytest.fail(f"{container} stopped before {text!r} showed:\n{combined}")
        if time.monotonic() > deadline:
            pytest.fail(f"{text!r} did not show in {container} within {timeout}s:\n{combined}")
        time.sleep(0.25)


BINFMT = Path("/proc/sys/fs/binfmt_misc")


def _aarch64_handler_enabled() -> bool:
    handler = BINFMT / "qemu-aarch64"
    return handler.is_file() and handler.read_text().splitlines()[:1] == ["enabled"]


@pytest.fixture(scope="session")
def arm64_emulation() -> None:
    """arm64 containers run here, emulated by qemu through binfmt_misc: mount binfmt_misc and
    enable Debian's qemu-aarch64 handler when they are not (root, qemu-user-static and
    binfmt-support installed: .ci/start-engine.sh does it). Skips, with the reason, only where
    that cannot be done."""
    if _aarch64_handler_enabled():
        return
    if not (BINFMT / "register").exists():
        done = subprocess.run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT)],
                              capture_output=True, text=True, timeout=30, check=False)
        if done.returncode != 0:
            pytest.skip(f"binfmt_misc cannot be mounted here: {done.stderr.strip()}")
    if shutil.which("update-binfmts") is None or not Path("/usr/bin/qemu-aarch64-static").exists():
        pytest.skip("qemu-user-static and binfmt-support are not installed"
                    " (apt-get install qemu-user-static binfmt-support)")
    subprocess.run(["update-binfmts", "--enable", "qemu-aarch64"], capture_output=True,
                   timeout=30, check=False)
    if not _aarch64_handler_enabled():
        pytest.skip("the qemu-aarch64 binfmt handler could not be enabled")
