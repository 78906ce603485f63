"""How `bakery preflight` shows its decisions: a table per image, or JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bakery.preflight.decision import ImageDecision, PackageDecision

PREFLIGHT_SCHEMA_VERSION = 1


def preflight_document(
    decisions: Sequence[ImageDecision], *, lock: str, lock_written: bool
) -> dict[str, Any]:
    """The JSON form (docs/packages.md, "bakery preflight")."""
    return {
        "schema_version": PREFLIGHT_SCHEMA_VERSION,
        "ok": all(d.ok for d in decisions),
        "lock": lock,
        "lock_written": lock_written,
        "images": [d.model_dump(mode="json") for d in decisions],
    }


def preflight_json(decisions: Sequence[ImageDecision], *, lock: str, lock_written: bool) -> str:
    doc = preflight_document(decisions, lock=lock, lock_written=lock_written)
    return json.dumps(doc, indent=2) + "\n"


def _wheel(package: PackageDecision) -> str:
    if package.ok and package.wheel:
        note = " (plain linux tag)" if package.plain_linux else ""
        return f"{package.wheel}{note}"
    return package.reason


def preflight_table(decisions: Sequence[ImageDecision]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=200)  # files and CI logs: never fold names
    for decision in decisions:
        python = decision.python or "none"
        style = "bold" if decision.ok else "bold red"
        console.print(Text(f"{decision.image}  linux/{decision.arch}  python {python}",
                           style=style))
        console.print(f"  python: {decision.python_reason}")
        table = Table(show_edge=False, pad_edge=False, box=None, padding=(0, 2, 0, 2))
        for column in ("", "package", "version", "index", "wheel or reason"):
            table.add_column(column, overflow="fold")
        for package in decision.packages:
            mark = Text("ok", style="green") if package.ok else Text("NO", style="red")
            table.add_row(mark, package.name, package.version, package.index, _wheel(package))
        for flag in decision.flags:
            state = "on" if flag.enabled else "off"
            mark = Text(state, style="green" if flag.enabled else "yellow")
            names = ", ".join(p.name for p in flag.packages) or "-"
            table.add_row(mark, f"flag {flag.name} ({flag.setting})", "", names, flag.reason)
        console.print(table)
        for error in decision.errors:
            console.print(Text(f"  error: {error}", style="red"))
        console.print()
