"""What preflight decides, as `matrix.lock.json` keeps it (bakery.preflight.lock): per image
its python and flags, and the wheel evidence for each package. Values only (no index, no
wheel logic), so the loader reads the lock without loading preflight's machinery.

One type per decision: a flag's decision is the plan's `FlagChoice` with its name and the
packages that decided it; a package's is the `WheelVerdict` a wheel check returns, named
and with its index.
"""

from __future__ import annotations

from bakery.frozen import Frozen
from bakery.matrix.models import Arch
from bakery.plan.target import FlagChoice


class WheelVerdict(Frozen):
    """The answer for one pinned version on one target: the wheel to install, or why none."""

    version: str
    ok: bool
    verdict: str
    reason: str
    wheel: str | None = None
    url: str | None = None
    sha256: str | None = None
    tag: str | None = None
    plain_linux: bool = False


class PackageDecision(WheelVerdict):
    """The check of one package on the selected python."""

    name: str
    index: str


class FlagDecision(FlagChoice):
    name: str
    packages: tuple[PackageDecision, ...] = ()


class ImageDecision(Frozen):
    """Everything preflight decided for one image. ``errors`` empty means usable."""

    image: str
    arch: Arch
    python: str | None
    python_reason: str
    fallback_used: bool
    packages: tuple[PackageDecision, ...]
    flags: tuple[FlagDecision, ...]
    errors: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors

    def flag(self, name: str) -> FlagDecision:
        for decision in self.flags:
            if decision.name == name:
                return decision
        raise KeyError(name)

    def package(self, name: str) -> PackageDecision:
        from packaging.utils import canonicalize_name  # not on the loader's path

        wanted = canonicalize_name(name)
        for decision in self.packages:
            if canonicalize_name(decision.name) == wanted:
                return decision
        raise KeyError(name)
