"""An HTTP answer's body read within a size bound and a deadline, the one way bakery reads
what a registry or a package index sends (both are untrusted: a huge or trickling answer is
refused, not waited on). Callers name the source in their own errors."""

from __future__ import annotations

import time
from collections.abc import Iterable


class TooLarge(Exception):
    """The answer is bigger than the bound: `declared` is the size it announced, None when it
    announced none (or a smaller one) and sent more."""

    def __init__(self, declared: int | None) -> None:
        super().__init__(f"{declared} bytes" if declared is not None else "too many bytes")
        self.declared = declared


class OutOfTime(Exception):
    """The deadline passed while the body was arriving; `received` bytes had come."""

    def __init__(self, received: int) -> None:
        super().__init__(f"{received} bytes received")
        self.received = received


def read_body(chunks: Iterable[bytes], *, declared: str, limit: int, deadline: float) -> bytes:
    """The body from `chunks`, refused before reading when its `declared` content-length is
    over `limit`, and as soon as more than `limit` bytes arrive or `deadline` (a
    `time.monotonic()` value) passes."""
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(int(declared))
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise TooLarge(None)
        parts.append(chunk)
        if time.monotonic() > deadline:
            raise OutOfTime(size)
    return b"".join(parts)
