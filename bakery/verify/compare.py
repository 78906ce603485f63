"""What a target's image must hold and do (from the plan) against what the probe found in it.

Each check has a name, the expected value and the found one. A feature whose flag is off must
be absent; a tool or pin the plan does not set is not checked. The judgement itself is the
probe's (`bakery.verify.probe.judge`, stdlib only), the very code images/test_image.sh runs
inside the image, so verify, `bakery test` and the script compare alike: versions by PEP 440
meaning (the local tag `+cu128` counts), everything else as text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from bakery.matrix import Matrix
from bakery.plan.target import Target
from bakery.verify.probe import (
    ABSENT,
    CORE,
    EVERY_IMPORT,
    OK,
    PI_GATE,
    PRESENT,
    judge,
    same_version,
)

__all__ = ["Check", "compare", "expectations", "same_version"]

# The codec promises of the ffmpeg profiles (images/shared/ffmpeg/PROFILE.codecs).
CODECS_DIR = Path(__file__).resolve().parents[2] / "images" / "shared" / "ffmpeg"

# probe "tools" key -> the build arg holding its expected version
TOOL_ARGS = {
    "ffmpeg": "FFMPEG_VERSION",
    "node": "NODE_VERSION",
    "npm": "NPM_VERSION",
    "docker": "DOCKER_VERSION",
    "dockerd": "DOCKER_VERSION",
    "ngrok": "NGROK_VERSION",
    "uv": "UV_VERSION",
}
PACKAGE_ARGS = {
    "torch": "TORCH_VERSION",
    "torchvision": "TORCHVISION_VERSION",
    "torchaudio": "TORCHAUDIO_VERSION",
    "transformers": "TRANSFORMERS_VERSION",
    "tokenizers": "TOKENIZERS_VERSION",
}


@dataclass(frozen=True)
class Check:
    name: str
    expected: str
    found: str | None
    ok: bool


def feature_packages(matrix: Matrix) -> list[str]:
    """Distribution names the probe must report (every feature's package)."""
    return [feature.package for feature in matrix.features.values()]


def feature_modules(target: Target, matrix: Matrix) -> list[str]:
    """The modules the probe imports for `target`'s enabled features (each feature's import
    name, once), as its `--import=` arguments. An off feature's module is not asked for: its
    package must be absent, and so the import would fail."""
    modules = dict.fromkeys(
        feature.import_name for flag, feature in sorted(matrix.features.items())
        if (decision := target.flags.get(flag)) is not None and decision.enabled)
    return [f"--import={module}" for module in modules]


def expected_cuda(torch_version: str, arch: str) -> str | None:
    """The CUDA version torch must have been built for, from its local tag; None = unknown."""
    try:
        local = Version(torch_version).local
    except InvalidVersion:
        return None
    if local is not None and local.startswith("cu") and local[2:].isdigit():
        digits = local[2:]
        return f"{digits[:-1]}.{digits[-1]}"
    if local == "cpu" or (local is None and arch == "arm64"):
        return "none"  # PyPI's aarch64 torch is the CPU build
    return None  # PyPI's x86_64 torch carries CUDA without saying which in its version


def codec_promise(profile: str, directory: Path = CODECS_DIR) -> list[str]:
    """`encoder NAME` / `decoder NAME` lines of PROFILE.codecs ([] when there is no file)."""
    path = directory / f"{profile}.codecs"
    if not path.is_file():
        return []
    lines = (line.split("#", 1)[0].split() for line in path.read_text().splitlines())
    return [f"{words[0]} {words[1]}" for words in lines if len(words) == 2]


def expectations(target: Target, matrix: Matrix) -> dict[str, str]:
    """Check name -> expected value for one target."""
    args = target.args
    expect = {"python": target.python.version, "arch": target.machine}
    for package, arg in PACKAGE_ARGS.items():
        if args.get(arg):
            expect[package] = args[arg]
    cuda = expected_cuda(args.get("TORCH_VERSION", ""), target.arch)
    if cuda is not None:
        expect["torch cuda"] = cuda
    # a feature on: its package at the matrix's pin, and its module imports; off: absent
    enabled_modules = []
    for flag, feature in sorted(matrix.features.items()):
        decision = target.flags.get(flag)
        enabled = decision is not None and decision.enabled
        expect[feature.package] = feature.version if enabled else ABSENT
        if enabled:
            enabled_modules.append(feature.import_name)
    # what the packages are for: each imports, and torch computes
    for module in [p for p in CORE if p in expect] + enabled_modules:
        expect[f"import {module}"] = OK
    if "torch" in expect:
        expect["torch op"] = OK
    expect["python headers"] = OK
    for tool, arg in TOOL_ARGS.items():
        if args.get(arg):
            expect[tool] = args[arg]
    for codec in codec_promise(args.get("FFMPEG_PROFILE", "")):
        expect[f"ffmpeg {codec}"] = PRESENT
    if args.get("EE_DD_DEFAULT"):
        expect["EE_DD default"] = args["EE_DD_DEFAULT"]
    expect["uv pip check"] = OK
    # every installed distribution's modules import (each in a child: a crash names its module)
    expect[EVERY_IMPORT] = OK
    if target.arch == "arm64":  # fail closed: the probe must have run as a Cortex-A72
        expect[PI_GATE] = OK
    return expect


def compare(expect: Mapping[str, str], probe: Mapping[str, Any]) -> list[Check]:
    return [Check(name=name, expected=expected, found=found, ok=ok)
            for name, expected, found, ok in judge(dict(expect), dict(probe))]
