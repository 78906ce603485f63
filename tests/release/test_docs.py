"""docs/release.md stays true: its JSON example has exactly the fields release writes."""

from __future__ import annotations

import json
import re

from bakery.release.execute import STATES, TagOutcome
from bakery.release.operations import Refusal, TagOperation
from bakery.views.release import release_document
from tests.support.repo import ROOT

DOC = (ROOT / "docs" / "release.md").read_text()


def test_the_json_example_names_every_field() -> None:
    example = json.loads(re.findall(r"```json\n(.*?)```", DOC, flags=re.S)[0])
    op = TagOperation(target="t", tag="r:1", kind="release", source="r@sha256:0",
                      digest="sha256:0")
    real = release_document([TagOutcome(operation=op, state="created")],
                            [Refusal(target="u", reason="x")], dry_run=False, ok=False)
    assert set(example) == set(real)
    assert set(example["tags"][0]) == set(real["tags"][0])
    assert set(example["refused"][0]) == set(real["refused"][0])
    for state in STATES:
        assert f"`{state}`" in DOC, state
