"""How `bakery lock` shows its result: per target, what changed (package, old -> new, and the
image layer it is in) and which layers' files changed, i.e. what devices download again."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from bakery.lockfile.refresh import LockResult, LockStatus

LOCK_SCHEMA_VERSION = 1
_STYLE: dict[LockStatus, str] = {"new": "green", "updated": "green", "unchanged": "dim",
                                 "kept": "yellow", "failed": "red"}


def lock_document(result: LockResult) -> dict[str, Any]:
    return {
        "schema_version": LOCK_SCHEMA_VERSION,
        "ok": result.ok,
        "changed": result.changed,
        "written": result.written,
        "manifest": str(result.manifest),
        "base": asdict(result.base) if result.base else None,
        "frontend": asdict(result.frontend) if result.frontend else None,
        "targets": [asdict(o) for o in result.outcomes],
    }


def lock_json(result: LockResult) -> str:
    return json.dumps(lock_document(result), indent=2) + "\n"


def lock_table(result: LockResult) -> None:
    from rich.console import Console
    from rich.text import Text

    console = Console(soft_wrap=True, highlight=False)
    rows = [(o.key, f"{o.platform} python {o.python}", o.status, o.reason, o.changes,
             f"{o.packages} packages" if o.packages else "", o.layers)
            for o in result.outcomes]
    if result.base is not None:
        b = result.base
        rows.append((f"base {b.image}", "", b.status, b.reason, b.changes, "", ()))
    if result.frontend is not None:
        f = result.frontend
        rows.append((f"frontend {f.image}", "", f.status, f.reason, f.changes, "", ()))
    for name, where, status, reason, diff, count, layers in rows:
        line = Text(name, style="bold cyan")
        line.append(f"  {where}" if where else "")
        line.append(f"  {status}", style=_STYLE[status])
        if count:
            line.append(f"  {count}", style="dim")
        console.print(line)
        if reason:
            console.print(Text(f"  {reason}", style=_STYLE[status]))
        for change in diff:
            row = Text(f"  {change.package:<32}")
            row.append(change.old or "(new)", style="red" if change.old else "dim")
            row.append(" -> ")
            row.append(change.new or "(removed)", style="green" if change.new else "dim")
            if change.layer:
                row.append(f"  [{_stem(change.layer)}]", style="dim")
            console.print(row)
        if layers:
            console.print(Text(f"  layers rewritten: {', '.join(_stem(f) for f in layers)}",
                               style="dim"))


def _stem(file: str) -> str:
    return file.removesuffix(".txt")
