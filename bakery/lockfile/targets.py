"""The targets `bakery lock` and `bakery outdated` work on: the plan of matrix.toml with the
preflight decisions but without the package locks (which may be stale: that is why one runs
`bakery lock`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bakery.matrix import Matrix, load_matrix
from bakery.plan import Plan, expand, select_targets
from bakery.plan.target import Target
from bakery.preflight.lock import lock_path, plan_decisions, read_lock
from bakery.tags.git import GitContext


def unlocked_plan(matrix_path: Path) -> tuple[Matrix, Plan]:
    matrix = load_matrix(matrix_path)
    preflight = lock_path(matrix_path)
    decisions = plan_decisions(matrix, read_lock(preflight), preflight, source=str(matrix_path))
    return matrix, expand(matrix, git=GitContext(), source=str(matrix_path), decisions=decisions)


def chosen(plan: Plan, names: Sequence[str] | None) -> list[Target]:
    return select_targets(plan, list(names) if names else ["all"])
