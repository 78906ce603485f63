"""docs/matrix.md stays the reference of matrix.toml: it documents exactly the keys the models
accept (nested tables included), each documented default is the model's, and every TOML snippet
in it loads."""

from __future__ import annotations

import re
import tomllib
import types
import typing
from typing import Any

import pytest
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from bakery.matrix import parse_matrix
from bakery.matrix.checks import check_matrix
from bakery.matrix.models import Matrix
from bakery.plan import expand
from tests.support.repo import ROOT

DOC = (ROOT / "docs" / "matrix.md").read_text()
KEYS_SECTION = "## Every key"


def _models(annotation: Any) -> list[tuple[str, type[BaseModel]]]:
    """The models a field's type holds, each with how its keys hang off the field's key:
    "" (a table), ".<name>" (a table of tables), "[]" (a list of tables)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [("", annotation)]
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _models(args[0])
    if origin is dict:
        return [(".<name>", model) for _, model in _models(args[1])]
    if origin is tuple:
        return [("[]", model) for _, model in _models(args[0])]
    if origin in (typing.Union, types.UnionType):
        return [found for arg in args for found in _models(arg)]
    return []


def model_keys(model: type[BaseModel] = Matrix, prefix: str = "") -> dict[str, list[FieldInfo]]:
    """Every key path matrix.toml accepts (`images.<name>.torch.index`,
    `release.rules[].type`), with the fields it stands for (a key of several rule types
    stands for one field per type)."""
    keys: dict[str, list[FieldInfo]] = {}
    for name, field in model.model_fields.items():
        path = prefix + (field.alias or name)
        keys.setdefault(path, []).append(field)
        for joint, nested in _models(field.annotation):
            for key, fields in model_keys(nested, f"{path}{joint}.").items():
                keys.setdefault(key, []).extend(fields)
    return keys


def documented_rows() -> dict[str, list[str]]:
    """The rows of the key tables: key path -> its cells (key, type, default, meaning,
    example)."""
    section = DOC[DOC.index(KEYS_SECTION):]
    section = section[:section.find("\n## ", 1)] if "\n## " in section[1:] else section
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        match = re.match(r"^\| `([^`]+)` \|(.*)\|$", line)
        if match:
            key = match.group(1)
            assert key not in rows, f"docs/matrix.md documents {key!r} twice"
            rows[key] = [key, *(cell.strip() for cell in match.group(2).split(" | "))]
    return rows


def test_the_walk_finds_nested_tables() -> None:
    # the walk itself: tables, tables of tables, lists of tables of several types
    keys = model_keys()
    for key in ("namespace", "python.primary", "artifacts.<name>.sha256",
                "images.<name>.torch.index", "release.rules[].type", "release.rules[].format",
                "release.rules[].branch", "cache.from", "multiarch.<name>.tags"):
        assert key in keys, key
    assert len(keys["release.rules[].enable"]) == 5  # one per rule type


def test_every_key_of_the_models_is_documented_and_nothing_else() -> None:
    keys, rows = set(model_keys()), set(documented_rows())
    assert sorted(keys - rows) == [], "keys missing from docs/matrix.md"
    assert sorted(rows - keys) == [], "docs/matrix.md documents keys that do not exist"


def test_every_row_gives_type_default_meaning_and_example() -> None:
    for key, cells in documented_rows().items():
        assert len(cells) == 5 and all(cells), (key, cells)


def _default(field: FieldInfo) -> Any:
    if field.default_factory is not None:
        return field.default_factory()  # type: ignore[call-arg]
    return field.default


def test_the_documented_defaults_are_the_models() -> None:
    keys = model_keys()
    checked = 0
    for key, (_, _, default, _, _) in documented_rows().items():
        fields = keys[key]
        if default == "required":
            assert all(f.is_required() for f in fields), key
        elif default.startswith("none"):
            assert all(not f.is_required() and _default(f) is None for f in fields), key
        elif default.startswith("empty"):
            assert all(not f.is_required() and not _default(f) for f in fields), key
        elif re.fullmatch(r"`[^`]+`", default):
            value = tomllib.loads(f"v = {default.strip('`')}")["v"]
            for field in fields:
                assert not field.is_required(), key
                found = _default(field)
                found = list(found) if isinstance(found, tuple) else found
                assert found == value, (key, found, value)
        else:
            continue
        checked += 1
    assert checked >= 50, checked
    assert all(_default(f) is not PydanticUndefined for fs in keys.values() for f in fs
               if not f.is_required())


def toml_blocks(text: str) -> list[str]:
    return re.findall(r"```toml\n(.*?)```", text, flags=re.S)


def complete_example() -> str:
    return next(b for b in toml_blocks(DOC) if "schema_version" in b)


def merged(base: dict[str, Any], fragment: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in fragment.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def test_the_complete_example_loads_and_expands() -> None:
    plan = expand(parse_matrix(complete_example(), source="docs/matrix.md"))
    assert {t.id for t in plan.targets} == {"edge_cpu-py313", "edge_cpu-py313-dind",
                                            "edge_cpu-py312"}
    # its own names follow its namespace
    for target in plan.targets:
        for tag in (*target.tags.legacy, *target.tags.compatibility):
            assert tag.startswith("acme/"), tag


@pytest.mark.parametrize("index", range(len(toml_blocks(DOC))))
def test_every_toml_snippet_loads(index: int) -> None:
    """A snippet is a whole matrix, or a part of one: then it is loaded on top of the complete
    example, so it is checked in context."""
    text = toml_blocks(DOC)[index]
    data = tomllib.loads(text)
    if "schema_version" not in data:
        data = merged(tomllib.loads(complete_example()), data)
    matrix = Matrix.model_validate(data)
    check_matrix(matrix, source=f"docs/matrix.md snippet {index}")
    assert expand(matrix).targets
