"""Reading buildx's plain progress output: which step runs now, and why a build failed.

buildx `--progress plain` writes one line per event, each prefixed with its vertex number:

    #12 [base_edge_node_amd64_gpu-py313 builder 3/7] RUN make -j4     <- title (first line)
    #12 0.512 gcc -O2 ...                                              <- the step's output
    #12 ERROR: process "/bin/sh -c make -j4" did not complete successfully: exit code: 2
    ------
     > [base_edge_node_amd64_gpu-py313 builder 3/7] RUN make -j4:     <- the failing step
    0.512 gcc -O2 ...                                                  <- its last log lines
    ------
    ERROR: target base_edge_node_amd64_gpu-py313: failed to solve: process ... exit code: 2

Bake puts the target name first inside the brackets; with several targets in one bake the
final error names the target (`ERROR: target X: ...`, buildx >= 0.17), older releases print
`ERROR: failed to solve: ...` or `error: failed to solve: ...`.

`BuildLog` is fed line by line and keeps bounded state (a log can be hundreds of MB), so it
serves both the live view and the failure report. No I/O here.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

TAIL_LINES = 20
_KEEP_LINES = 200
_KEEP_STEP_LINES = 40
_KEEP_BLOCKS = 8

_VERTEX = re.compile(r"^#(?P<n>\d+) (?P<rest>.*)$")
_FINAL_ERROR = re.compile(r"^(?:ERROR|error): (?P<message>.*)$")
_TARGET_PREFIX = re.compile(r"^target (?P<target>[A-Za-z0-9_-]+): (?P<message>.*)$")
_BRACKET = re.compile(r"^\[(?P<inside>[^\]]*)\]\s*(?P<after>.*)$")
_BLOCK_RULE = "------"
# after an error block buildx names the instruction's source: `Dockerfile:23`, `Dockerfile.dind:5`
_SOURCE = re.compile(r"^(?P<file>[^\s:]+):(?P<line>\d+)$")


@dataclass(frozen=True)
class Failure:
    """Why one target failed: the step (as buildx names it, without the target prefix), the
    error message, and the last lines of that step's log."""

    step: str | None
    message: str
    log_tail: tuple[str, ...]


def step_owner(title: str, names: Sequence[str]) -> str | None:
    """The target a step belongs to: bake writes `[<target> <stage> n/m]`."""
    match = _BRACKET.match(title)
    if match is None:
        return None
    first = match["inside"].split(" ", 1)[0]
    return first if first in names else None


def strip_owner(title: str, names: Sequence[str]) -> str:
    """`[gpu-py313 builder 3/7] RUN make` -> `[builder 3/7] RUN make` when `gpu-py313` is one
    of `names` (the target is already known from context); other titles are unchanged."""
    match = _BRACKET.match(title)
    if match is None:
        return title
    first, _, rest = match["inside"].partition(" ")
    if first not in names:
        return title
    return f"[{rest}] {match['after']}".rstrip() if rest else match["after"]


