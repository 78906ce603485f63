"""A started command as the bake runner sees it (`bakery.bake.runner`): its output lines, its
exit code, and how to stop it. `bakery.docker.buildx.launcher` starts `docker buildx bake`
this way; tests hand the runner an in-process fake."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Protocol


class RunningProcess(Protocol):
    def lines(self) -> Iterator[str]:
        """Output lines (stdout and stderr merged) until the process closes them."""
        ...

    def wait(self) -> int: ...

    def interrupt(self) -> None:
        """Ask the process (and its children) to stop: SIGINT."""
        ...

    def kill(self) -> None: ...


Launch = Callable[[Sequence[str]], RunningProcess]
