"""`locks/manifest.json`: what each committed package lock was resolved from, its layer groups
(`locks/<key>/1-cuda.txt`, ...: one requirements file per image layer, bakery.lockfile.groups)
and the base image pinned by digest per platform. The loader (bakery.project) reads it
through `offered_locks` and `check_locks`:

* a target whose lock's inputs (python, platform, pins, indexes, the layer rule) no longer
  match, or any of whose group files was edited by hand or is missing, is an error telling you
  to run `bakery lock`;
* a target without a lock builds unlocked (today's pins only), and the plan says so;
* the base is used by digest while it was pinned for matrix.toml's `base_image`; a pin for
  another base image is an error.

Deterministic (sorted keys, no timestamps), so re-running `bakery lock` on unchanged inputs
rewrites nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from bakery.errors import ConfigError
from bakery.frozen import Foreign, Frozen
from bakery.jsonfile import read_versioned
from bakery.lockfile.groups import group_files
from bakery.lockfile.spec import LockSpec, lock_dir_name, lock_specs
from bakery.matrix.models import Matrix
from bakery.plan.target import Target
from bakery.textfile import read_text

# 2: each lock is a directory of layer groups (1: one file per target, read only by
# `bakery lock`, which rewrites it in the new layout)
SCHEMA_VERSION = 2
LOCKS_DIR = "locks"
MANIFEST = "manifest.json"
RUN_LOCK = "run `bakery lock`"


# names under locks/ only (bakery lock removes files the manifest names: never anything else)
_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
_GROUP_FILE = r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*\.txt$"
# a base pin: the platform's manifest by digest, nothing else reaches BASE_IMAGE
_PLATFORM = r"^[a-z0-9]+/[a-z0-9]+(/[a-z0-9]+)?$"
_SHA256 = r"^sha256:[0-9a-f]{64}$"
Count = Annotated[int, Field(ge=0, strict=True)]


class LockedGroup(Frozen):
    """One layer of a lock: its requirements file (relative to locks/), how many
    distributions it pins and the sha256 of the file."""

    name: str
    file: Annotated[str, Field(pattern=_GROUP_FILE)]
    packages: Count
    sha256: Annotated[str, Field(pattern=_SHA256)]


class LockedTarget(Frozen):
    inputs: str
    dir: Annotated[str, Field(pattern=_NAME)]
    python: str
    platform: str
    requirements: tuple[str, ...]
    indexes: tuple[str, ...]
    packages: Count
    groups: tuple[LockedGroup, ...]


class BaseLock(Frozen):
    image: str
    digests: dict[Annotated[str, Field(pattern=_PLATFORM)],
                  Annotated[str, Field(pattern=_SHA256)]] = Field(default_factory=dict)

    def ref(self, platform: str) -> str | None:
        digest = self.digests.get(platform)
        return f"{self.image}@{digest}" if digest else None


class FrontendLock(Frozen):
    """The Dockerfile frontend (matrix.toml's `frontend`, the `# syntax=` line of every
    Dockerfile; a tag that moves with each frontend release), pinned like the base image and
    refreshed with it: by the digest of the tag's index, one pin for every build platform
    (BuildKit runs the frontend for the build host). The plan hands it to every build as
    BUILDKIT_SYNTAX, the build arg BuildKit's Dockerfile frontend takes in place of the
    `# syntax=` line, so a build runs exactly the locked frontend."""

    image: str
    digest: Annotated[str, Field(pattern=r"^sha256:[0-9a-f]{64}$")]

    @property
    def ref(self) -> str:
        return f"{self.image}@{self.digest}"


class Manifest(Frozen):
    schema_version: Literal[2] = 2
    generated_by: str = "bakery lock: do not edit; re-run it after changing matrix.toml"
    base: BaseLock | None = None
    frontend: FrontendLock | None = None
    targets: dict[str, LockedTarget] = Field(default_factory=dict)


def locks_dir(matrix_path: Path) -> Path:
    return matrix_path.parent / LOCKS_DIR


def manifest_path(matrix_path: Path) -> Path:
    return locks_dir(matrix_path) / MANIFEST


def read_manifest(path: Path) -> Manifest | None:
    return read_versioned(
        path, Manifest, version=SCHEMA_VERSION, what="the package locks", fix=RUN_LOCK
    )


class _LegacyTarget(Foreign):
    file: Annotated[str, Field(pattern=_NAME)]


class _LegacyManifest(Foreign):
    schema_version: Literal[1]
    base: BaseLock | None = None
    targets: dict[str, _LegacyTarget] = Field(default_factory=dict)


def read_manifest_to_refresh(path: Path) -> tuple[Manifest | None, dict[str, str]]:
    """The manifest as `bakery lock` reads it: (the manifest, {key: a version-1 lock file}).
    A version-1 manifest (one lock file per target, before the layer groups) is accepted
    here only: its base pin is kept and each target's old file is uv's starting point, so the
    move to the new layout changes no version; the old files are removed once it is written."""
    try:
        raw = json.loads(read_text(path, what="package locks"))
    except (FileNotFoundError, json.JSONDecodeError):
        return read_manifest(path), {}
    if not isinstance(raw, dict) or raw.get("schema_version") != 1:
        return read_manifest(path), {}
    try:
        legacy = _LegacyManifest.model_validate(raw)
    except ValueError:
        return read_manifest(path), {}
    manifest = Manifest(base=legacy.base)
    return manifest, {key: target.file for key, target in legacy.targets.items()}


def manifest_json(manifest: Manifest) -> str:
    return json.dumps(manifest.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"


def file_sha256(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class PlanLocks:
    """What the plan takes from the locks: BASE_IMAGE per platform, PACKAGES_LOCK (the lock's
    directory of group files) per key."""

    base_images: dict[str, str] = field(default_factory=dict)
    package_locks: dict[str, str] = field(default_factory=dict)
    frontend: str | None = None


def expected_files(key: str) -> list[str]:
    """The group files of the lock of `key`, relative to locks/, in install order."""
    return [f"{lock_dir_name(key)}/{name}" for name in group_files()]


def stale_reason(
    spec: LockSpec, entry: LockedTarget | None, directory: Path
) -> str | None:
    """Why the committed lock of `spec` cannot be used (None: it can; "missing": none)."""
    if entry is None:
        return "missing"
    if entry.dir != lock_dir_name(spec.key):
        return (f"names the directory {entry.dir!r}, not its own {lock_dir_name(spec.key)!r}"
                " (another target's lock is never used)")
    if (entry.python, entry.platform) != (spec.python, spec.uv_platform):
        return (f"locked for python {entry.python} on {entry.platform}, not python"
                f" {spec.python} on {spec.uv_platform}")
    if entry.inputs != spec.fingerprint():
        return (
            "locked for other inputs (python, platform, package pins, indexes or the layer"
            " rule changed since)"
        )
    if [g.file for g in entry.groups] != expected_files(spec.key):
        return "its layer groups are not the ones this bakery installs"
    for group in entry.groups:
        path = directory / group.file
        try:
            text = read_text(path, what="package lock")
        except FileNotFoundError:
            return f"{path} does not exist"
        if file_sha256(text) != group.sha256:
            return f"{path} was changed after `bakery lock` wrote it"
    return None


def offered_locks(manifest: Manifest | None) -> PlanLocks:
    """Everything the manifest pins, before it is checked against a plan (`check_locks`): the
    plan is expanded once, with these, and refused when one it uses is stale."""
    if manifest is None:
        return PlanLocks()
    base = manifest.base
    return PlanLocks(
        base_images={p: ref for p in base.digests if (ref := base.ref(p))} if base else {},
        package_locks={key: f"{LOCKS_DIR}/{lock_dir_name(key)}" for key in manifest.targets},
        frontend=manifest.frontend.ref if manifest.frontend else None,
    )


def check_locks(matrix: Matrix, targets: Iterable[Target], manifest: Manifest | None,
                path: Path) -> None:
    """ConfigError for a stale base or frontend pin, or a stale lock of one of `targets`
    (a target without a lock builds unlocked)."""
    if manifest is None:
        return
    if manifest.base is not None and manifest.base.image != matrix.base_image:
        raise ConfigError(
            f"{path}: base.image: pinned for {manifest.base.image!r} but matrix.toml's"
            f" base_image is {matrix.base_image!r}; run `bakery lock --base-only`"
        )
    if manifest.frontend is not None and manifest.frontend.image != matrix.frontend:
        raise ConfigError(
            f"{path}: frontend.image: pinned for {manifest.frontend.image!r} but matrix.toml's"
            f" frontend is {matrix.frontend!r}; run `bakery lock --base-only`"
        )
    for spec in lock_specs(matrix, list(targets)):
        reason = stale_reason(spec, manifest.targets.get(spec.key), path.parent)
        if reason is not None and reason != "missing":
            raise ConfigError(
                f"{path}: targets.{spec.key}: {reason}; run `bakery lock --target {spec.key}`"
            )


def lock_problems(matrix_path: Path, specs: Iterable[LockSpec]) -> list[tuple[str, str]]:
    """(key, why) for every lock of `specs` that is missing or stale (`bakery lock --check`)."""
    path = manifest_path(matrix_path)
    manifest = read_manifest(path)
    return [
        (spec.key, why) for spec in specs
        if (why := stale_reason(spec, manifest.targets.get(spec.key) if manifest else None,
                                path.parent)) is not None
    ]
