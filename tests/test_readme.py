"""The README stays true: its matrix example loads, its commands are the ones CI runs."""

from __future__ import annotations

import re

from bakery.matrix import parse_matrix
from bakery.plan import expand
from tests.support.repo import ROOT

README = (ROOT / "README.md").read_text()


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_every_matrix_example_loads_and_expands() -> None:
    examples = [b for b in blocks("toml") if "schema_version" in b]
    assert examples, "README lost its matrix example"
    for text in examples:
        plan = expand(parse_matrix(text, source="README.md"))
        assert {t.id for t in plan.targets} == {"edge_cpu-py313", "edge_cpu-py313-dind",
                                                "edge_cpu-py312"}


def test_the_two_quick_start_commands_are_what_ci_runs() -> None:
    setup, tests = blocks("sh")[:2]
    assert "bakery plan" in setup and "pip install" in setup
    ci = (ROOT / ".ci" / "run").read_text()
    assert tests.strip() in ci


def test_json_schema_example_names_every_field() -> None:
    example = next(b for b in blocks("json") if '"schema_version"' in b)
    for field in ("id", "image", "repository", "variant", "platform", "python", "flags",
                  "context", "dockerfile", "contexts", "args", "tags", "labels", "cache_from",
                  "cache_to", "stages", "groups", "git"):
        assert f'"{field}"' in example, field

