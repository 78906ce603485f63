"""Is there an installable wheel for a pinned package on a target python and platform?

Only manylinux wheels count (glibc up to the target's, Ubuntu 24.04 has 2.39); plain
``linux_<machine>`` wheels count only when the caller allows them for that index, and the
result says so. Tag logic comes from ``packaging``; nothing about particular packages is
hard-coded here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from bakery.matrix.models import MACHINES, Arch
from bakery.preflight.decision import WheelVerdict
from bakery.preflight.index import IndexFile

UBUNTU_2404_GLIBC = (2, 39)
# The legacy manylinux names are aliases of manylinux_2_<minor> (PEP 600).
_LEGACY_MANYLINUX = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
# glibc floor of the oldest manylinux tag defined for a machine.
_GLIBC_FLOOR = {"x86_64": 5, "i686": 5}
_DEFAULT_GLIBC_FLOOR = 17
_MANYLINUX = re.compile(r"^manylinux_(\d+)_(\d+)_(.+)$")


class Verdict(StrEnum):
    """Why a check passed or failed; stable strings, safe to store."""

    OK = "ok"
    NOT_ON_INDEX = "not-on-index"
    NO_VERSION = "no-such-version"
    SDIST_ONLY = "sdist-only"
    NO_WHEEL_FOR_PYTHON = "no-wheel-for-python"
    NO_WHEEL_FOR_PLATFORM = "no-wheel-for-platform"
    NO_COMPATIBLE_WHEEL = "no-compatible-wheel"
    PLAIN_LINUX_ONLY = "plain-linux-only"
    REQUIRES_PYTHON = "requires-python"
    YANKED_ONLY = "yanked-only"


@dataclass(frozen=True, slots=True, kw_only=True)
class WheelTarget:
    """Where the wheel must install: CPython version, architecture, glibc."""

    python: str
    arch: Arch
    glibc: tuple[int, int] = UBUNTU_2404_GLIBC
    allow_plain_linux: bool = False

    def __post_init__(self) -> None:
        if self.arch not in MACHINES:
            raise ValueError(f"unknown arch {self.arch!r} (expected one of {sorted(MACHINES)})")
        try:
            release = Version(self.python).release
        except InvalidVersion:
            release = ()
        if len(release) < 2 or release[0] != 3:
            raise ValueError(f"invalid python version {self.python!r} (expected e.g. '3.13.9')")
        if self.glibc[0] != 2:
            raise ValueError(f"invalid glibc version {self.glibc!r} (expected (2, minor))")

    @property
    def python_minor(self) -> tuple[int, int]:
        release = Version(self.python).release
        return release[0], release[1]

    @property
    def interpreter(self) -> str:
        major, minor = self.python_minor
        return f"cp{major}{minor}"

    @property
    def machine(self) -> str:
        return MACHINES[self.arch]

    def describe(self) -> str:
        return f"linux {self.machine} (manylinux, glibc {self.glibc[0]}.{self.glibc[1]})"


class WheelCheck(WheelVerdict):
    """The answer for one (package, version, target): the wheel to install, or why none."""

    project: str
    python: str
    arch: Arch
    verdict: Verdict
    # What the index does have for this version, for messages and for humans.
    pythons: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Wheel:
    file: IndexFile
    build: tuple[()] | tuple[int, str]
    tags: frozenset[Tag]


def linux_platforms(machine: str, glibc: tuple[int, int], *, allow_plain: bool) -> tuple[str, ...]:
    """Platform tags a glibc Linux of this machine accepts, most specific first."""
    floor = _GLIBC_FLOOR.get(machine, _DEFAULT_GLIBC_FLOOR)
    platforms: list[str] = []
    for minor in range(glibc[1], floor - 1, -1):
        platforms.append(f"manylinux_{glibc[0]}_{minor}_{machine}")
        legacy = _LEGACY_MANYLINUX.get(minor)
        if legacy is not None:
            platforms.append(f"{legacy}_{machine}")
    if allow_plain:
        platforms.append(f"linux_{machine}")
    return tuple(platforms)


def supported_tags(target: WheelTarget) -> tuple[Tag, ...]:
    """Every wheel tag the target installs, in preference order (best first)."""
    return _supported_tags(
        target.python_minor, target.machine, target.glibc, target.allow_plain_linux
    )


@lru_cache(maxsize=64)
def _supported_tags(
    python: tuple[int, int], machine: str, glibc: tuple[int, int], allow_plain: bool
) -> tuple[Tag, ...]:
    platforms = linux_platforms(machine, glibc, allow_plain=allow_plain)
    interpreter = f"cp{python[0]}{python[1]}"
    # abis given explicitly: the default would read the *running* interpreter's build flags.
    tags = [*cpython_tags(python, abis=[interpreter], platforms=platforms)]
    tags += compatible_tags(python, interpreter, platforms)
    return tuple(dict.fromkeys(tags))


def check_wheel(
    files: Iterable[IndexFile], *, project: str, version: str, target: WheelTarget
) -> WheelCheck:
    """Find the best installable wheel of ``project==version`` for ``target``, else say why.

    ``version`` is compared with ``Version`` equality, so a local tag must match exactly:
    ``2.9.1+cu128`` does not match ``2.9.1+cpu`` nor ``2.9.1``.
    """
    name = canonicalize_name(project)
    pin = Version(version)
    wheels: list[_Wheel] = []
    sdists: list[IndexFile] = []
    versions: set[Version] = set()
    for f in files:
        parsed = _parse(f, name)
        if parsed is None:
            continue
        file_version, wheel = parsed
        versions.add(file_version)
        if file_version != pin:
            continue
        if wheel is None:
            sdists.append(f)
        else:
            wheels.append(wheel)

    def result(
        verdict: Verdict,
        reason: str,
        *,
        found: _Wheel | None = None,
        tag: Tag | None = None,
        pythons: tuple[str, ...] = (),
        platforms: tuple[str, ...] = (),
    ) -> WheelCheck:
        return WheelCheck(
            project=name,
            version=version,
            python=target.python,
            arch=target.arch,
            ok=verdict is Verdict.OK,
            verdict=verdict,
            reason=reason,
            wheel=found.file.filename if found else None,
            url=found.file.url if found else None,
            sha256=found.file.hash("sha256") if found else None,
            tag=str(tag) if tag else None,
            plain_linux=tag is not None and tag.platform.startswith("linux_"),
            pythons=pythons,
            platforms=platforms,
        )

    head = f"{name} {version}"
    if not wheels and not sdists:
        return result(
            Verdict.NO_VERSION, f"{head} is not on the index{_version_hint(pin, versions)}"
        )
    if not wheels:
        return result(
            Verdict.SDIST_ONLY,
            f"{head} has no wheels on the index, only a source distribution "
            f"({sdists[0].filename}); it would be built from source",
        )

    ranks = {tag: rank for rank, tag in enumerate(supported_tags(target))}
    pythons = _python_labels(wheels)
    platforms = _platform_labels(wheels, target)
    compatible = [
        (w, min(ranks[t] for t in w.tags if t in ranks)) for w in wheels if w.tags & ranks.keys()
    ]
    if not compatible:
        verdict, reason = _explain_mismatch(wheels, target, head)
        return result(verdict, reason, pythons=pythons, platforms=platforms)

    allowed = [(w, rank) for w, rank in compatible if _python_allowed(w.file, target.python)]
    if not allowed:
        spec = min(compatible, key=lambda item: item[1])[0].file.requires_python
        return result(
            Verdict.REQUIRES_PYTHON,
            f"{head}: requires-python {spec!r} excludes python {target.python}",
            pythons=pythons,
            platforms=platforms,
        )
    live = [(w, rank) for w, rank in allowed if not w.file.is_yanked]
    if not live:
        yanked = allowed[0][0].file
        why = f": {yanked.yanked}" if isinstance(yanked.yanked, str) else ""
        return result(
            Verdict.YANKED_ONLY,
            f"{head}: only yanked wheels match {target.interpreter} on {target.describe()} "
            f"({yanked.filename} is yanked{why})",
            pythons=pythons,
            platforms=platforms,
        )
    # Best tag first; among equal tags the highest build number wins, as installers do.
    best, rank = min(live, key=lambda item: (item[1], _negated_build(item[0].build)))
    tag = supported_tags(target)[rank]
    note = ""
    if tag.platform.startswith("linux_"):
        note = " (plain linux tag, not manylinux: allowed for this index)"
    return result(
        Verdict.OK,
        f"{head}: {best.file.filename}{note}",
        found=best,
        tag=tag,
        pythons=pythons,
        platforms=platforms,
    )


def project_missing(
    *, project: str, version: str, target: WheelTarget, index_url: str
) -> WheelCheck:
    """The result for a project the index does not know (HTTP 404)."""
    name = canonicalize_name(project)
    return WheelCheck(
        project=name,
        version=version,
        python=target.python,
        arch=target.arch,
        ok=False,
        verdict=Verdict.NOT_ON_INDEX,
        reason=f"project {name!r} is not on index {index_url} (HTTP 404)",
    )


def _parse(f: IndexFile, name: str) -> tuple[Version, _Wheel | None] | None:
    # Files of other projects or with names no installer accepts are not candidates.
    if f.filename.endswith(".whl"):
        try:
            wheel_name, wheel_version, build, tags = parse_wheel_filename(f.filename)
        except InvalidWheelFilename:
            return None
        if wheel_name != name:
            return None
        return wheel_version, _Wheel(file=f, build=build, tags=tags)
    try:
        sdist_name, sdist_version = parse_sdist_filename(f.filename)
    except InvalidSdistFilename:
        return None
    return (sdist_version, None) if sdist_name == name else None


def _python_allowed(f: IndexFile, python: str) -> bool:
    if f.requires_python is None:
        return True
    try:
        spec = SpecifierSet(f.requires_python)
    except InvalidSpecifier:
        # Installers ignore an invalid requires-python; so do we.
        return True
    return spec.contains(python, prereleases=True)


def _negated_build(build: tuple[()] | tuple[int, str]) -> tuple[int, str]:
    if not build:
        return (0, "")
    return (-build[0], build[1])


def _explain_mismatch(
    wheels: Sequence[_Wheel], target: WheelTarget, head: str
) -> tuple[Verdict, str]:
    py_pairs = {(t.interpreter, t.abi) for t in supported_tags(target)}
    platforms = set(linux_platforms(target.machine, target.glibc, allow_plain=False)) | {"any"}
    tags = [t for w in wheels for t in w.tags]
    py_tags = [t for t in tags if (t.interpreter, t.abi) in py_pairs]
    plat_tags = [t for t in tags if t.platform in platforms]
    where = target.describe()
    py = target.interpreter
    if any(t.platform == f"linux_{target.machine}" for t in py_tags):
        return (
            Verdict.PLAIN_LINUX_ONLY,
            f"{head} has only plain linux_{target.machine} wheels for {py}, not manylinux; "
            "allow plain linux tags for this index to accept them",
        )
    if py_tags and not plat_tags:
        return (
            Verdict.NO_WHEEL_FOR_PLATFORM,
            f"{head} has no wheel for {where}: {py} wheels for "
            f"{_join(_labels_of_platforms(py_tags, target))} only",
        )
    if plat_tags and not py_tags:
        return (
            Verdict.NO_WHEEL_FOR_PYTHON,
            f"{head} has no wheel for {py} on {where}: wheels for "
            f"{_join(_compact(_python_label(t) for t in plat_tags))} only",
        )
    if plat_tags:
        return (
            Verdict.NO_WHEEL_FOR_PYTHON,
            f"{head} has no wheel for {py} on {where}: {target.machine} wheels for "
            f"{_join(_compact(_python_label(t) for t in plat_tags))} only; {py} wheels for "
            f"{_join(_labels_of_platforms(py_tags, target))} only",
        )
    return (
        Verdict.NO_COMPATIBLE_WHEEL,
        f"{head} has no wheel for {py} on {where}: wheels for "
        f"{_join(_compact(_python_label(t) for t in tags))} on "
        f"{_join(_labels_of_platforms(tags, target))} only",
    )


def _python_labels(wheels: Sequence[_Wheel]) -> tuple[str, ...]:
    return _compact(_python_label(t) for w in wheels for t in w.tags)


def _platform_labels(wheels: Sequence[_Wheel], target: WheelTarget) -> tuple[str, ...]:
    return _labels_of_platforms([t for w in wheels for t in w.tags], target)


def _python_label(tag: Tag) -> str:
    if tag.abi in ("none", tag.interpreter):
        return tag.interpreter
    return f"{tag.interpreter}-{tag.abi}"


def _platform_label(platform: str, target: WheelTarget) -> str:
    match = _MANYLINUX.match(platform)
    if match is not None:
        glibc = (int(match[1]), int(match[2]))
        machine = match[3]
        if machine == target.machine and glibc > target.glibc:
            return f"{machine} with glibc {glibc[0]}.{glibc[1]}"
        return machine
    for legacy in _LEGACY_MANYLINUX.values():
        if platform.startswith(legacy + "_"):
            return platform.removeprefix(legacy + "_")
    if platform.startswith("macosx_"):
        return "macosx"
    return platform


def _labels_of_platforms(tags: Iterable[Tag], target: WheelTarget) -> tuple[str, ...]:
    return tuple(sorted({_platform_label(t.platform, target) for t in tags}))


def _compact(labels: Iterable[str]) -> tuple[str, ...]:
    """Sort python labels and fold runs of consecutive CPython versions: cp310-cp312."""
    plain: list[int] = []
    other: set[str] = set()
    for label in labels:
        match = re.fullmatch(r"cp3(\d+)", label)
        if match:
            plain.append(int(match[1]))
        else:
            other.add(label)
    runs: list[str] = []
    minors = sorted(set(plain))
    start = 0
    for i in range(1, len(minors) + 1):
        if i == len(minors) or minors[i] != minors[i - 1] + 1:
            first, last = minors[start], minors[i - 1]
            runs.append(f"cp3{first}" if first == last else f"cp3{first}-cp3{last}")
            start = i
    return (*runs, *sorted(other))


def _join(labels: Sequence[str]) -> str:
    return ", ".join(labels) if labels else "nothing"


def _version_hint(pin: Version, versions: set[Version]) -> str:
    if not versions:
        return " (the project has no files)"
    variants = sorted(v for v in versions if v.public == pin.public)
    if variants:
        return f" (same release with other local tags: {', '.join(map(str, variants))})"
    newest = sorted(versions)[-3:]
    return f" (newest: {', '.join(map(str, reversed(newest)))})"
