"""`locks/manifest.json`: what each committed package lock was resolved from, and the base
image pinned by digest per platform. plan, render and bake read it through `plan_locks`:

* a target whose lock's inputs (python, platform, pins, indexes) no longer match matrix.toml,
  or whose lock file was edited by hand, is an error telling you to run `bakery lock`;
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
from typing import Literal

from pydantic import BaseModel, ConfigDict

from bakery.errors import ConfigError
from bakery.jsonfile import read_versioned
from bakery.lockfile.spec import LockSpec, lock_specs
from bakery.matrix.models import Matrix
from bakery.plan.target import Target
from bakery.textfile import read_text

SCHEMA_VERSION = 1
LOCKS_DIR = "locks"
MANIFEST = "manifest.json"
RUN_LOCK = "run `bakery lock`"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LockedTarget(_Frozen):
    inputs: str
    file: str
    sha256: str
    python: str
    platform: str
    requirements: tuple[str, ...]
    indexes: tuple[str, ...]
    packages: int


class BaseLock(_Frozen):
    image: str
    digests: dict[str, str] = {}

    def ref(self, platform: str) -> str | None:
        digest = self.digests.get(platform)
        return f"{self.image}@{digest}" if digest else None


class Manifest(_Frozen):
    schema_version: Literal[1] = 1
    generated_by: str = "bakery lock: do not edit; re-run it after changing matrix.toml"
    base: BaseLock | None = None
    targets: dict[str, LockedTarget] = {}


def locks_dir(matrix_path: Path) -> Path:
    return matrix_path.parent / LOCKS_DIR


def manifest_path(matrix_path: Path) -> Path:
    return locks_dir(matrix_path) / MANIFEST


def read_manifest(path: Path) -> Manifest | None:
    return read_versioned(
        path, Manifest, version=SCHEMA_VERSION, what="the package locks", fix=RUN_LOCK
    )


def manifest_json(manifest: Manifest) -> str:
    return json.dumps(manifest.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"


def file_sha256(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class PlanLocks:
    """What the plan takes from the locks: BASE_IMAGE per platform, PACKAGES_LOCK per key."""

    base_images: dict[str, str] = field(default_factory=dict)
    package_locks: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.base_images or self.package_locks)


def stale_reason(
    spec: LockSpec, entry: LockedTarget | None, directory: Path
) -> str | None:
    """Why the committed lock of `spec` cannot be used (None: it can; "missing": none)."""
    if entry is None:
        return "missing"
    if entry.inputs != spec.fingerprint():
        return (
            "locked for other inputs (python, platform, package pins or indexes changed"
            " since)"
        )
    path = directory / entry.file
    try:
        text = read_text(path, what="package lock")
    except FileNotFoundError:
        return f"{path} does not exist"
    if file_sha256(text) != entry.sha256:
        return f"{path} was changed after `bakery lock` wrote it"
    return None


def plan_locks(matrix: Matrix, targets: Iterable[Target], matrix_path: Path) -> PlanLocks:
    """The locked values for `targets`; ConfigError for a stale lock or base pin."""
    path = manifest_path(matrix_path)
    manifest = read_manifest(path)
    if manifest is None:
        return PlanLocks()
    directory = path.parent
    base_images: dict[str, str] = {}
    if manifest.base is not None:
        if manifest.base.image != matrix.base_image:
            raise ConfigError(
                f"{path}: base.image: pinned for {manifest.base.image!r} but matrix.toml's"
                f" base_image is {matrix.base_image!r}; run `bakery lock --base`"
            )
        base_images = {
            platform: ref for platform in manifest.base.digests
            if (ref := manifest.base.ref(platform))
        }
    packages: dict[str, str] = {}
    for spec in lock_specs(matrix, list(targets)):
        entry = manifest.targets.get(spec.key)
        reason = stale_reason(spec, entry, directory)
        if reason == "missing" or entry is None:
            continue
        if reason is not None:
            raise ConfigError(
                f"{path}: targets.{spec.key}: {reason}; run `bakery lock --target {spec.key}`"
            )
        packages[spec.key] = f"{LOCKS_DIR}/{entry.file}"
    return PlanLocks(base_images=base_images, package_locks=packages)


def lock_problems(matrix_path: Path, specs: Iterable[LockSpec]) -> list[tuple[str, str]]:
    """(key, why) for every lock of `specs` that is missing or stale (`bakery lock --check`)."""
    path = manifest_path(matrix_path)
    manifest = read_manifest(path)
    return [
        (spec.key, why) for spec in specs
        if (why := stale_reason(spec, manifest.targets.get(spec.key) if manifest else None,
                                path.parent)) is not None
    ]
