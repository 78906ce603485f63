"""Running network work on threads that never hold up Ctrl-C.

concurrent.futures joins its worker threads when the interpreter exits, so an interrupted run
waits for every request in flight to time out. These workers are daemon threads and the caller
waits in short slices: Ctrl-C reaches the main thread at once and the process exits without
waiting for sockets that do not answer.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

_SLICE = 0.1  # seconds the caller blocks at a time; a signal is handled between slices


def map_daemon(fn: Callable[[T], R], items: Sequence[T], *, workers: int, name: str) -> list[R]:
    """`[fn(item) for item in items]`, run on up to `workers` daemon threads. `fn` must return
    its failures as values; an exception it raises anyway is re-raised here."""
    if not items:
        return []
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for i in range(len(items)):
        todo.put(i)
    done: queue.SimpleQueue[tuple[int, R | None, BaseException | None]] = queue.SimpleQueue()

    def work() -> None:
        while True:
            try:
                i = todo.get_nowait()
            except queue.Empty:
                return
            try:
                done.put((i, fn(items[i]), None))
            except BaseException as exc:  # handed to the caller, which re-raises it
                done.put((i, None, exc))

    for n in range(max(1, min(workers, len(items)))):
        threading.Thread(target=work, name=f"{name}-{n}", daemon=True).start()
    results: dict[int, R] = {}
    while len(results) < len(items):
        try:
            i, value, error = done.get(timeout=_SLICE)
        except queue.Empty:
            continue
        if error is not None:
            raise error
        results[i] = value  # type: ignore[assignment]  # no error: fn returned an R
    return [results[i] for i in range(len(items))]
