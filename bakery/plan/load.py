"""The one path from matrix.toml to a plan: the matrix, its preflight lock, the git context."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bakery.matrix import Matrix, load_matrix
from bakery.plan.bulk import collector_paused
from bakery.plan.expand import expand
from bakery.plan.target import Plan
from bakery.preflight.lock import lock_path, plan_decisions, read_lock
from bakery.tags.git import resolve_git_context


@dataclass(frozen=True)
class LoadedPlan:
    """A plan with the matrix it was expanded from (commands need both)."""

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
) -> LoadedPlan:
    """matrix.toml (+ its preflight lock and package locks) -> plan, with the git context
    resolved from the arguments, then the environment (GITHUB_REF, GITHUB_SHA), then the
    checkout next to the matrix (`use_git=False`: no checkout, for commands whose output never
    holds git tags)."""
    env = os.environ if env is None else env
    with collector_paused():
        return _load_plan(matrix_path, ref=ref, sha=sha, env=env, use_git=use_git)


def _load_plan(matrix_path: Path, *, ref: str | None, sha: str | None, env: Mapping[str, str],
               use_git: bool) -> LoadedPlan:
    matrix = load_matrix(matrix_path)
    git = resolve_git_context(
        ref=ref, sha=sha, env=env, repo_dir=matrix_path.resolve().parent if use_git else None
    )
    lock_file = lock_path(matrix_path)
    decisions = plan_decisions(
        matrix, read_lock(lock_file), lock_file, source=str(matrix_path)
    )
    plan = expand(matrix, git=git, source=str(matrix_path), decisions=decisions)
    from bakery.lockfile.manifest import plan_locks

    # the package locks are keyed by the targets' lock keys, so they are applied to a second
    # expansion (only when the matrix has locks at all)
    locks = plan_locks(matrix, plan.targets, matrix_path)
    if locks:
        plan = expand(matrix, git=git, source=str(matrix_path), decisions=decisions,
                      base_images=locks.base_images, package_locks=locks.package_locks,
                      frontend=locks.frontend)
    return LoadedPlan(matrix_path=matrix_path, matrix=matrix, plan=plan)


def default_results(matrix_path: Path) -> Path:
    """Where `bakery bake` writes its results and verify, release and test read them."""
    return matrix_path.parent / ".bakery" / "results.json"
