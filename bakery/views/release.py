"""How `bakery release` reports: target -> tag -> created / moved / already present / refused."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bakery.release.execute import TagOutcome, command_line
from bakery.release.operations import Refusal

RELEASE_SCHEMA_VERSION = 1
_LABEL = {"created": "created", "moved": "moved", "present": "already present",
          "would create": "would create", "would move": "would move", "failed": "FAILED"}


def release_document(
    outcomes: Sequence[TagOutcome], refusals: Sequence[Refusal], *, dry_run: bool, ok: bool
) -> dict[str, Any]:
    return {
        "schema_version": RELEASE_SCHEMA_VERSION,
        "ok": ok,
        "dry_run": dry_run,
        "refused": [{"target": r.target, "reason": r.reason} for r in refusals],
        "tags": [
            {"target": o.operation.target, "tag": o.operation.tag, "kind": o.operation.kind,
             "source": o.operation.source, "digest": o.operation.digest, "state": o.state,
             "previous": o.previous, "message": o.message}
            for o in outcomes
        ],
    }


def release_json(outcomes: Sequence[TagOutcome], refusals: Sequence[Refusal], *,
                 dry_run: bool, ok: bool) -> str:
    doc = release_document(outcomes, refusals, dry_run=dry_run, ok=ok)
    return json.dumps(doc, indent=2) + "\n"


def release_table(outcomes: Sequence[TagOutcome], refusals: Sequence[Refusal], *,
                  dry_run: bool) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=200)
    table = Table(show_edge=False, box=None, padding=(0, 2, 0, 0))
    for column in ("target", "tag", "kind", "state"):
        table.add_column(column, overflow="fold")
    for refusal in refusals:
        table.add_row(refusal.target, "-", "-", Text(f"refused: {refusal.reason}", style="red"))
    for outcome in outcomes:
        op = outcome.operation
        state = _LABEL[outcome.state]
        if outcome.previous and outcome.state in ("moved", "would move"):
            state += f" from {outcome.previous[:19]}"
        if outcome.message:
            state += f": {outcome.message}"
        style = {"failed": "red", "present": "dim"}.get(outcome.state, "green")
        table.add_row(op.target, op.tag, op.kind, Text(state, style=style))
    console.print(table)
    if dry_run:
        todo = [o for o in outcomes if o.state in ("would create", "would move")]
        console.print(f"\n--dry-run: {len(todo)} operation(s) would run:")
        for outcome in todo:
            console.print(f"  {command_line(outcome.operation)}")
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[_LABEL[outcome.state]] = counts.get(_LABEL[outcome.state], 0) + 1
    summary = ", ".join(f"{n} {label}" for label, n in counts.items()) or "no tags"
    refused = f"; {len(refusals)} target(s) refused" if refusals else ""
    console.print(f"\n{summary}{refused}")
