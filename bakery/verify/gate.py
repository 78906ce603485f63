"""The Raspberry Pi gate: how an image's python is started so that an arm64 image runs as the
oldest CPU it must run on, the Raspberry Pi 4's Cortex-A72 (ARMv8.0: no LSE atomics).

Where the engine is not arm64, an arm64 image runs emulated by qemu-user through binfmt_misc,
and qemu reads QEMU_CPU. On an arm64 engine (GitHub's `ubuntu-24.04-arm` runners) the image
runs natively, on a CPU that has LSE atomics, and QEMU_CPU is ignored; there the image's python
runs under the host's static qemu (`qemu-aarch64-static` of Debian's and Ubuntu's
qemu-user-static, mounted read-only into the container), `-cpu cortex-a72`: qemu emulates
aarch64 on aarch64 too. The probe learns that qemu from PROBE_QEMU and starts its children
through it, so they stay under the gate. Pure: the host architecture is a parameter, so the
native branch is tested on any host.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field

from bakery.errors import BakeryError
from bakery.matrix.models import docker_arch

PI_CPU = "cortex-a72"
# Where the host's qemu appears inside the container, and its name on the host.
QEMU_IN_CONTAINER = "/run/bakery-pi-gate/qemu-aarch64"
HOST_QEMU = "qemu-aarch64-static"
# `sh -c` script: exec qemu (its path is $0) on the image's own python3, with the CPU asked for.
_UNDER_QEMU = ('python=$(command -v python3) || { echo "no python3 on PATH" >&2; exit 127; };'
               ' exec "$0" -cpu "$PROBE_CPU" "$python" "$@"')


class GateUnavailable(BakeryError):
    """An arm64 image must be checked on an arm64 host without a static qemu-aarch64."""


@dataclass(frozen=True)
class PythonLaunch:
    """`docker run --entrypoint ENTRYPOINT [-e ENV] [-v VOLUMES] IMAGE *ARGS <python's args>`."""

    entrypoint: str = "python3"
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    # (host path, path in the container, mode)
    volumes: tuple[tuple[str, str, str], ...] = ()
    # how the gate is in force, for people: "" (not arm64), "binfmt", "qemu"
    gate: str = ""


def python_launch(target_arch: str, host_arch: str, qemu: str | None) -> PythonLaunch:
    """How to start the image's python for a target of `target_arch` on an engine of
    `host_arch` (either naming: arm64/aarch64), `qemu` being the host's static
    qemu-aarch64 (only needed on an arm64 host). GateUnavailable when it is."""
    if docker_arch(target_arch) != "arm64":
        return PythonLaunch()
    if docker_arch(host_arch) != "arm64":
        return PythonLaunch(env={"QEMU_CPU": PI_CPU}, gate="binfmt")
    if qemu is None:
        raise GateUnavailable(
            f"the Raspberry Pi gate cannot run on this arm64 host: no {HOST_QEMU} on PATH (an"
            f" arm64 image is checked under `{HOST_QEMU} -cpu {PI_CPU}`; install Debian's or"
            " Ubuntu's qemu-user-static)")
    return PythonLaunch(
        entrypoint="sh", args=("-c", _UNDER_QEMU, QEMU_IN_CONTAINER),
        env={"PROBE_QEMU": QEMU_IN_CONTAINER, "PROBE_CPU": PI_CPU},
        volumes=((qemu, QEMU_IN_CONTAINER, "ro"),), gate="qemu")


def host_qemu() -> str | None:
    """The host's static qemu-aarch64, or None."""
    return shutil.which(HOST_QEMU)
