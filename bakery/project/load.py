"""The one path from matrix.toml to a plan: the matrix, its preflight lock, the package locks,
the git context. Every command loads its plan here, in one of three modes:

* `locked` (plan, render, bake, verify, test, release, ci, summary): the preflight decisions,
  the package locks and the git context; the plan is expanded once;
* `unlocked` (lock, outdated): the preflight decisions without the package locks, which may be
  stale (that is why one runs `bakery lock`), and no git context;
* `provisional` (preflight): no lock at all, every `auto` flag provisionally off, to resolve
  `--target` names before any decision exists.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bakery.matrix import Matrix, load_matrix
from bakery.plan.bulk import collector_paused
from bakery.plan.expand import expand
from bakery.plan.target import FlagChoice, ImageChoice, Plan
from bakery.preflight.lock import lock_path, plan_decisions, read_lock
from bakery.tags.git import GitContext, resolve_git_context

Mode = Literal["locked", "unlocked", "provisional"]


@dataclass(frozen=True)
class LoadedPlan:
    """A plan with the matrix it was expanded from (commands need both)."""

    matrix_path: Path
    matrix: Matrix
    plan: Plan


def load_plan(
    matrix_path: Path,
    *,
    mode: Mode = "locked",
    ref: str | None = None,
    sha: str | None = None,
    env: Mapping[str, str] | None = None,
    use_git: bool = True,
) -> LoadedPlan:
    """matrix.toml -> plan in `mode`. A locked plan's git context is resolved from the
    arguments, then the environment (GITHUB_REF, GITHUB_SHA), then the checkout next to the
    matrix (`use_git=False`: no checkout, for commands whose output never holds git tags);
    the other modes have none."""
    env = os.environ if env is None else env
    with collector_paused():
        matrix = load_matrix(matrix_path)
        if mode == "provisional":
            plan = expand(matrix, source=str(matrix_path), decisions=provisional(matrix))
        elif mode == "unlocked":
            plan = expand(matrix, git=GitContext(), source=str(matrix_path),
                          decisions=_decisions(matrix, matrix_path))
        else:
            git = resolve_git_context(ref=ref, sha=sha, env=env,
                                      repo_dir=matrix_path.resolve().parent if use_git else None)
            plan = _locked(matrix, matrix_path, git)
        return LoadedPlan(matrix_path=matrix_path, matrix=matrix, plan=plan)


def _decisions(matrix: Matrix, matrix_path: Path) -> dict[str, ImageChoice]:
    lock_file = lock_path(matrix_path)
    return plan_decisions(matrix, read_lock(lock_file), lock_file, source=str(matrix_path))


def _locked(matrix: Matrix, matrix_path: Path, git: GitContext) -> Plan:
    """Expanded once with everything locks/manifest.json pins, then refused if a pin the
    plan uses is stale (the lock keys are the targets', known only once they are expanded)."""
    from bakery.lockfile.manifest import check_locks, manifest_path, offered_locks, read_manifest

    decisions = _decisions(matrix, matrix_path)
    path = manifest_path(matrix_path)
    manifest = read_manifest(path)
    locks = offered_locks(manifest)
    plan = expand(matrix, git=git, source=str(matrix_path), decisions=decisions,
                  base_images=locks.base_images, package_locks=locks.package_locks,
                  frontend=locks.frontend)
    check_locks(matrix, plan.targets, manifest, path)
    return plan


def provisional(matrix: Matrix) -> dict[str, ImageChoice]:
    """Every image on its primary python with every `auto` flag off, "not decided yet": what
    `--target` names mean before preflight decided anything."""
    return {
        name: ImageChoice(
            python=matrix.python.primary,
            python_reason="not decided yet",
            flags={
                flag: FlagChoice(setting="auto", enabled=False, reason="not decided yet")
                for flag, setting in image.features.items()
                if setting == "auto"
            },
        )
        for name, image in matrix.images.items()
    }


def default_results(matrix_path: Path) -> Path:
    """Where `bakery bake` writes its results and verify, release and test read them."""
    return matrix_path.parent / ".bakery" / "results.json"
