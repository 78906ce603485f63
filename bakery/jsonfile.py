"""The files bakery keeps (results, lock, bake file): written atomically, and read back
(JSON: the file, its schema_version, then the model), each failure a one-line ConfigError that
says what to run instead."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from bakery.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def read_versioned(
    path: Path, model: type[M], *, version: int, what: str, fix: str, missing: str | None = None
) -> M | None:
    """`model` from the JSON file at `path`, or None when the file does not exist and
    `missing` is None (else ConfigError with `missing`). `what` names the file's content in
    messages ("the build results"); `fix` says what to run when it cannot be used."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if missing is None:
            return None
        raise ConfigError(f"{path}: {missing}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc.strerror}") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}); {fix}"
        ) from None
    found = raw.get("schema_version") if isinstance(raw, dict) else None
    if found != version:
        raise ConfigError(
            f"{path}: schema_version {found!r} is not the one this bakery reads ({version}); {fix}"
        )
    try:
        return model.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{path}: {where}: {first['msg']}; {fix}") from None


def write_atomic(path: Path, text: str) -> None:
    """Write through a temporary file in the same directory and rename: a reader (or a run
    that is killed half-way) sees the old file or the new one, never a half-written one."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        Path(tmp).chmod(path.stat().st_mode & 0o777 if path.exists() else 0o644)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
