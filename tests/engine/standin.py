"""Stand-in edge-node images for tests of `bakery verify`, `bakery test` and test_image.sh.

The real images cannot be built here (no registry, no downloads), so a stand-in is a Debian
bookworm image with what the probe (bakery/verify/probe.py) looks at: python3 (Debian's 3.11.2),
Debian's docker.io (docker and dockerd 20.10.24+dfsg1, a real engine for nested runs), the
project's entrypoint.sh started as the real images start it, and, per stand-in, fake Python
distributions (a dist-info directory with the version, and a module to import under the name
users import, unless the stand-in breaks it; `torch` computes a tiny matmul and sets
`torch.version.cuda`), Python.h where sysconfig looks (unless left out), and small shell
programs that answer `--version` like ffmpeg, node, npm, ngrok and uv do; ffmpeg also lists
the encoders and decoders the stand-in says. `uv pip check` answers ok or reports a conflict.

    ref = build_standin(StandIn(packages={"torch": "2.9.1+cpu", ...}, tools={"uv": "0.9.11"}))

Each distinct StandIn is built once and cached by the engine (content-addressed tag).
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bakery.matrix import load_matrix
from bakery.verify.compare import codec_promise
from tests.engine.images import ImageBuildError, build_image, build_rootfs_image
from tests.support.repo import ROOT

ENTRYPOINT = ROOT / "entrypoint.sh"

SHARED_DOCKERFILE = ROOT / "images" / "shared" / "Dockerfile"
# What an edge-node image carries for DinD (images/shared/runtime.packages), Debian names, plus
# python3: one rootfs serves the DinD test image (tests/support/engine.py) and the stand-ins.
# Debian's docker.io also brings /usr/bin/docker-init (tini), the images' PID 1.
STANDIN_PACKAGES = (
    "ca-certificates", "docker.io", "e2fsprogs", "fuse-overlayfs", "iptables", "openssl",
    "pigz", "procps", "uidmap", "xz-utils", "python3",
)


def image_entrypoint() -> str:
    """The ENTRYPOINT line of the real images (images/shared/Dockerfile), so the test images
    start exactly as they do: the init, then entrypoint.sh, and no CMD."""
    lines = [line for line in SHARED_DOCKERFILE.read_text().splitlines()
             if line.startswith("ENTRYPOINT ")]
    if len(lines) != 1:
        raise AssertionError(f"{SHARED_DOCKERFILE}: expected one ENTRYPOINT line, got {lines}")
    return lines[0]
DEBIAN_PYTHON = "3.11.2"
# the pins a GPU target of the test matrices expects (tensorrt on, bitsandbytes off)
GPU_PACKAGES = {"torch": "2.9.1+cu128", "torchvision": "0.24.1+cu128",
                "torchaudio": "2.9.1+cu128", "transformers": "4.57.1", "tokenizers": "0.22.1",
                "tensorrt-cu12-bindings": "10.13.3.9"}
DEBIAN_DOCKER = "20.10.24+dfsg1"
SITE = "/usr/local/lib/python3.11/dist-packages"
INCLUDE = "/usr/include/python3.11"  # sysconfig.get_paths()["include"] of Debian's python3

# What each fake tool prints for its version query, as the real one does.
_VERSION_LINES = {
    "ffmpeg": "ffmpeg version {v} Copyright (c) 2000-2025 the FFmpeg developers",
    "node": "v{v}",
    "npm": "{v}",
    "ngrok": "ngrok version {v}",
    "uv": "uv {v}",
    "docker": "Docker version {v}, build stand-in",
    "dockerd": "Docker version {v}, build stand-in",
}

MATCHING_PACKAGES: Mapping[str, str] = {
    "torch": "2.9.1+cpu", "torchvision": "0.24.1+cpu", "torchaudio": "2.9.1+cpu",
    "transformers": "4.57.1", "tokenizers": "0.22.1", "bitsandbytes": "0.48.2",
}
MATCHING_TOOLS: Mapping[str, str] = {
    "ffmpeg": "7.1.5", "node": "22.23.3", "npm": "10.9.9", "ngrok": "3.30.0", "uv": "0.9.11",
}


@dataclass(frozen=True)
class StandIn:
    """What a stand-in image holds. A package or tool missing from the mapping is absent."""

    packages: Mapping[str, str] = field(default_factory=lambda: dict(MATCHING_PACKAGES))
    tools: Mapping[str, str] = field(default_factory=lambda: dict(MATCHING_TOOLS))
    torch_cuda: str | None = None
    uv_check_ok: bool = True
    ee_dd_default: str = "false"
    # modules whose distribution is installed but whose import fails (metadata without code)
    broken_modules: tuple[str, ...] = ()
    python_headers: bool = True
    # `encoder NAME` / `decoder NAME` lines ffmpeg lists: the full profile's promise by default
    codecs: tuple[str, ...] = field(default_factory=lambda: tuple(codec_promise("full")))
    # "arm64": a small arm64 rootfs (python3 only; docker and dockerd are stand-in programs
    # too), run under qemu emulation on an amd64 host
    arch: str = "amd64"
    # a torch built for newer Arm cores: it dies of SIGILL on a CPU without LSE atomics (as
    # torch 2.10.0's aarch64 wheel did on the Raspberry Pi 4's Cortex-A72)
    torch_needs_lse: bool = False
    # arm64 only: distributions (name -> version) whose module loads a real shared library
    # built for ARMv8.1 whose constructor executes `ldaddal` (an LSE atomic): the import
    # works on a CPU with LSE atomics and is killed by SIGILL on a Cortex-A72
    lse_packages: Mapping[str, str] = field(default_factory=dict)


# The arm64 stand-ins carry python3 only: debootstrap runs emulated (minutes), keep it small.
ARM64_PACKAGES = ("python3",)


def standin_rootfs(arch: str = "amd64") -> str:
    if arch == "amd64":
        return build_rootfs_image("bakery-test-standin-rootfs", STANDIN_PACKAGES)
    return build_rootfs_image("bakery-test-standin-rootfs-arm64", ARM64_PACKAGES, arch=arch,
                              timeout=1500)


@functools.cache
def _modules() -> dict[str, str]:
    """Feature package -> the module users import, from the shipped matrix's features."""
    features = load_matrix(ROOT / "matrix.toml").features.values()
    return {feature.package: feature.import_name for feature in features}


