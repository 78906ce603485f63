"""The targets `bakery lock` and `bakery outdated` work on, from the unlocked plan
(`bakery.project.load_plan(..., mode="unlocked")`: the preflight decisions without the package
locks, which may be stale: that is why one runs `bakery lock`)."""

from __future__ import annotations

from collections.abc import Sequence

from bakery.plan import Plan, select_targets
from bakery.plan.target import Target


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
