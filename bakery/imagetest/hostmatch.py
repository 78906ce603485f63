"""Which targets this host can run: its engine's architecture, or qemu through binfmt_misc."""

from __future__ import annotations

from pathlib import Path

from bakery.matrix.models import MACHINES, docker_arch

BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")
def qemu_handler(arch: str, binfmt_dir: Path = BINFMT_DIR) -> Path:
    """Where qemu-user's binfmt handler for `arch` (amd64, arm64) is registered."""
    return binfmt_dir / f"qemu-{MACHINES.get(arch, arch)}"


def handler_enabled(handler: Path) -> bool:
    try:
        first = handler.read_text(encoding="utf-8", errors="replace").splitlines()[:1]
    except OSError:
        return False
    return first == ["enabled"]


def host_skip_reason(target_arch: str, host_arch: str, handler: Path,
                     *, enabled: bool) -> str | None:
    """None when a target of `target_arch` runs on this host (natively, or emulated by an
    enabled qemu handler), else why it is skipped."""
    host = docker_arch(host_arch)
    if docker_arch(target_arch) == host:
        return None
    if enabled:
        return None
    return (f"linux/{docker_arch(target_arch)} does not match the linux/{host} host and no qemu"
            f" binfmt handler is registered ({handler}); run it on a {target_arch} host")