class BuildLog:
    """Incremental reader of one invocation's output."""

    def __init__(self) -> None:
        self._titles: dict[int, str] = {}
        self._step_lines: dict[int, deque[str]] = {}
        self._step_errors: list[tuple[int, str]] = []
        self._final_errors: list[tuple[str | None, str]] = []
        self._blocks: deque[tuple[str, tuple[str, ...]]] = deque(maxlen=_KEEP_BLOCKS)
        self._tail: deque[str] = deque(maxlen=_KEEP_LINES)
        self._latest: str | None = None
        self._latest_by_owner: dict[str, str] = {}
        self._block: list[str] | None = None
        self._block_header: str | None = None
        self._sources: dict[str, str] = {}  # error block header -> the file named after it
        self._awaiting_source: str | None = None
        self.lines = 0

    # -- feeding -------------------------------------------------------------------------

    def feed(self, line: str) -> None:
        line = line.rstrip("\r\n")
        self.lines += 1
        self._tail.append(line)
        if self._awaiting_source is not None:
            header, self._awaiting_source = self._awaiting_source, None
            source = _SOURCE.match(line)
            if source is not None:
                self._sources[header] = source["file"]
                return
        if self._in_block(line):
            return
        vertex = _VERTEX.match(line)
        if vertex is not None:
            self._vertex_line(int(vertex["n"]), vertex["rest"])
            return
        final = _FINAL_ERROR.match(line)
        if final is not None:
            message = final["message"]
            prefixed = _TARGET_PREFIX.match(message)
            if prefixed is not None:
                self._final_errors.append((prefixed["target"], prefixed["message"]))
            else:
                self._final_errors.append((None, message))

    def _in_block(self, line: str) -> bool:
        if self._block is not None:
            if self._block_header is None:
                if line.startswith(" > "):
                    self._block_header = line[3:].removesuffix(":")
                    return True
                self._block = None  # a lone rule, not an error block
                return False
            if line == _BLOCK_RULE:
                self._blocks.append((self._block_header, tuple(self._block)))
                self._awaiting_source = self._block_header
                self._block, self._block_header = None, None
            else:
                self._block.append(line)
            return True
        if line == _BLOCK_RULE:
            self._block, self._block_header = [], None
            return True
        return False

    def _vertex_line(self, n: int, rest: str) -> None:
        title = self._titles.get(n)
        if title is None:
            self._titles[n] = rest
            if n > 0:
                self._latest = rest
                match = _BRACKET.match(rest)
                if match is not None:
                    self._latest_by_owner[match["inside"].split(" ", 1)[0]] = rest
            return
        if rest == title:  # buildx repeats the title when output interleaves
            return
        if rest.startswith("ERROR: "):
            self._step_errors.append((n, rest.removeprefix("ERROR: ")))
            return
        self._step_lines.setdefault(n, deque(maxlen=_KEEP_STEP_LINES)).append(rest)

    # -- reading -------------------------------------------------------------------------

    def current_step(self, owner: str | None = None) -> str | None:
        """The most recently started step (of `owner`'s steps, when given)."""
        if owner is None:
            return self._latest
        return self._latest_by_owner.get(owner)

    def tail(self, lines: int = TAIL_LINES) -> tuple[str, ...]:
        return tuple(line for line in self._tail if line.strip())[-lines:]

    def failed_targets(self, targets: Sequence[str]) -> list[str]:
        """Targets of a multi-target bake that the log names as failed, in `targets` order."""
        named: set[str] = set()
        named.update(t for t, _ in self._final_errors if t is not None)
        named.update(
            owner for header, _ in self._blocks if (owner := step_owner(header, targets))
        )
        named.update(
            owner
            for n, _ in self._step_errors
            if (owner := step_owner(self._titles.get(n, ""), targets))
        )
        return [t for t in targets if t in named]

    def failed_step_source(self, target: str, names: Sequence[str]) -> tuple[bool, str | None]:
        """(whether the log names a failing step of `target`, the Dockerfile buildx names after
        that step's error block: its base name, None when it names none). buildx may title the
        failing vertex under one target and its error block under another: the block of the
        same step (its title without the target) stands for both."""
        for header, _ in self._blocks:
            if step_owner(header, [target]) == target:
                return True, self._sources.get(header)
        for n, _ in self._step_errors:
            title = self._titles.get(n, "")
            if step_owner(title, [target]) == target:
                step = strip_owner(title, names)
                return True, next((self._sources.get(header) for header, _ in self._blocks
                                   if strip_owner(header, names) == step), None)
        return False, None

    def failure(self, target: str | None, *, names: Sequence[str], exit_code: int) -> Failure:
        """The failure report for `target` (None: the invocation as a whole)."""
        message = self._message(target, exit_code)
        for header, lines in self._blocks:
            if target is None or step_owner(header, [target]) == target:
                return Failure(
                    step=strip_owner(header, names),
                    message=message,
                    log_tail=tuple(lines[-TAIL_LINES:]),
                )
        for n, _ in self._step_errors:
            title = self._titles.get(n, "")
            if target is None or step_owner(title, [target]) == target:
                return Failure(
                    step=strip_owner(title, names) if title else None,
                    message=message,
                    log_tail=tuple(self._step_lines.get(n, ()))[-TAIL_LINES:],
                )
        # nothing names the failing step (killed, out of memory, ...): the last one started
        latest = self.current_step(target)
        return Failure(
            step=strip_owner(latest, names) if latest else None,
            message=message,
            log_tail=self.tail(),
        )

    def _message(self, target: str | None, exit_code: int) -> str:
        for owner, message in self._final_errors:
            if target is None or owner in (None, target):
                return message
        for n, message in self._step_errors:
            if target is None or step_owner(self._titles.get(n, ""), [target]) == target:
                return message
        return f"docker buildx bake exited with code {exit_code}"
