"""How `bakery verify` shows its verdicts: a table of checks per target, or JSON."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bakery.verify.run import VerifyVerdict

if TYPE_CHECKING:
    from rich.console import Console

VERIFY_SCHEMA_VERSION = 1


def verify_document(
    verdicts: Sequence[VerifyVerdict], *, results: str | None, recorded: Sequence[str]
) -> dict[str, Any]:
    """The `--format json` document (schema in docs/verify.md)."""
    return {
        "schema_version": VERIFY_SCHEMA_VERSION,
        "ok": bool(verdicts) and all(v.ok for v in verdicts),
        "results": results,
        "recorded": list(recorded),
        "targets": [
            {
                "id": v.target,
                "ok": v.ok,
                "status": v.status,
                "image": v.image,
                "digest": v.digest,
                "message": v.message,
                "mismatches": [
                    {"check": c.name, "expected": c.expected, "found": c.found}
                    for c in v.checks if not c.ok
                ],
                "checks": [
                    {"name": c.name, "expected": c.expected, "found": c.found, "ok": c.ok}
                    for c in v.checks
                ],
                "probe": v.probe,
            }
            for v in verdicts
        ],
    }


def verify_json(
    verdicts: Sequence[VerifyVerdict], *, results: str | None, recorded: Sequence[str]
) -> str:
    doc = verify_document(verdicts, results=results, recorded=recorded)
    return json.dumps(doc, indent=2) + "\n"


def verify_table(verdicts: Sequence[VerifyVerdict]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=160)
    for verdict in verdicts:
        if verdict.checks:
            table = Table(title=Text(f"{verdict.target}  {verdict.image}", style="bold"),
                          title_justify="left",
                          show_edge=False, box=None, padding=(0, 2, 0, 0))
            for column in ("check", "expected", "found", ""):
                table.add_column(column, overflow="fold")
            for check in verdict.checks:
                mark = Text("ok", style="green") if check.ok else Text("MISMATCH", style="red")
                table.add_row(Text(check.name), Text(check.expected),
                              Text(check.found or "-"), mark)
            console.print(table)
        line = {
            "passed": Text(f"{verdict.target}: passed", style="green"),
            "failed": Text(
                f"{verdict.target}: FAILED: "
                + "; ".join(f"{c.name} expected {c.expected}, found {c.found or 'nothing'}"
                            for c in verdict.checks if not c.ok),
                style="red",
            ),
            "not built": Text(f"{verdict.target}: NOT BUILT: {verdict.message}", style="red"),
            "error": Text(f"{verdict.target}: ERROR: {verdict.message}", style="red"),
        }[verdict.status]
        console.print(line, soft_wrap=True)  # one line per verdict, whole, for grep
        console.print()
    passed = sum(v.ok for v in verdicts)
    console.print(Text(f"{len(verdicts)} target(s): {passed} passed,"
                       f" {len(verdicts) - passed} not"))


def report_unrecorded(
    console: Console, verdicts: Sequence[VerifyVerdict], *, results_path: Path,
    recorded: Collection[str], have_results: bool,
) -> None:
    """Say where the verdicts went: recorded in the results file, or why (some) were not."""
    if recorded:
        console.print(f"verdicts recorded in {results_path}")
    unrecorded = [v.target for v in verdicts
                  if v.target not in recorded and v.status != "not built"]
    if unrecorded and not have_results:
        console.print(f"no results file ({results_path}): the verdict is shown, not recorded")
    elif unrecorded:
        console.print(f"not recorded (no bake result in {results_path}):"
                      f" {', '.join(unrecorded)}")
