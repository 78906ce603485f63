"""How `bakery release` reports: target -> tag -> created / moved / already in place / refused.

JSON (`--format json`; `schema_version` changes on any incompatible edit; docs/release.md):

    {"schema_version": 1, "ok": true, "dry_run": false,
     "refused": [{"target": "...", "reason": "..."}],
     "tags": [{"target": "...", "tag": "repo:tag", "kind": "legacy" | "compatibility" | "release",
               "source": "repo@sha256:...", "sources": ["repo@sha256:..."],
               "digest": "sha256:...",
               "state": "created" | "moved" | "present" | "would create" | "would move"
                        | "kept" | "failed",
               "previous": "sha256:..." | null, "message": "..." | null,
               "command": "docker buildx imagetools create --tag repo:tag repo@sha256:..."}]}
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bakery.release.execute import ReleaseState, TagOutcome
from bakery.release.operations import Refusal

RELEASE_SCHEMA_VERSION = 1
_LABEL: dict[ReleaseState, str] = {
    "created": "created", "moved": "moved", "present": "already in place",
    "would create": "would create", "would move": "would move", "kept": "kept",
    "failed": "FAILED"}


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
             "source": o.operation.source, "sources": list(o.operation.all_sources),
             "digest": o.operation.digest, "state": o.state,
             "previous": o.previous, "message": o.message,
             "command": o.command}
            for o in outcomes
        ],
    }


def release_json(outcomes: Sequence[TagOutcome], refusals: Sequence[Refusal], *,
                 dry_run: bool, ok: bool) -> str:
    doc = release_document(outcomes, refusals, dry_run=dry_run, ok=ok)
    return json.dumps(doc, indent=2) + "\n"


def release_table(outcomes: Sequence[TagOutcome], refusals: Sequence[Refusal], *,
                  dry_run: bool, blocked: int = 0) -> None:
    """The summary table on stdout; `blocked`: tags of eligible targets left alone because
    another target was refused."""
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
        style = {"failed": "red", "present": "dim", "kept": "yellow"}.get(outcome.state, "green")
        table.add_row(op.target, op.tag, op.kind, Text(state, style=style))
    console.print(table)
    if dry_run and not refusals:
        todo = [o for o in outcomes if o.state in ("would create", "would move")]
        console.print(f"\n--dry-run: nothing was changed (tags were only read); {len(todo)}"
                      " operation(s) would run:")
        for outcome in todo:
            # soft_wrap: never break a command line, it must stay copy-pasteable
            console.print(f"  {outcome.command}", soft_wrap=True)
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[_LABEL[outcome.state]] = counts.get(_LABEL[outcome.state], 0) + 1
    summary = ", ".join(f"{n} {label}" for label, n in counts.items())
    if refusals:
        summary = (f"{len(refusals)} target(s) refused: nothing created ({blocked} tag(s) of"
                   " the other targets left alone)")
    console.print(f"\n{summary or 'no tags to release'}")


def release_markdown(outcomes: Sequence[TagOutcome], refusals: Sequence[Refusal], *,
                     dry_run: bool, title: str) -> str:
    """The release as a Markdown table for a CI job summary: every tag with its state."""
    from bakery.views.markdown import cell, code

    lines = [f"### {cell(title)}" + (" (dry run)" if dry_run else ""), "",
             "| target | name | kind | state |", "|---|---|---|---|"]
    for refusal in refusals:
        lines.append(f"| {code(refusal.target)} | - | - | **refused**: {cell(refusal.reason)} |")
    for outcome in outcomes:
        op = outcome.operation
        state = _LABEL[outcome.state]
        if outcome.state == "failed":
            state = f"**FAILED**: {outcome.message or ''}"
        elif outcome.previous and outcome.state in ("moved", "would move"):
            state += f" from {outcome.previous[:19]}"
        elif outcome.state == "kept":
            state += f": {outcome.message or ''}"
        lines.append(f"| {code(op.target)} | {code(op.tag)} | {op.kind} | {cell(state)} |")
    if not refusals and not outcomes:
        lines.append("| - | - | - | no names to create |")
    return "\n".join(lines) + "\n"
