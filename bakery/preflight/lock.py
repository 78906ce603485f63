"""The preflight lock: `matrix.lock.json` next to matrix.toml, committed.

It holds, per image, what `bakery preflight` decided (python, flags, the wheel each package
resolves to) and the fingerprint of the matrix inputs it decided from (bakery.preflight.spec).
plan, render and bake read it through `plan_decisions`:

* an image with an entry whose fingerprint matches: its python and `auto` flags come from it;
* an entry whose fingerprint differs (the matrix changed since): error, run preflight;
* no entry (or no lock): fine while the image has no `auto` flag (its python is the primary,
  reported as not checked); an error naming the image otherwise.

The file is deterministic (sorted keys, no timestamps): re-running preflight on an unchanged
matrix and index rewrites it byte for byte, so its git diff shows only real changes.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import ConfigDict, Field

from bakery.errors import ConfigError
from bakery.frozen import Frozen
from bakery.jsonfile import read_versioned
from bakery.matrix import Matrix
from bakery.plan.target import FlagChoice, ImageChoice
from bakery.preflight.spec import fingerprint

if TYPE_CHECKING:
    from bakery.preflight.decide import ImageDecision

LOCK_SCHEMA_VERSION = 1
RUN_PREFLIGHT = "run `bakery preflight`"


class _Kept(Frozen):
    # The lock holds preflight's whole decision (packages, wheels, sha256s); plan reads only
    # these fields and keeps the rest as it is, so reading needs no preflight models.
    model_config = ConfigDict(extra="allow")


class LockedFlag(_Kept):
    name: str
    setting: Literal["on", "off", "auto"]
    enabled: bool
    reason: str


class LockedDecision(_Kept):
    image: str
    python: str
    python_reason: str
    flags: tuple[LockedFlag, ...] = ()
    errors: tuple[()] = ()  # preflight never locks an image it could not decide


class LockEntry(Frozen):
    inputs: str
    decision: LockedDecision


class Lock(Frozen):
    schema_version: Literal[1] = 1
    generated_by: str = "bakery preflight: do not edit; re-run it after changing matrix.toml"
    images: dict[str, LockEntry] = Field(default_factory=dict)


def lock_path(matrix_path: Path) -> Path:
    """`matrix.toml` -> `matrix.lock.json` in the same directory."""
    return matrix_path.with_name(f"{matrix_path.stem}.lock.json")


def read_lock(path: Path) -> Lock | None:
    """The lock at `path`, None when there is none; ConfigError when it cannot be used."""
    return read_versioned(
        path, Lock, version=LOCK_SCHEMA_VERSION, what="the lock", fix=RUN_PREFLIGHT
    )


@contextlib.contextmanager
def locked_dir(directory: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on `directory` (flock on the directory itself, so no
    lock file is left behind): two preflight runs read-merge-write the lock one at a time."""
    import fcntl

    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise ConfigError(f"{directory}: cannot open to lock: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def lock_json(lock: Lock) -> str:
    return json.dumps(lock.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"


def updated_lock(old: Lock | None, matrix: Matrix, decisions: Sequence[ImageDecision]) -> Lock:
    """`old` with the entries of `decisions` replaced (each must be error-free), without the
    entries of images matrix.toml no longer has."""
    entries = {
        name: entry for name, entry in (old.images if old else {}).items()
        if name in matrix.images
    }
    for decision in decisions:
        if not decision.ok or decision.python is None:
            raise ValueError(f"{decision.image}: a failed decision cannot be locked")
        entries[decision.image] = LockEntry(
            inputs=fingerprint(matrix, decision.image),
            decision=LockedDecision.model_validate(decision.model_dump(mode="json")),
        )
    return Lock(images=dict(sorted(entries.items())))


def _auto_flags(matrix: Matrix, name: str) -> list[str]:
    return sorted(f for f, s in matrix.images[name].features.items() if s == "auto")


def plan_decisions(
    matrix: Matrix, lock: Lock | None, path: Path, *, source: str = "matrix.toml"
) -> dict[str, ImageChoice]:
    """The decisions the plan uses, per image; ConfigError for a stale or missing decision."""
    decisions: dict[str, ImageChoice] = {}
    for name in matrix.images:
        entry = lock.images.get(name) if lock else None
        auto = _auto_flags(matrix, name)
        if entry is None:
            if auto:
                where = f"{path} does not exist" if lock is None else f"{path} has no entry for it"
                also = f" (also: {', '.join(auto[1:])})" if len(auto) > 1 else ""
                raise ConfigError(
                    f"{source}: images.{name}.features.{auto[0]}: 'auto' is decided by"
                    f" preflight and {where}{also}; run `bakery preflight --target {name}`"
                    " (or set the flag to 'on' or 'off')"
                )
            continue
        if entry.inputs != fingerprint(matrix, name):
            raise ConfigError(
                f"{path}: images.{name} was decided for other matrix values (python, torch,"
                f" package pins, indexes or flags changed since); run"
                f" `bakery preflight --target {name}`"
            )
        decisions[name] = _plan_decision(entry.decision)
    return decisions


def _plan_decision(decision: LockedDecision) -> ImageChoice:
    flags: Mapping[str, FlagChoice] = {
        f.name: FlagChoice(setting=f.setting, enabled=f.enabled, reason=f"preflight: {f.reason}")
        for f in decision.flags
    }
    return ImageChoice(
        python=decision.python,
        python_reason=f"preflight: {decision.python_reason}",
        flags=dict(flags),
    )


def write_lock(path: Path, matrix: Matrix, decisions: Sequence[ImageDecision]) -> None:
    """Record `decisions` (all decided) in the lock at `path`, atomically; an unchanged lock
    is not rewritten, so its modification time says when a decision last changed."""
    from bakery.textfile import read_text, write_atomic

    # another preflight may be writing the lock too: read, merge and write under a lock
    with locked_dir(path.parent):
        old = read_lock(path)
        text = lock_json(updated_lock(old, matrix, decisions))
        if old is None or read_text(path, what="lock") != text:
            write_atomic(path, text)
