"""Options every command shares, and the one path from matrix.toml to a plan."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from bakery.errors import ConfigError
from bakery.matrix import Matrix, load_matrix
from bakery.plan import Plan, expand
from bakery.preflight.lock import lock_path, plan_decisions, read_lock
from bakery.tags.git import resolve_git_context

MatrixOption = Annotated[
    Path,
    typer.Option(
        "--matrix",
        "-m",
        help="The build matrix to read (docker-bake.hcl.j2 and the lock sit next to it).",
        envvar="BAKERY_MATRIX",
    ),
]
TargetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--target",
        "-t",
        help="Target id, group (gpu, cpu, arm64, default, fallback, dind, all) or glob."
        " Repeatable.",
    ),
]
RefOption = Annotated[
    str | None,
    typer.Option("--ref", help="Git ref for release tags, e.g. refs/tags/v1.2.0 (default:"
                 " GITHUB_REF, else the local checkout)."),
]
ShaOption = Annotated[
    str | None,
    typer.Option("--sha", help="Commit for sha tags (default: GITHUB_SHA, else git HEAD)."),
]

DEFAULT_MATRIX = Path("matrix.toml")


@dataclass(frozen=True)
class Loaded:
    matrix_path: Path
    matrix: Matrix
    plan: Plan


def load_plan(
    matrix_path: Path,
    *,
    ref: str | None = None,
    sha: str | None = None,
    env: Mapping[str, str] | None = None,
    use_git: bool = True,
) -> Loaded:
    """matrix.toml (+ its preflight lock) -> plan, with the git context resolved from CLI,
    env, then the checkout."""
    env = os.environ if env is None else env
    matrix = load_matrix(matrix_path)
    git = resolve_git_context(
        ref=ref, sha=sha, env=env, repo_dir=matrix_path.resolve().parent if use_git else None
    )
    lock_file = lock_path(matrix_path)
    decisions = plan_decisions(
        matrix, read_lock(lock_file), lock_file, source=str(matrix_path)
    )
    plan = expand(matrix, git=git, source=str(matrix_path), decisions=decisions)
    return Loaded(matrix_path=matrix_path, matrix=matrix, plan=plan)


def docker_call(env: Mapping[str, str] | None = None) -> list[str]:
    """The docker command bakery runs: $BAKERY_DOCKER (shell-split; tests point it at a fake
    docker), else `docker`. ConfigError (exit 2) when the variable cannot be split."""
    import shlex

    raw = (os.environ if env is None else env).get("BAKERY_DOCKER", "")
    try:
        call = shlex.split(raw) or ["docker"]
    except ValueError as exc:
        raise ConfigError(f"BAKERY_DOCKER: {raw!r}: {exc}") from None
    binary = Path(call[0])
    if "/" in call[0]:  # a path, not a name looked up on PATH: say what is wrong with it
        if not binary.exists():
            raise ConfigError(f"BAKERY_DOCKER: {call[0]!r} does not exist")
        if binary.is_dir() or not os.access(binary, os.X_OK):
            raise ConfigError(f"BAKERY_DOCKER: {call[0]!r} is not an executable file")
    return call


def default_results(matrix_path: Path) -> Path:
    """Where `bakery bake` writes its results and verify, release and test read them."""
    return matrix_path.parent / ".bakery" / "results.json"
