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
    """The targets `--target` names (default: all). An image's name or alias means every
    target of the image, its fallback pythons included: each python has a lock of its own,
    and in `bakery plan` the image's group holds only the selected python."""
    from bakery.matrix.checks import RESERVED_GROUPS

    wanted = []
    for name in names or ["all"]:
        members = plan.groups.get(name, ()) if name not in RESERVED_GROUPS else ()
        images = {t.image for t in plan.targets if t.id in members}
        if len(images) == 1:
            (image,) = images
            wanted += [t.id for t in plan.targets if t.image == image]
        else:
            wanted.append(name)
    return select_targets(plan, wanted)
