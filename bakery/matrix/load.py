"""Reading matrix.toml: TOML syntax, then the models, then cross-checks; one clear error."""

from __future__ import annotations

import re
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from bakery.errors import ConfigError
from bakery.matrix.checks import check_matrix
from bakery.matrix.models import Matrix
from bakery.suggest import did_you_mean
from bakery.textfile import read_text


def load_matrix(path: Path) -> Matrix:
    """Read, validate and cross-check a matrix file; raise ConfigError naming file and key."""
    try:
        text = read_text(path, what="matrix file")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such matrix file (pass --matrix PATH, or run bakery in the directory"
            " that holds matrix.toml)"
        ) from None
    return parse_matrix(text, source=str(path))


def parse_matrix(text: str, *, source: str = "matrix.toml") -> Matrix:
    """Validate matrix TOML text; `source` names the file in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: invalid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{source}: invalid TOML: nested too deeply") from None
    try:
        matrix = Matrix.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {describe_validation_error(exc)}") from None
    check_matrix(matrix, source=source)
    return matrix


# --- turning pydantic's errors into one line ---------------------------------------------

_TYPE_NAMES = {"str", "int", "bool", "float", "dict", "list", "tuple", "none"}


def key_path(loc: tuple[int | str, ...]) -> str:
    """Render a pydantic location as a TOML key path: images.gpu.features.tensorrt, rules[2]."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


def _clean_loc(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    cleaned: list[int | str] = []
    for part in loc:
        if isinstance(part, str):
            # union members and discriminator tags are not keys the user wrote
            if part.split("[", 1)[0] in _TYPE_NAMES or "[" in part:
                continue
            if cleaned and isinstance(cleaned[-1], int) and part in _RULE_TYPES:
                continue
        cleaned.append(part)
    return tuple(cleaned)


_RULE_TYPES = {"raw", "sha", "semver", "ref", "edge"}


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model class whose keys live at `loc` (for 'did you mean' on unknown keys)."""
    current: Any = Matrix
    for part in loc:
        current = _unwrap(current, part)
        if current is None:
            return None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: Any, part: int | str) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        fields = annotation.model_fields
        name = next((n for n, f in fields.items() if part in (n, f.alias)), None)
        return None if name is None else fields[name].annotation
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _unwrap(args[0], part)
    if origin in (dict, Mapping):
        return args[1]
    if origin in (list, tuple):
        return args[0]
    if origin in (typing.Union, types.UnionType):
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        for model in models:
            found = _unwrap(model, part)
            if found is not None:
                return found
        if isinstance(part, str) and models:
            return next((m for m in models if part in _RULE_TYPES), None)
    return None


def _describe(error: ErrorDetails) -> str:
    loc = _clean_loc(tuple(error["loc"]))
    path = key_path(loc) or "(top level)"
    kind = error["type"]
    value = error.get("input")
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        name = str(loc[-1])
        keys = [f.alias or n for n, f in model.model_fields.items()] if model else []
        return f"{path}: unknown key {name!r}{did_you_mean(name, keys)}"
    if kind == "missing":
        return f"{path}: required key is missing"
    if kind == "literal_error" and loc == ("schema_version",):
        return f"schema_version: {value!r} is not supported; this bakery reads schema_version = 1"
    if kind == "literal_error":
        expected = re.findall(r"'([^']*)'", str(error.get("ctx", {}).get("expected", "")))
        hint = did_you_mean(str(value), expected) if isinstance(value, str) else ""
        allowed = ", ".join(repr(e) for e in expected)
        return f"{path}: {value!r} is not one of {allowed}{hint}"
    if kind == "union_tag_invalid":
        ctx = error.get("ctx", {})
        tag, expected_tags = ctx.get("tag"), ctx.get("expected_tags")
        return f"{path}: unknown type {tag!r} (expected one of {expected_tags})"
    if kind == "value_error":
        return f"{path}: {str(error['msg']).removeprefix('Value error, ')}"
    message = str(error["msg"])
    return f"{path}: {message[:1].lower()}{message[1:]} (got {value!r})"


def describe_validation_error(exc: ValidationError) -> str:
    """One line for the most specific error, with a count of the others."""
    errors = exc.errors()
    # union members each report a failure: the deepest location is the one the user means
    best = max(errors, key=lambda e: len(_clean_loc(tuple(e["loc"]))))
    line = _describe(best)
    others = len({key_path(_clean_loc(tuple(e["loc"]))) for e in errors}) - 1
    return line + (f" (and {others} more problem{'s' * (others > 1)})" if others > 0 else "")
