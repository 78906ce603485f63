"""Read a rendered bake file the way `docker buildx bake --print` resolves it.

python-hcl2 keeps string literals quoted and escaped; this unquotes them, undoes HCL's `$${`
and `%%{` escapes, and applies `inherits` (maps merge, everything else is overridden), so a
test can compare each target with the plan.
"""

from __future__ import annotations

import json
import re
from typing import Any

import hcl2

_UNICODE = re.compile(r"\\u([0-9a-fA-F]{4})")


def unquote(value: Any) -> Any:
    if isinstance(value, str):
        if len(value) >= 2 and value[0] == value[-1] == '"':
            text = json.loads(_UNICODE.sub(lambda m: f"\\u{m[1]}", value))
            return text.replace("$${", "${").replace("%%{", "%{")
        return value
    if isinstance(value, list):
        return [unquote(v) for v in value]
    if isinstance(value, dict):
        return {unquote(k): unquote(v) for k, v in value.items() if k != "__is_block__"}
    return value


def parse(text: str) -> dict[str, dict[str, dict[str, Any]]]:
    """{'target': {name: attrs}, 'group': {name: attrs}} with plain Python values."""
    raw = hcl2.loads(text)
    out: dict[str, dict[str, dict[str, Any]]] = {"target": {}, "group": {}}
    for kind in ("target", "group"):
        for block in raw.get(kind, []):
            for name, attrs in block.items():
                out[kind][unquote(name)] = unquote(attrs)
    return out


def resolve(text: str) -> dict[str, dict[str, Any]]:
    """Every target with its `inherits` applied, as bake does."""
    parsed = parse(text)
    targets = parsed["target"]

    def resolved(name: str) -> dict[str, Any]:
        attrs = dict(targets[name])
        merged: dict[str, Any] = {}
        for parent in attrs.pop("inherits", []):
            for key, value in resolved(parent).items():
                if isinstance(value, dict) and isinstance(merged.get(key), dict):
                    merged[key] = {**merged[key], **value}
                else:
                    merged[key] = value
        for key, value in attrs.items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
        return merged

    return {name: resolved(name) for name in targets}
