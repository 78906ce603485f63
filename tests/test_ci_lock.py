"""The hashed lock CI installs bakery from (`.github/requirements/bakery.txt`, made with `uv pip
compile --generate-hashes`): it pins every dependency pyproject.toml declares, and what
building bakery needs, to a version the declaration allows, each with its hashes, so that
`pip install --require-hashes` in a job holding secrets installs nothing unpinned."""

from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.support.repo import ROOT

LOCK = ROOT / ".github/requirements/bakery.txt"
BUILD_IN = ROOT / ".github/requirements/build.in"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^ ;\\]+)")
REGENERATE = ("uv pip compile pyproject.toml .github/requirements/build.in --generate-hashes"
              " --universal --python-version 3.11 -o .github/requirements/bakery.txt")


def pins() -> dict[str, tuple[Version, int]]:
    """{package: (pinned version, number of hashes)} of the lock."""
    out: dict[str, tuple[Version, int]] = {}
    name = None
    for line in LOCK.read_text().splitlines():
        match = PIN.match(line)
        if match:
            name = canonicalize_name(match[1])
            out[name] = (Version(match[2]), 0)
        elif line.strip().startswith("--hash=sha256:") and name is not None:
            version, hashes = out[name]
            out[name] = (version, hashes + 1)
    return out


def declared() -> list[Requirement]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    build = [line for line in BUILD_IN.read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    return [Requirement(r) for r in pyproject["project"]["dependencies"]] + [
        Requirement(r) for r in build]


def test_every_declared_dependency_is_pinned_within_its_range() -> None:
    locked = pins()
    for requirement in declared():
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is not in {LOCK.name}; regenerate: {REGENERATE}"
        assert requirement.specifier.contains(locked[name][0], prereleases=True), (
            f"{LOCK.name} pins {name}=={locked[name][0]}, pyproject.toml asks"
            f" {requirement.specifier}; regenerate: {REGENERATE}")


def test_the_lock_holds_what_pyproject_asks_and_nothing_it_dropped() -> None:
    text = LOCK.read_text()
    direct = {canonicalize_name(m) for m in re.findall(
        r"^([A-Za-z0-9][A-Za-z0-9._-]*)==[^\n]*\n(?:    --hash[^\n]*\n)+(?:    # via bakery \(pyproject.toml\)"
        r"|    # via\n(?:    #   [^\n]*\n)*?    #   bakery \(pyproject.toml\))", text, re.MULTILINE)}
    wanted = {canonicalize_name(r.name) for r in declared()
              if canonicalize_name(r.name) not in ("setuptools", "wheel")}
    assert direct == wanted, f"regenerate: {REGENERATE}"
    assert REGENERATE in text  # the header names the command that made it


def test_every_pin_has_a_hash() -> None:
    locked = pins()
    assert locked and all(hashes >= 1 for _, hashes in locked.values()), locked
