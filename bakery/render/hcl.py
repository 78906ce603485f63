"""HCL literals for the bake file: strings escaped so bake never interpolates them."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*\Z")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def hcl_string(value: str) -> str:
    """A quoted HCL string. `${` and `%{` start templates in HCL, so they are doubled."""
    out = "".join(_ESCAPES.get(ch, ch) if ch >= " " or ch in _ESCAPES else f"\\u{ord(ch):04x}"
                  for ch in value)
    out = out.replace("${", "$${").replace("%{", "%%{")
    return f'"{out}"'


def hcl_key(key: str) -> str:
    """An object key: bare when it is an identifier, quoted otherwise (label names have dots)."""
    return key if _IDENT.match(key) else hcl_string(key)


def hcl_value(value: object, indent: int = 2, level: int = 1) -> str:
    """Any plan value (str, bool, number, list, mapping) as an HCL expression."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return hcl_string(value)
    pad, end = " " * indent * (level + 1), " " * indent * level
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        items = "".join(f"{pad}{hcl_key(str(k))} = {hcl_value(v, indent, level + 1)}\n"
                        for k, v in value.items())
        return "{\n" + items + end + "}"
    if isinstance(value, Sequence):
        if not value:
            return "[]"
        items = "".join(f"{pad}{hcl_value(v, indent, level + 1)},\n" for v in value)
        return "[\n" + items + end + "]"
    raise TypeError(f"no HCL form for {type(value).__name__}")
