"""Pure preflight decisions: which python an image builds on, which flags are on.

Input: an ``ImageSpec`` and the index answers keyed by (index name, canonical project).
Output: a frozen ``ImageDecision`` that serialises to JSON deterministically (for the lock).
No I/O here; fetching is ``bakery.preflight.index`` and orchestration ``bakery.preflight``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version
from pydantic import Field, field_validator

from bakery.frozen import Frozen
from bakery.matrix.models import Arch, FlagSetting
from bakery.preflight.decision import FlagDecision, ImageDecision, PackageDecision
from bakery.preflight.index import ProjectPage
from bakery.preflight.wheels import WheelCheck, WheelTarget, check_wheel, project_missing

PageKey = tuple[str, str]
_PYTHON = r"^3\.\d+(\.\d+)?$"


class PackagePin(Frozen):
    """A pinned package and the index (by name, as in matrix.toml) it comes from."""

    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    index: str = "pypi"

    @field_validator("version")
    @classmethod
    def _pep440(cls, value: str) -> str:
        try:
            Version(value)
        except InvalidVersion:
            raise ValueError(f"not a PEP 440 version: {value!r}") from None
        return value

    @property
    def key(self) -> PageKey:
        return (self.index, str(canonicalize_name(self.name)))


class FeatureSpec(Frozen):
    """A feature flag of one image: its setting and the packages it installs."""

    name: str = Field(min_length=1)
    setting: FlagSetting
    packages: tuple[PackagePin, ...] = Field(min_length=1)


class ImageSpec(Frozen):
    """What preflight needs to know about one image."""

    name: str = Field(min_length=1)
    arch: Arch
    primary_python: str = Field(pattern=_PYTHON)
    fallback_python: str | None = Field(default=None, pattern=_PYTHON)
    glibc: tuple[int, int] = (2, 39)
    packages: tuple[PackagePin, ...] = ()
    features: tuple[FeatureSpec, ...] = ()
    # Index names whose plain linux_<machine> wheels are accepted (reported per package).
    plain_linux_indexes: tuple[str, ...] = ()


def decide_image(image: ImageSpec, pages: Mapping[PageKey, ProjectPage]) -> ImageDecision:
    """Decide python, flags and wheels for one image from the index answers.

    ``pages`` must hold an answer for every package of the image, its features' included
    ("off" ones are checked for information only); a missing answer is a programming error
    (``KeyError``), not a decision.
    """
    checker = _Checker(image, pages)
    pythons = [image.primary_python]
    if image.fallback_python and image.fallback_python != image.primary_python:
        pythons.append(image.fallback_python)
    # Packages of flags set "on" are as required as the image's own packages.
    required = [(pin, None) for pin in image.packages] + [
        (pin, feature.name)
        for feature in image.features
        if feature.setting == "on"
        for pin in feature.packages
    ]
    failures: dict[str, list[tuple[PackagePin, str | None, WheelCheck]]] = {}
    selected: str | None = None
    for python in pythons:
        failing = [
            (pin, flag, check)
            for pin, flag in required
            if not (check := checker.check(pin, python)).ok
        ]
        failures[python] = failing
        if not failing:
            selected = python
            break

    errors: list[str] = []
    if selected is None:
        python_reason = f"no python in {' / '.join(pythons)} has wheels for every required package"
        errors = _no_python_errors(image, pythons, failures)
    elif selected == image.primary_python:
        python_reason = (
            f"every required package has a wheel for python {selected} on linux/{image.arch}"
        )
    else:
        forced = failures[image.primary_python]
        names = ", ".join(_who(pin, flag) for pin, flag, _ in forced)
        python_reason = (
            f"fallback to python {selected}: {names} cannot use {image.primary_python} "
            f"({forced[0][2].reason})"
        )

    shown = selected or image.primary_python
    packages = tuple(_package(pin, checker.check(pin, shown)) for pin in image.packages)
    flags = tuple(
        _flag(feature, checker, selected, image.arch)
        for feature in sorted(image.features, key=lambda f: f.name)
    )
    return ImageDecision(
        image=image.name,
        arch=image.arch,
        python=selected,
        python_reason=python_reason,
        fallback_used=selected is not None and selected != image.primary_python,
        packages=packages,
        flags=flags,
        errors=tuple(errors),
    )


def needed_pages(images: Sequence[ImageSpec]) -> tuple[PageKey, ...]:
    """The (index name, project) answers ``decide_image`` will read, without duplicates."""
    keys: dict[PageKey, None] = {}
    for image in images:
        for pin in image.packages:
            keys[pin.key] = None
        for feature in image.features:  # "off" ones too: reported for information
            for pin in feature.packages:
                keys[pin.key] = None
    return tuple(keys)


class _Checker:
    """Memoised wheel checks for one image: each (package, python) is computed once."""

    def __init__(self, image: ImageSpec, pages: Mapping[PageKey, ProjectPage]) -> None:
        self._image = image
        self._pages = pages
        self._memo: dict[tuple[PackagePin, str], WheelCheck] = {}

    def check(self, pin: PackagePin, python: str) -> WheelCheck:
        memo_key = (pin, python)
        if memo_key not in self._memo:
            self._memo[memo_key] = self._compute(pin, python)
        return self._memo[memo_key]

    def _compute(self, pin: PackagePin, python: str) -> WheelCheck:
        target = WheelTarget(
            python=python,
            arch=self._image.arch,
            glibc=self._image.glibc,
            allow_plain_linux=pin.index in self._image.plain_linux_indexes,
        )
        try:
            page = self._pages[pin.key]
        except KeyError:
            raise KeyError(f"no index answer for {pin.name} on index {pin.index!r}") from None
        if not page.found:
            return project_missing(
                project=pin.name, version=pin.version, target=target, index_url=page.index_url
            )
        return check_wheel(page.files, project=pin.name, version=pin.version, target=target)


def _package(pin: PackagePin, check: WheelCheck) -> PackageDecision:
    return PackageDecision(
        name=pin.name,
        version=pin.version,
        index=pin.index,
        ok=check.ok,
        verdict=str(check.verdict),
        reason=check.reason,
        wheel=check.wheel,
        url=check.url,
        sha256=check.sha256,
        tag=check.tag,
        plain_linux=check.plain_linux,
    )


def _flag(feature: FeatureSpec, checker: _Checker, python: str | None, arch: Arch) -> FlagDecision:
    def decision(enabled: bool, reason: str, checks: Sequence[WheelCheck] = ()) -> FlagDecision:
        packages = tuple(_package(p, c) for p, c in zip(feature.packages, checks, strict=False))
        return FlagDecision(
            name=feature.name,
            setting=feature.setting,
            enabled=enabled,
            reason=reason,
            packages=packages,
        )

    if python is None:
        return decision(feature.setting == "on", "undecided: no python was selected")
    checks = [checker.check(pin, python) for pin in feature.packages]
    failing = [c for c in checks if not c.ok]
    if feature.setting == "off":
        # Checked for information only: it tells a maintainer whether 'auto' would turn it on.
        found = f"no wheel: {failing[0].reason}" if failing else "a wheel exists"
        return decision(False, f"off in the matrix ({found})", checks)
    if feature.setting == "on":
        # A failing "on" flag is reported in errors; the flag itself stays as asked.
        why = failing[0].reason if failing else "wheels found"
        return decision(True, f"on in the matrix; {why}", checks)
    if failing:
        return decision(False, f"auto: off because {failing[0].reason}", checks)
    return decision(True, f"auto: wheels found for python {python} on linux/{arch}", checks)


def _who(pin: PackagePin, flag: str | None) -> str:
    return f"{pin.name} {pin.version}" + (f" (feature {flag!r})" if flag else "")


def _no_python_errors(
    image: ImageSpec,
    pythons: Sequence[str],
    failures: Mapping[str, Sequence[tuple[PackagePin, str | None, WheelCheck]]],
) -> list[str]:
    platform = f"linux/{image.arch}"
    tried = " or ".join(pythons)
    by_pin: dict[PackagePin, list[tuple[str | None, WheelCheck]]] = {}
    for python in pythons:
        for pin, flag, check in failures[python]:
            by_pin.setdefault(pin, []).append((flag, check))
    errors = []
    for pin, entries in by_pin.items():
        if len(entries) != len(pythons):
            continue
        flag = entries[0][0]
        reasons = "; ".join(f"{c.python}: {c.reason}" for _, c in entries)
        if flag is None:
            errors.append(
                f"required package {pin.name} {pin.version} (index {pin.index!r}) has no "
                f"installable wheel for python {tried} on {platform}: {reasons}"
            )
        else:
            errors.append(
                f'feature {flag!r} is set to "on" but {pin.name} {pin.version} has no '
                f"installable wheel for python {tried} on {platform}: {reasons}; "
                'set it to "auto" or "off"'
            )
    if not errors:
        # Every package works on some python, but no python works for all of them.
        parts = [
            f"on {python}: " + "; ".join(c.reason for _, _, c in failures[python])
            for python in pythons
        ]
        errors.append(
            f"no single python has wheels for every required package on {platform}: "
            + " | ".join(parts)
        )
    return errors
