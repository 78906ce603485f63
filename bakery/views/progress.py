"""How commands show their progress (`bakery.progress.Progress`) on a console.

`ConsoleProgress`: lines printed whole, and while a long step runs a spinner on a terminal
(one line before it in a log). `network_progress`, for the commands that wait on the network
(preflight, outdated, lock): one line per package index (or per lock target) with how far it
is and the seconds it has taken, redrawn in place on a terminal; off a terminal (a pipe, a CI
log) it shows nothing, since the report that follows says everything. bake's live table is
`bakery.views.bake`."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bakery.progress import SILENT, Progress, Silent

if TYPE_CHECKING:
    from rich.console import Console, RenderableType


class ConsoleProgress(Silent):
    """Lines on `console`, whole; a spinner while busy on a terminal, one line in a log."""

    def __init__(self, console: Console) -> None:
        self._console = console

    def line(self, text: str) -> None:
        self._console.print(text, soft_wrap=True)

    def busy(self, text: str) -> AbstractContextManager[object]:
        if self._console.is_terminal:
            return self._console.status(text)
        self.line(text)
        return nullcontext()


@dataclass
class _Row:
    started: float
    done: int = 0
    total: int = 0
    finished: float | None = None
    unit: str = ""


class Lines(Silent):
    """Counts per key (an index URL, a lock target): how many of its steps are done, and the
    time from its first step to its last. Thread-safe: pages arrive on worker threads."""

    def __init__(self, unit: str) -> None:
        self._unit = unit
        self._lock = threading.Lock()
        self._rows: dict[str, _Row] = {}

    def expect(self, key: str, count: int = 1, unit: str | None = None) -> None:
        with self._lock:
            row = self._rows.setdefault(key, _Row(time.monotonic(), unit=unit or self._unit))
            row.total += count
            row.finished = None

    def done(self, key: str, count: int = 1) -> None:
        with self._lock:
            row = self._rows.setdefault(key, _Row(time.monotonic(), total=count,
                                                  unit=self._unit))
            row.done += count
            if row.done >= row.total:
                row.finished = time.monotonic()

    def lines(self, now: float | None = None) -> list[str]:
        """One line per key: `<key>  <done>/<total> <unit>  <seconds>s  done` (`...` while
        some are still on their way)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            rows = [(key, _Row(r.started, r.done, r.total, r.finished, r.unit))
                    for key, r in self._rows.items()]
        width = max((len(key) for key, _ in rows), default=0)
        out = []
        for key, row in rows:
            elapsed = (row.finished if row.finished is not None else now) - row.started
            state = "done" if row.finished is not None else "..."
            count = f"{row.done}/{row.total}" + (f" {row.unit}" if row.unit else "")
            out.append(f"  {key:<{width}}  {count}  {elapsed:.1f}s  {state}")
        return out

    def __rich__(self) -> RenderableType:
        from rich.text import Text

        return Text("\n".join(self.lines()), no_wrap=True, overflow="ellipsis")


@contextmanager
def network_progress(console: Console, title: str, unit: str) -> Iterator[Progress]:
    """Counts shown live under `title` while the block runs, on a terminal only (elsewhere
    nothing is shown). The final state stays on screen."""
    if not console.is_terminal or console.is_dumb_terminal:
        yield SILENT
        return
    from rich.console import Group
    from rich.live import Live
    from rich.text import Text

    lines = Lines(unit)
    with Live(Group(Text(title), lines), console=console, refresh_per_second=4,
              transient=False):
        yield lines