def module_of(name: str) -> str:
    """The module a stand-in distribution holds: the name users import (matrix.toml's
    `module` of its feature), else the distribution's name with '-' as '_'."""
    return _modules().get(name, name.replace("-", "_"))


def _dist_info(name: str, version: str) -> dict[str, str]:
    """The metadata of an installed distribution; its RECORD lists its module (as maturin's
    wheels do, without top_level.txt), which the probe imports."""
    folder = f"{name.replace('-', '_')}-{version}.dist-info"
    return {
        f"site/{folder}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"site/{folder}/INSTALLER": "bakery-test\n",
        f"site/{folder}/RECORD": f"{module_of(name)}/__init__.py,,\n{folder}/METADATA,,\n",
    }


# A constructor that executes an LSE atomic (ARMv8.1): dlopen runs it, so loading the library
# is what dies of SIGILL on a Cortex-A72 (as a wheel built for newer cores does at import).
_LSE_SOURCE = """static long counter;
__attribute__((constructor)) static void add_with_lse(void) {
    long one = 1, old;
    __asm__ volatile("ldaddal %1, %0, [%2]" : "=r"(old) : "r"(one), "r"(&counter) : "memory");
}
long lse_counter(void) { return counter; }
"""
LSE_COMPILER = "aarch64-linux-gnu-gcc"
# The module of an LSE package: loads the library next to it (ctypes: no Python headers).
_LSE_MODULE = """import ctypes, os
_lib = ctypes.CDLL(os.path.join(os.path.dirname(__file__), "liblse.so"))
__version__ = {version!r}
"""


@functools.cache
def lse_library() -> bytes:
    """An aarch64 shared library compiled with `-march=armv8.1-a` whose constructor executes
    `ldaddal` (gcc-aarch64-linux-gnu; .ci/start-engine.sh installs it)."""
    compiler = shutil.which(LSE_COMPILER)
    if compiler is None:
        raise ImageBuildError(f"{LSE_COMPILER} is not installed (apt-get install"
                              " gcc-aarch64-linux-gnu; .ci/start-engine.sh does it)")
    with tempfile.TemporaryDirectory(prefix="bakery-lse-") as tmp:
        source, library = Path(tmp) / "lse.c", Path(tmp) / "liblse.so"
        source.write_text(_LSE_SOURCE)
        done = subprocess.run([compiler, "-march=armv8.1-a", "-O2", "-shared", "-fPIC",
                               "-nostdlib", "-Wl,-z,max-page-size=4096", "-o", str(library),
                               str(source)], capture_output=True, text=True, timeout=120,
                              check=False)
        if done.returncode != 0:
            raise ImageBuildError(f"{LSE_COMPILER} failed: {done.stderr.strip()[-1000:]}")
        return library.read_bytes()


