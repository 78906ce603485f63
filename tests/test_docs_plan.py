"""docs/plan.md stays true: its JSON example names every field `bakery plan --format json`
writes for a target (tests/test_plan.py holds the real document to the same list)."""

from __future__ import annotations

import re

from tests.support.repo import ROOT

DOC = (ROOT / "docs" / "plan.md").read_text()


def test_json_schema_example_names_every_field() -> None:
    example = next(b for b in re.findall(r"```json\n(.*?)```", DOC, flags=re.S)
                   if '"schema_version"' in b)
    for field in ("id", "image", "repository", "variant", "platform", "python", "flags",
                  "context", "dockerfile", "contexts", "args", "tags", "labels", "cache_from",
                  "cache_to", "stages", "groups", "git"):
        assert f'"{field}"' in example, field
