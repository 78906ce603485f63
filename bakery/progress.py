"""How library code says what it is doing while it works: the one progress seam.

A command's library function takes a `Progress` and reports through it; the views implement
it for a terminal or a log (`bakery.views.progress`), tests with a list. `SILENT` shows
nothing: the default of a library call made without a view, and the base of a view that
shows only part of what it hears. bake's view hears, besides, the build events its table is
made of (`bakery.bake.runner.Observer`)."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Protocol


class Progress(Protocol):
    """`line` and `busy` come from the caller's thread; `expect` and `done` may come from
    worker threads (one package index page each)."""

    def line(self, text: str) -> None:
        """One line of what is happening, shown whole (a CI log keeps it)."""
        ...

    def busy(self, text: str) -> AbstractContextManager[object]:
        """Shown while a long step runs: a spinner on a terminal, one line in a log."""
        ...

    def expect(self, key: str, count: int = 1) -> None:
        """`count` more steps of `key` (a package index, a lock target) are on their way."""
        ...

    def done(self, key: str, count: int = 1) -> None:
        """`count` steps of `key` finished, an error included."""
        ...


class Silent:
    """A `Progress` that shows nothing."""

    def line(self, text: str) -> None:
        return None

    def busy(self, text: str) -> AbstractContextManager[object]:
        return nullcontext()

    def expect(self, key: str, count: int = 1) -> None:
        return None

    def done(self, key: str, count: int = 1) -> None:
        return None


SILENT = Silent()
