"""The files bakery keeps (results, lock, bake file): written atomically (`write_atomic`, from
bakery.textfile), and read back (JSON: the file, its schema_version, then the model), each
failure a one-line ConfigError that says what to run instead."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from bakery.errors import ConfigError
from bakery.textfile import read_text
from bakery.textfile import write_atomic as write_atomic

M = TypeVar("M", bound=BaseModel)


def read_versioned(
    path: Path, model: type[M], *, version: int, what: str, fix: str, missing: str | None = None
) -> M | None:
    """`model` from the JSON file at `path`, or None when the file does not exist and
    `missing` is None (else ConfigError with `missing`). `what` names the file's content in
    messages ("the build results"); `fix` says what to run when it cannot be used."""
    try:
        text = read_text(path, what=what.removeprefix("the "))
    except FileNotFoundError:
        if missing is None:
            return None
        raise ConfigError(f"{path}: {missing}") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        # some messages end in "at" already ("Unterminated string starting at")
        where = f"line {exc.lineno}, column {exc.colno}"
        problem = f"{exc.msg} {where}" if exc.msg.endswith(" at") else f"{exc.msg} at {where}"
        raise ConfigError(f"{path}: not valid JSON ({problem}); {fix}") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to be {what}; {fix}") from None
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
