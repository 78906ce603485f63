"""Byte sizes as people write and read them: `"6 GB"` in the matrix, `4.18 GB` in reports.

Decimal units (1 GB = 10^9 bytes), as registries, `docker images` and disk vendors show them;
the matrix also takes the binary KiB, MiB, GiB and TiB."""

from __future__ import annotations

import re

_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]i?B|B)\s*\Z")
_UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


# no image weighs a petabyte: a bigger size is a typo (and would not fit a float)
MAX_SIZE = 10**15


def parse_size(text: str) -> int:
    """`"6 GB"` -> 6_000_000_000 (whole bytes, rounded down); ValueError saying what a size
    looks like otherwise, or when it is less than one byte or more than a petabyte."""
    from fractions import Fraction

    match = _SIZE.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a size: a number and a unit (B, KB, MB, GB, TB,"
                         " KiB, MiB, GiB, TiB), e.g. '6 GB'")
    if len(match[1]) > 40:
        raise ValueError(f"{text!r}: a size is at most 1 PB")
    size = int(Fraction(match[1]) * _UNITS[match[2]])  # exact: no float to overflow or round
    if size < 1:
        raise ValueError(f"{text!r}: a size must be at least 1 B")
    if size > MAX_SIZE:
        raise ValueError(f"{text!r}: a size is at most 1 PB")
    return size


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
