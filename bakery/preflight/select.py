"""Which images a `bakery preflight --target ...` means, before any lock exists.

Target names resolve exactly as for `bakery plan` (ids, groups, aliases, globs), on a plan
expanded with every `auto` flag provisionally off: preflight decides images, so a name selects
the images of the targets it matches.
"""

from __future__ import annotations

from collections.abc import Sequence

from bakery.matrix import Matrix
from bakery.plan import expand, select_targets
from bakery.plan.target import FlagChoice, ImageChoice
from bakery.tags.git import GitContext


def select_images(matrix: Matrix, names: Sequence[str], *, source: str) -> list[str]:
    provisional = {
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
    plan = expand(matrix, git=GitContext(), source=source, decisions=provisional)
    chosen = {t.image for t in select_targets(plan, names)}
    return [name for name in matrix.images if name in chosen]
