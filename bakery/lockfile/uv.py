"""Running uv, the resolver and installer: `uv pip compile` for one lock spec.

uv is a Python package and a dependency of bakery; its binary is found through the package
(`uv.find_uv_bin`), else on PATH. A missing uv is a one-line error saying how to install it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bakery.errors import MissingToolError
from bakery.lockfile.spec import LockSpec


@dataclass(frozen=True, slots=True)
class Resolved:
    spec: LockSpec
    text: str | None
    error: str | None = None


def find_uv() -> str:
    """The uv binary bakery runs; MissingToolError when there is none."""
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        pass
    found = shutil.which("uv")
    if found is None:
        raise MissingToolError(
            "uv is not installed: bakery resolves the package locks with it"
            " (pip install uv, or reinstall bakery: it depends on uv)"
        )
    return found


def compile_command(
    uv: str, spec: LockSpec, requirements: Path, output: Path, upgrade: tuple[str, ...] | bool
) -> list[str]:
    cmd = [
        uv, "pip", "compile", str(requirements), "--output-file", str(output),
        "--python-version", spec.python, "--python-platform", spec.uv_platform,
        "--generate-hashes", "--no-build", "--quiet", "--no-header",
        "--emit-index-url", "--emit-index-annotation", "--no-annotate",
        "--index-url", spec.index_url, "--index-strategy", spec.index_strategy,
    ]
    for url in spec.extra_index_urls:
        cmd += ["--extra-index-url", url]
    if upgrade is True:
        cmd.append("--upgrade")
    elif upgrade:
        for package in upgrade:
            cmd += ["--upgrade-package", package]
    return cmd


def resolve(
    spec: LockSpec,
    previous: str | None,
    workdir: Path,
    *,
    upgrade: tuple[str, ...] | bool = (),
    uv: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 600.0,
) -> Resolved:
    """Resolve `spec` with uv. The previous lock (if any) is uv's starting point: packages not
    named in `upgrade` keep their locked version while it still satisfies the pins."""
    binary = uv or find_uv()
    folder = workdir / spec.key
    folder.mkdir(parents=True, exist_ok=True)
    requirements = folder / "requirements.in"
    requirements.write_text("".join(f"{r}\n" for r in spec.requirements), encoding="utf-8")
    output = folder / "lock.txt"
    if previous is not None:
        output.write_text(previous, encoding="utf-8")
    cmd = compile_command(binary, spec, requirements, output, upgrade)
    # wheels only (--no-build): no interpreter of the target python is needed or downloaded
    run_env = {**os.environ, **(env or {}), "UV_NO_CONFIG": "1", "NO_COLOR": "1",
               "UV_PYTHON_DOWNLOADS": "never"}
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, env=run_env, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return Resolved(spec, None, f"uv did not finish within {timeout:g}s")
    if done.returncode != 0:
        return Resolved(spec, None, _uv_error(done.stderr))
    # uv's lock as it wrote it: never a file of its own (bakery.lockfile.groups.split writes
    # each layer's file, with the header saying it is generated)
    return Resolved(spec, output.read_text(encoding="utf-8"))


def _uv_error(stderr: str) -> str:
    lines = [line.rstrip() for line in stderr.splitlines() if line.strip()]
    text = " ".join(line.strip() for line in lines)
    text = text.removeprefix("error: ").strip() or "uv failed without a message"
    if "building from source is disabled" in text:
        text += (" (a package that is only a source distribution on the configured indexes is"
                 " refused: no source distribution is ever built at image build time; turn"
                 " the feature that needs it off in matrix.toml until a wheel is published)")
    return text
