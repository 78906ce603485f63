"""What a target's image must hold (from the plan) against what the probe found in it (pure).

Each check has a name, the expected value and the found one. A feature whose flag is off must
be absent; a tool or pin the plan does not set is not checked. Versions compare with
`packaging` when both sides parse (so the local tag `+cu128` counts), else as strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from packaging.version import InvalidVersion, Version

from bakery.matrix import Matrix
from bakery.plan.expand import arg_name
from bakery.plan.target import Target

ABSENT = "absent"
OK = "ok"

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
    for flag, feature in sorted(matrix.features.items()):
        decision = target.flags.get(flag)
        enabled = decision is not None and decision.enabled
        pinned = args.get(f"{arg_name(flag)}_VERSION") or feature.version
        expect[feature.package] = pinned if enabled else ABSENT
    for tool, arg in TOOL_ARGS.items():
        if args.get(arg):
            expect[tool] = args[arg]
    expect["uv pip check"] = OK
    return expect


def _found(name: str, probe: Mapping[str, Any]) -> str | None:
    packages = probe.get("packages") or {}
    tools = probe.get("tools") or {}
    if name in ("python", "arch"):
        value = probe.get(name)
    elif name == "torch cuda":
        failed = (probe.get("errors") or {}).get("torch_cuda")
        if failed:
            return f"import torch failed: {failed}"
        value = probe.get("torch_cuda") or ("none" if packages.get("torch") else None)
    elif name == "uv pip check":
        verdict = probe.get("uv_pip_check")
        if verdict is None:
            return None
        if verdict.get("ok"):
            return OK
        # one line: uv's complaints without its "Checked N packages" preamble
        lines = [line.strip() for line in str(verdict.get("output") or "").splitlines()
                 if line.strip() and not line.strip().startswith("Checked ")]
        return "failed: " + ("; ".join(lines)[-300:] or "no output")
    elif name in tools:
        value = tools.get(name)
    else:
        value = packages.get(name)
    return None if value is None else str(value)


def same_version(expected: str, found: str) -> bool:
    try:
        return Version(expected) == Version(found)
    except InvalidVersion:
        return expected == found


def compare(expect: Mapping[str, str], probe: Mapping[str, Any]) -> list[Check]:
    checks = []
    for name, expected in expect.items():
        found = _found(name, probe)
        if expected == ABSENT:
            ok = found is None
        elif found is None:
            ok = False
        elif expected in (OK, "none") or name == "arch":
            ok = found == expected
        else:
            ok = same_version(expected, found)
        checks.append(Check(name=name, expected=expected, found=found, ok=ok))
    return checks
