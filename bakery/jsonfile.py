"""The files bakery keeps (results, lock, bake file): written atomically (`write_atomic`, from
bakery.textfile), and read back (JSON: the file, its schema_version, then the model), each
failure a one-line ConfigError that says what to run instead."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from bakery.errors import ConfigError
from bakery.textfile import read_text
from bakery.textfile import write_atomic as write_atomic

M = TypeVar("M", bound=BaseModel)

# Bounds checked before a file bakery keeps is parsed: nothing it writes is bigger or deeper
# (a results file of 10,000 targets is about 30 MB; its probe reports nest 4 deep).
MAX_FILE = 256 * 1024 * 1024
MAX_DEPTH = 64

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def nesting_depth(text: str) -> int:
    """How deep arrays and objects nest in the JSON `text` (strings skipped), without
    parsing it: a document is refused by its depth before a parser recurses into it."""
    depth = deepest = 0
    for bracket in _BRACKET.findall(_STRING.sub("", text)):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def no_constant(name: str) -> object:
    """`parse_constant` for json.loads: NaN and Infinity are not JSON numbers."""
    raise ValueError(f"{name} is not a JSON number")


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
    if len(text) > MAX_FILE:
        raise ConfigError(f"{path}: {len(text)} characters, more than the {MAX_FILE} bakery"
                          f" reads in {what}; {fix}")
    depth = nesting_depth(text)
    if depth > MAX_DEPTH:
        raise ConfigError(f"{path}: nested {depth} deep, more than the {MAX_DEPTH} of {what};"
                          f" {fix}")
    try:
        raw = json.loads(text, parse_constant=no_constant)
    except json.JSONDecodeError as exc:
        # some messages end in "at" already ("Unterminated string starting at")
        where = f"line {exc.lineno}, column {exc.colno}"
        problem = f"{exc.msg} {where}" if exc.msg.endswith(" at") else f"{exc.msg} at {where}"
        raise ConfigError(f"{path}: not valid JSON ({problem}); {fix}") from None
    except ValueError as exc:  # NaN, Infinity
        raise ConfigError(f"{path}: not valid JSON ({exc}); {fix}") from None
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
