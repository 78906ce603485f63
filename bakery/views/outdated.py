"""How `bakery outdated` shows its report: a table (pin, current, newest, a column per target
kind), or JSON."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from bakery.outdated.collect import Report

if TYPE_CHECKING:
    from rich.console import Console

OUTDATED_SCHEMA_VERSION = 1


def outdated_document(report: Report) -> dict[str, Any]:
    return {
        "schema_version": OUTDATED_SCHEMA_VERSION,
        "targets": [{**asdict(c), "label": c.label} for c in report.columns],
        "pins": [{**asdict(r), "outdated": r.outdated} for r in report.rows],
    }


def outdated_json(report: Report) -> str:
    return json.dumps(outdated_document(report), indent=2) + "\n"


def outdated_console() -> Console:
    """The terminal's width on a terminal (the table wraps its cells to fit); elsewhere (a file,
    a CI log) 140 columns, so no version is folded, unless COLUMNS says otherwise."""
    import os

    from rich.console import Console

    console = Console(highlight=False)
    if not console.is_terminal and not os.environ.get("COLUMNS"):
        console = Console(highlight=False, width=140)
    return console


def outdated_table(report: Report) -> None:
    from rich.table import Table

    table = Table(title="bakery outdated: the newest release of each pin, and whether it has a"
                  " wheel for each target (python, platform, accelerator)",
                  title_justify="left", show_lines=False)
    table.add_column("pin", overflow="fold")
    table.add_column("current", overflow="fold")
    table.add_column("newest", overflow="fold")
    for column in report.columns:
        # the verdicts (`no-wheel-for-platform`) wrap at their dashes in a narrow terminal
        table.add_column(column.label.replace(" ", "\n"), overflow="fold")
    notes: list[str] = []
    for row in report.rows:
        newest = row.newest or "?"
        style = "green" if row.outdated else "dim"
        if row.newest == row.current:
            newest = "(current)"
        cells = []
        for column in report.columns:
            value = row.wheels.get(column.label, "")
            color = "green" if value == "ok" else "dim" if value in ("-", "") else "red"
            cells.append(f"[{color}]{value}[/{color}]")
        table.add_row(row.pin, row.current, f"[{style}]{newest}[/{style}]", *cells)
        if row.note:
            notes.append(f"{row.pin}: {row.note}")
    console = outdated_console()
    console.print(table)
    for note in notes:
        console.print(f"[yellow]{note}[/yellow]", markup=True)
