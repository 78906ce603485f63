"""Target selection: ids, group names and glob patterns over ids."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

from bakery.errors import ConfigError
from bakery.plan.target import Plan, Target
from bakery.suggest import did_you_mean


def select_targets(plan: Plan, names: Sequence[str]) -> list[Target]:
    """Resolve `--target` values (default: the `default` group) in plan order, deduplicated.

    A name is a group (`gpu`, `fallback`), a target id, or a glob over ids (`*-py312`).
    """
    wanted: set[str] = set()
    ids = [t.id for t in plan.targets]
    for name in names or ["default"]:
        if name in plan.groups:
            wanted.update(plan.groups[name])
        elif name in ids:
            wanted.add(name)
        elif any(ch in name for ch in "*?["):
            matched = fnmatch.filter(ids, name)
            if not matched:
                raise ConfigError(f"--target {name!r} matches no target id")
            wanted.update(matched)
        else:
            raise ConfigError(
                f"--target {name!r} is neither a target nor a group"
                f"{did_you_mean(name, [*plan.groups, *ids])}; see `bakery plan --target all`"
            )
    return [t for t in plan.targets if t.id in wanted]
