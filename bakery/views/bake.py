"""What `bakery bake` shows: progress while building, a summary at the end, dry-run commands.

Progress modes: `live` (a terminal: one line per target with its state, elapsed time and
current step, redrawn in place), `plain` (not a terminal, or `--progress plain`: a line per
state change plus every buildx line prefixed with the target id, for CI logs), `quiet`
(nothing until the summary).
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Literal

from bakery.bake.buildlog import BuildLog, strip_owner
from bakery.bake.invocations import Invocation
from bakery.bake.results import BAKE_STATUSES, Results, TargetResult
from bakery.progress import Silent

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.live import Live

Mode = Literal["live", "plain", "quiet"]

_STYLE = {
    "pending": "dim", "running": "yellow", "ok": "green", "failed": "bold red",
    "cancelled": "magenta", "skipped": "dim",
}


def short_digest(digest: str | None) -> str:
    if not digest:
        return "-"
    algo, _, hexpart = digest.partition(":")
    return f"{algo}:{hexpart[:12]}" if hexpart else digest


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    minutes, seconds = divmod(value, 60)
    return f"{int(minutes)}m{seconds:04.1f}s" if minutes else f"{seconds:.1f}s"


class QuietView(Silent):
    """Shows nothing while building but the changes bakery made to the bake before it (one
    line each); the base of the other views, which also show the other lines (what the
    builder can do)."""

    def __init__(self, console: Console | None = None, *, all_notes: bool = False) -> None:
        self._console_for_notes = console
        self._all_notes = all_notes

    def line(self, text: str) -> None:
        if self._all_notes:
            self.changed(text)

    def changed(self, text: str) -> None:
        if self._console_for_notes is not None:
            self._console_for_notes.print(f"bakery: {text}", soft_wrap=True, highlight=False)

    def __enter__(self) -> QuietView:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def started(self, invocation: Invocation, command: Sequence[str]) -> None:
        return None

    def output(self, invocation: Invocation, line: str, log: BuildLog) -> None:
        return None

    def finished(self, invocation: Invocation, results: Sequence[TargetResult]) -> None:
        return None

    def cancelling(self, running: int, *, force: bool) -> None:
        return None

    def tick(self) -> None:
        return None


def _outcome_line(result: TargetResult) -> str:
    head = f"{result.id}: {result.status}"
    if result.duration_s is not None:
        head += f" in {_seconds(result.duration_s)}"
    if result.status == "ok":
        return f"{head}  {result.digest or 'no digest'}  {' '.join(result.tags)}".rstrip()
    if result.error is not None:
        where = f" at {result.error.step}" if result.error.step else ""
        return f"{head}{where}: {result.error.message}"
    return head


class PlainView(QuietView):
    """Line-oriented progress for logs: state changes and the build output, prefixed."""

    def __init__(self, console: Console) -> None:
        super().__init__(console, all_notes=True)
        self._console = console

    def _out(self, text: str) -> None:
        self._console.out(text, highlight=False)

    def started(self, invocation: Invocation, command: Sequence[str]) -> None:
        self._out(f"bakery: {invocation.name}: started: {shlex.join(command)}")

    def output(self, invocation: Invocation, line: str, log: BuildLog) -> None:
        self._out(f"{invocation.name} | {line}")

    def finished(self, invocation: Invocation, results: Sequence[TargetResult]) -> None:
        for result in results:
            self._out(f"bakery: {_outcome_line(result)}")

    def cancelling(self, running: int, *, force: bool) -> None:
        if force:
            self._out(f"bakery: killing {running} build(s) now")
        else:
            self._out(f"bakery: cancelling: interrupting {running} running build(s);"
                      " not starting the rest (interrupt again to kill them at once)")


@dataclass
class _Row:
    state: str = "pending"
    started: float | None = None
    ended: float | None = None
    step: str = ""


class LiveView(QuietView):
    """One line per target, redrawn in place (at most `fps` times a second)."""

    def __init__(
        self, console: Console, targets: Sequence[str], *,
        clock: Callable[[], float] = time.monotonic, fps: float = 4.0,
    ) -> None:
        from rich.live import Live

        super().__init__(console, all_notes=True)
        self._console = console
        self._rows = {t: _Row() for t in targets}
        self._clock = clock
        self._interval = 1.0 / fps
        self._last = 0.0
        self._note = ""
        self._live: Live = Live(
            console=console, auto_refresh=False, transient=True,
            redirect_stdout=False, redirect_stderr=False,
        )

    def __enter__(self) -> LiveView:
        self._live.start()
        self._refresh()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._live.stop()

    def started(self, invocation: Invocation, command: Sequence[str]) -> None:
        now = self._clock()
        for target in invocation.targets:
            self._rows[target].state, self._rows[target].started = "running", now
        self.tick()

    def output(self, invocation: Invocation, line: str, log: BuildLog) -> None:
        several = len(invocation.targets) > 1
        for target in invocation.targets:
            step = log.current_step(target if several else None)
            if step:
                self._rows[target].step = strip_owner(step, invocation.targets)

    def finished(self, invocation: Invocation, results: Sequence[TargetResult]) -> None:
        now = self._clock()
        for result in results:
            row = self._rows[result.id]
            row.state, row.ended = result.status, now
            if result.status == "ok":
                row.step = short_digest(result.digest)
            elif result.error is not None:
                row.step = result.error.step or result.error.message
        self._refresh()

    def cancelling(self, running: int, *, force: bool) -> None:
        self._note = (f"killing {running} build(s)" if force else
                      f"cancelling {running} running build(s); interrupt again to kill them")
        self._refresh()

    def tick(self) -> None:
        if self._clock() - self._last >= self._interval:
            self._refresh()

    def _refresh(self) -> None:
        self._last = self._clock()
        self._live.update(self.render(), refresh=True)

    def render(self) -> RenderableType:
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        # fixed widths for id, state and time; the current step gets what is left
        table = Table.grid(padding=(0, 2), expand=True)
        table.add_column("target", no_wrap=True, min_width=max(map(len, self._rows), default=6))
        table.add_column("state", no_wrap=True, min_width=9)
        table.add_column("time", justify="right", no_wrap=True, min_width=7)
        table.add_column("step", no_wrap=True, overflow="ellipsis", ratio=1)
        now = self._clock()
        for target, row in self._rows.items():
            elapsed = None
            if row.started is not None:
                elapsed = (row.ended if row.ended is not None else now) - row.started
            table.add_row(
                Text(target, style="bold"), Text(row.state, style=_STYLE[row.state]),
                _seconds(elapsed) if elapsed is not None else "",
                Text(row.step, style="dim"),
            )
        if self._note:
            return Group(table, Text(self._note, style="magenta"))
        return table


def make_view(mode: Mode, console: Console, targets: Sequence[str]) -> QuietView:
    if mode == "live":
        return LiveView(console, targets)
    if mode == "plain":
        return PlainView(console)
    return QuietView(console)


def print_summary(console: Console, results: Results, *, results_path: Path | None) -> None:
    """The table at the end, then each failure's step, message and log tail."""
    from rich.table import Table
    from rich.text import Text

    # tags are long: a column of their own only where they fit (they are in the JSON anyway)
    wide = console.width >= 150
    table = Table(title=None, show_edge=False, pad_edge=False, header_style="bold")
    table.add_column("target", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("time", justify="right", no_wrap=True)
    table.add_column("digest", no_wrap=True)
    if wide:
        table.add_column("tags", no_wrap=True)
    for result in results.targets:
        row: list[RenderableType] = [
            result.id, Text(result.status, style=_STYLE[result.status]),
            _seconds(result.duration_s), short_digest(result.digest),
        ]
        if wide:
            row.append("\n".join(result.tags))
        table.add_row(*row)
    console.print(table)
    for result in results.with_status("failed"):
        error = result.error
        if error is None:
            continue
        console.print()
        head = Text(f"{result.id} failed", style="bold red")
        if error.step:
            head.append(f" at {error.step}", style="bold")
        console.print(head, soft_wrap=True)
        console.print(Text(f"  {error.message}"), soft_wrap=True)
        for line in error.log_tail:
            console.print(Text(f"  | {line}", style="dim"), soft_wrap=True)
        if result.log_file:
            console.print(Text(f"  full log: {result.log_file}", style="dim"), soft_wrap=True)
    others = [r for r in (*results.with_status("cancelled"), *results.with_status("skipped"))
              if r.error is not None]
    if others:
        console.print()
    for result in others:
        assert result.error is not None
        console.print(Text(f"{result.id}: {result.error.message}", style=_STYLE[result.status]),
                      soft_wrap=True)
    counts = {s: len(results.with_status(s)) for s in BAKE_STATUSES}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    total = Text(
        f"\n{len(results.targets)} target(s): {summary} in {_seconds(results.duration_s)}",
        style="bold green" if results.ok else "bold red",
    )
    if results_path is not None:
        total.append(f"; results in {results_path}", style="")
    console.print(total, soft_wrap=True)


def dry_run_script(
    commands: Sequence[Sequence[str]], *, cwd: Path | None, metadata_dir: Path,
    concurrency: int, notes: Sequence[str] = (),
) -> str:
    """The commands `bakery bake` would run, as a shell script one can paste."""
    lines = [f"# {note}" for note in notes]
    lines.append(
        f"# {len(commands)} docker buildx bake invocation(s); bakery runs up to {concurrency}"
        " at a time" if len(commands) > 1 else "# 1 docker buildx bake invocation"
    )
    if cwd is not None:
        lines.append(shlex.join(["cd", str(cwd)]))
    lines.append(shlex.join(["mkdir", "-p", str(metadata_dir)]))
    lines.extend(shlex.join(command) for command in commands)
    return "\n".join(lines) + "\n"