# A torch that can do what the probe asks of it: ones(2, 2) @ ones(2, 2), summed.
_FAKE_TORCH = """from torch import version
__version__ = {version!r}

if {needs_lse!r}:
    import ctypes, os, signal
    _getauxval = ctypes.CDLL(None).getauxval
    _getauxval.restype = ctypes.c_ulong
    if not _getauxval(16) & (1 << 8):  # AT_HWCAP: no HWCAP_ATOMICS
        os.kill(os.getpid(), signal.SIGILL)


class Tensor:
    def __init__(self, rows):
        self.rows = rows

    def __matmul__(self, other):
        return Tensor([[sum(a * b for a, b in zip(row, col)) for col in zip(*other.rows)]
                       for row in self.rows])

    def sum(self):
        return Tensor([[sum(map(sum, self.rows))]])

    def item(self):
        return self.rows[0][0]


def ones(n, m):
    return Tensor([[1.0] * m for _ in range(n)])
"""


def _tool(spec: StandIn, name: str, version: str) -> str:
    line = _VERSION_LINES[name].format(v=version)
    uv_check_ok = spec.uv_check_ok
    script = ["#!/bin/sh"]
    if name == "ffmpeg":
        for kind in ("encoder", "decoder"):
            listed = "\n".join(f" A..... {c.split()[1]:<20} stand-in"
                                for c in spec.codecs if c.split()[0] == kind)
            script.append(f'if [ "$2" = "-{kind}s" ]; then printf "%s\\n" "{kind.title()}s:"'
                          f' " ------"; printf \'{listed}\\n\'; exit 0; fi')
    if name == "uv":
        verdict = (
            'echo "Checked 7 packages in 1ms"; echo "All installed packages are compatible"; exit 0'
            if uv_check_ok
            else 'echo "Checked 7 packages in 1ms"; '
            'echo "The package \\`torchvision\\` requires \\`torch==2.9.0\\`, but \\`2.9.1\\` is'
            ' installed"; exit 1'
        )
        script.append(f'if [ "$1 $2" = "pip check" ]; then {verdict}; fi')
    script.append(f"echo '{line}'")
    return "\n".join(script) + "\n"


def standin_files(spec: StandIn) -> dict[str, str | bytes | Path]:
    files: dict[str, str | bytes | Path] = {"entrypoint.sh": ENTRYPOINT}
    for name, version in sorted(spec.lse_packages.items()):
        if spec.arch != "arm64":
            raise ValueError("lse_packages are aarch64 code: only an arm64 stand-in holds them")
        files.update(_dist_info(name, version))
        files[f"site/{module_of(name)}/__init__.py"] = _LSE_MODULE.format(version=version)
        files[f"site/{module_of(name)}/liblse.so"] = lse_library()
    for name, version in sorted(spec.packages.items()):
        files.update(_dist_info(name, version))
        module = module_of(name)
        if module != "torch" and module not in spec.broken_modules:
            files[f"site/{module}/__init__.py"] = f"__version__ = {version!r}\n"
    if "torch" in spec.packages and "torch" not in spec.broken_modules:
        cuda = "None" if spec.torch_cuda is None else repr(spec.torch_cuda)
        files["site/torch/__init__.py"] = _FAKE_TORCH.format(
            version=spec.packages["torch"], needs_lse=spec.torch_needs_lse)
        files["site/torch/version.py"] = (
            f"__version__ = {spec.packages['torch']!r}\ncuda = {cuda}\n"
        )
    if spec.python_headers:
        files["include/Python.h"] = "/* stand-in: where sysconfig looks for it */\n"
    files["include/.keep"] = ""
    for name, version in sorted(spec.tools.items()):
        files[f"bin/{name}"] = _tool(spec, name, version)
    files["bin/.keep"] = ""
    files["site/.keep"] = ""
    return files


def build_standin(spec: StandIn, name: str = "bakery-test-standin") -> str:
    """Return the ref of a local image holding what `spec` says (built once, then cached)."""
    dockerfile = (
        f"FROM {standin_rootfs(spec.arch)}\n"
        f"COPY site/ {SITE}/\n"
        "COPY bin/ /usr/local/bin/\n"
        f"COPY include/ {INCLUDE}/\n"
        "COPY entrypoint.sh /usr/local/bin/entrypoint.sh\n"
        f"RUN chmod 0755 /usr/local/bin/* && rm -f /usr/local/bin/.keep {INCLUDE}/.keep\n"
        f"ENV EE_DD={spec.ee_dd_default} DOCKER_TLS_CERTDIR=/certs\n"
        f"{image_entrypoint()}\n"
    )
    return build_image(name, dockerfile, standin_files(spec))
