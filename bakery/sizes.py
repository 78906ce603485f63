"""Byte sizes as people write and read them: `"6 GB"` in the matrix, `4.18 GB` in reports.

Decimal units (1 GB = 10^9 bytes), as registries, `docker images` and disk vendors show them;
the matrix also takes the binary KiB, MiB, GiB and TiB."""

from __future__ import annotations

import re

_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]i?B|B)\s*\Z")
_UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


def parse_size(text: str) -> int:
    """`"6 GB"` -> 6_000_000_000; ValueError saying what a size looks like otherwise."""
    match = _SIZE.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a size: a number and a unit (B, KB, MB, GB, TB,"
                         " KiB, MiB, GiB, TiB), e.g. '6 GB'")
    size = float(match[1]) * _UNITS[match[2]]
    if size <= 0:
        raise ValueError(f"{text!r}: a size must be more than 0")
    return int(size)


def human_bytes(size: int | None) -> str:
    """4_180_000_000 -> `4.18 GB`; None -> `-`."""
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KB", "MB"):
        if value < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.2f} {unit}"
        value /= 1000
    return f"{value:.2f} GB"
