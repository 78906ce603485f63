"""How `bakery outdated` shows its report: a table (pin, current, newest, a column per target
kind), or JSON."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from bakery.outdated.collect import Report

OUTDATED_SCHEMA_VERSION = 1


def outdated_document(report: Report) -> dict[str, Any]:
    return {
        "schema_version": OUTDATED_SCHEMA_VERSION,
        "targets": [{**asdict(c), "label": c.label} for c in report.columns],
        "pins": [{**asdict(r), "outdated": r.outdated} for r in report.rows],
    }


def outdated_json(report: Report) -> str:
    return json.dumps(outdated_document(report), indent=2) + "\n"


def outdated_table(report: Report) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="bakery outdated: the newest release of each pin, and whether it has a"
                  " wheel for each target (python, platform, accelerator)",
                  title_justify="left", show_lines=False)
    table.add_column("pin")
    table.add_column("current")
    table.add_column("newest")
    for column in report.columns:
        table.add_column(column.label.replace(" ", "\n"))
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
    console = Console(highlight=False)
    console.width = max(console.width, 140)  # a table of versions is unreadable when cut
    console.print(table)
    for note in notes:
        console.print(f"[yellow]{note}[/yellow]", markup=True)
