"""Nothing unlocked is published: which targets of a plan are not fully locked, and the refusal
of the commands that publish (`bake --push`, `release`, `ci` on a publishing run).

A target is fully locked when its packages come from a current lock (`PACKAGES_LOCK` set; a
stale lock is already an error when the plan is made) and its base image is pinned by digest.
Without both, what a published tag holds depends on the day it was built: the packages are
resolved at build time, unhashed, and the base is whatever the registry serves then. A pull
request and a local `--load` build may still build unlocked; they say so in one line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bakery.errors import BakeryError
from bakery.plan.target import Target


@dataclass(frozen=True, slots=True)
class Unlocked:
    """One target that is not fully locked: what is missing and the command that fixes it."""

    target: str
    missing: str
    fix: str

    def __str__(self) -> str:
        return f"{self.target}: {self.missing} (run `{self.fix}`)"


def unlocked(targets: Iterable[Target]) -> list[Unlocked]:
    """Every missing lock of `targets`, in plan order (a target may miss both)."""
    found: list[Unlocked] = []
    for target in targets:
        base = target.args.get("BASE_IMAGE", "")
        lock = target.args.get("PACKAGES_LOCK")
        if lock == "" or lock is None:
            key = target.id.removesuffix("-dind")
            found.append(Unlocked(target.id, "no package lock", f"bakery lock --target {key}"))
        if "@sha256:" not in base:
            found.append(Unlocked(target.id, f"base image {base or '(none)'} is not pinned by"
                                  " digest", "bakery lock --base-only"))
    return found


def refuse_unlocked(targets: Iterable[Target], command: str) -> None:
    """BakeryError naming every target `command` would publish without a complete lock."""
    missing = unlocked(targets)
    if missing:
        raise BakeryError(
            f"{command} publishes only fully locked targets; {len(missing)} lock(s) missing: "
            + "; ".join(str(m) for m in missing)
        )


def unlocked_note(targets: Iterable[Target]) -> str | None:
    """The one line a build that may go unlocked (pull request, `--load`) prints, or None."""
    ids = sorted({m.target for m in unlocked(targets)})
    if not ids:
        return None
    return (f"building {len(ids)} target(s) unlocked (packages resolved at build time or the"
            f" base not pinned; never published): {', '.join(ids)}")
