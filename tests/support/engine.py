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
* `classic_engine`: an engine with the classic image store (what a default engine and GitHub's
  runners have; the docker driver refuses attestations and cache export there): the main
  engine when it has that store, else the second engine .ci/start-engine.sh starts on
  /var/run/docker-classic.sock (BAKERY_CLASSIC_DOCKER_HOST names another). Skips where there is
  none, unless BAKERY_REQUIRE_ENGINE=1.
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
    docker_cli,
    prune_other_tags,
    save_image,
)
from tests.engine.standin import image_entrypoint, standin_rootfs
from tests.support.repo import ROOT

ENTRYPOINT = ROOT / "entrypoint.sh"

DEFAULT_DIND_RUN_FLAGS = (
    "--cap-add ALL --security-opt seccomp=unconfined "
    "--security-opt apparmor=unconfined --security-opt systempaths=unconfined "
    "--device /dev/fuse -v /sys/fs/cgroup:/sys/fs/cgroup:rw"
)
# Before Docker 23, `--cap-add ALL` meant every capability the CLI knew, and a host that lacks
# one (SYS_RESOURCE here) refused the container unless it was dropped; since 23 it means what
# the host has, and dropping a capability the host lacks is refused ("invalid CapDrop").
OLD_ENGINE_CAP_DROP = "--cap-drop SYS_RESOURCE"
READY_TEXT = "dockerd ready"
CLASSIC_SOCKET = "unix:///var/run/docker-classic.sock"


def engine_major() -> int:
    done = docker("version", "--format", "{{.Server.Version}}", check=False, timeout=30)
    major = done.stdout.strip().split(".", 1)[0]
    return int(major) if major.isdigit() else 0


@pytest.fixture(scope="session")
def dind_run_flags() -> list[str]:
    given = os.environ.get("DIND_RUN_FLAGS")
    if given:
        return shlex.split(given)
    flags = shlex.split(DEFAULT_DIND_RUN_FLAGS)
    if engine_major() < 23:
        flags[2:2] = shlex.split(OLD_ENGINE_CAP_DROP)
    return flags


@dataclass(frozen=True)
class Engine:
    """A Docker engine the tests can point a docker CLI at (`env` sets DOCKER_HOST)."""

    host: str | None  # None: the default engine
    containerd_store: bool

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST", "DOCKER_CONTEXT")}
        if self.host is not None:
            env["DOCKER_HOST"] = self.host
        return env


def engine_store(host: str | None) -> bool | None:
    """Whether the engine at `host` uses the containerd image store (None: it does not answer)."""
    env = Engine(host, False).env
    done = subprocess.run([docker_cli(), "info", "--format", "{{json .DriverStatus}}"],
                          capture_output=True, text=True, env=env, timeout=30, check=False)
    if done.returncode != 0:
        return None
    return "io.containerd.snapshotter" in done.stdout


def _missing_engine(message: str) -> None:
    if os.environ.get("BAKERY_REQUIRE_ENGINE") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def classic_engine() -> Engine:
    """An engine with the classic image store (see the module docstring)."""
    if engine_store(None) is False:
        return Engine(None, containerd_store=False)
    host = os.environ.get("BAKERY_CLASSIC_DOCKER_HOST") or CLASSIC_SOCKET
    store = engine_store(host)
    if store is None:
        _missing_engine(f"no classic-store engine answers at {host} (.ci/start-engine.sh"
                        " starts one)")
    if store:
        _missing_engine(f"the engine at {host} uses the containerd image store, not the"
                        " classic one")
    return Engine(host, containerd_store=False)


@pytest.fixture(scope="session")
def containerd_engine() -> Engine:
    """The default engine, when it uses the containerd image store (skips otherwise, unless
    BAKERY_REQUIRE_ENGINE=1: .ci/start-engine.sh turns that store on)."""
    store = engine_store(None)
    if not store:
        _missing_engine("the default engine does not use the containerd image store"
                        if store is False else "no Docker engine answers")
    return Engine(None, containerd_store=True)


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
