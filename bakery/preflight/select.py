"""Which images a `bakery preflight --target ...` means, before any lock exists.

Target names resolve exactly as for `bakery plan` (ids, groups, aliases, globs), on the
provisional plan (`bakery.project.load_plan(..., mode="provisional")`: every `auto` flag
provisionally off): preflight decides images, so a name selects the images of the targets it
matches.
"""

from __future__ import annotations

from collections.abc import Sequence

from bakery.matrix import Matrix
from bakery.plan import Plan, select_targets


def select_images(matrix: Matrix, plan: Plan, names: Sequence[str]) -> list[str]:
    chosen = {t.image for t in select_targets(plan, names)}
    return [name for name in matrix.images if name in chosen]
