"""Runs INSIDE an image (its own python3, stdlib only) and prints, as one JSON object, what the
image really holds. `bakery verify`, `bakery test` and images/test_image.sh all use this file:

    docker run --rm -i --entrypoint python3 IMAGE - [DIST ...] < bakery/verify/probe.py

Arguments are extra distribution names to report (the feature packages); each comes back with
its installed version or null when absent. Nothing here needs a GPU: CUDA is read from the
version torch was built for (torch.version.cuda), not from a device.

Output (probe_version 1):
    {"probe_version": 1, "arch": "x86_64", "python": "3.13.9",
     "packages": {"torch": "2.9.1+cu128", ..., "flash-attn": null},
     "torch_cuda": "12.8" | null,
     "tools": {"ffmpeg": "7.1.5", "node": "22.23.3", "npm": "10.9.9", "docker": "28.5.2",
               "dockerd": "28.5.2", "ngrok": "3.30.0", "uv": "0.9.11"},   # null = not found
     "uv_pip_check": {"ok": true, "output": "..."} | null,                 # null = no uv
     "errors": {"torch_cuda": "ImportError: ..."}}
"""

from __future__ import annotations

import json
import platform
import re
import shutil
import subprocess
import sys
from importlib import metadata

CORE = ("torch", "torchvision", "torchaudio", "transformers", "tokenizers")
TOOLS = {
    # name: (argv, regex for the version in its output)
    "ffmpeg": (["ffmpeg", "-hide_banner", "-version"], r"ffmpeg version n?([0-9][^\s]*)"),
    "node": (["node", "--version"], r"v?([0-9][^\s]*)"),
    "npm": (["npm", "--version"], r"([0-9][^\s]*)"),
    "docker": (["docker", "--version"], r"Docker version ([^,\s]+)"),
    "dockerd": (["dockerd", "--version"], r"Docker version ([^,\s]+)"),
    "ngrok": (["ngrok", "version"], r"ngrok version ([^\s]+)"),
    "uv": (["uv", "--version"], r"uv ([^\s]+)"),
}
TIMEOUT = 30
errors: dict[str, str] = {}


def run(argv: list[str]) -> tuple[int, str] | None:
    """(exit code, combined output) or None when the program is not on PATH."""
    if shutil.which(argv[0]) is None:
        return None
    try:
        done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        errors[argv[0]] = f"{type(exc).__name__}: {exc}"
        return None
    return done.returncode, done.stdout.decode("utf-8", "replace")


def tool_version(name: str) -> str | None:
    argv, pattern = TOOLS[name]
    answer = run(argv)
    if answer is None:
        return None
    code, output = answer
    match = re.search(pattern, output)
    if code != 0 or match is None:
        errors[name] = f"exit {code}: {output.strip()[:300]}"
        return None
    return match.group(1)


def dist_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def torch_cuda() -> str | None:
    if dist_version("torch") is None:
        return None
    try:
        import torch  # type: ignore[import-not-found,unused-ignore]

        cuda = torch.version.cuda
        return str(cuda) if cuda is not None else None
    except Exception as exc:  # any import failure is a finding, not a crash
        errors["torch_cuda"] = f"{type(exc).__name__}: {exc}"
        return None


def uv_pip_check() -> dict[str, object] | None:
    answer = run(["uv", "pip", "check", "--python", sys.executable])
    if answer is None:
        return None
    code, output = answer
    return {"ok": code == 0, "output": output.strip()[-2000:]}


def main(extra: list[str]) -> None:
    names = list(CORE) + [n for n in extra if n not in CORE]
    report: dict[str, object] = {
        "probe_version": 1,
        "arch": platform.machine(),
        "python": platform.python_version(),
        "packages": {name: dist_version(name) for name in names},
        "torch_cuda": torch_cuda(),
        "tools": {name: tool_version(name) for name in TOOLS},
        "uv_pip_check": uv_pip_check(),
    }
    report["errors"] = errors
    json.dump(report, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
