"""'did you mean' hints for unknown names."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(value: str, candidates: Iterable[str]) -> str:
    """Return ` (did you mean 'x'?)` for the closest candidate, or '' when none is close."""
    matches = difflib.get_close_matches(value, sorted(set(candidates)), n=1, cutoff=0.6)
    return f" (did you mean {matches[0]!r}?)" if matches else ""


def known(candidates: Iterable[str]) -> str:
    """Return `known: 'a', 'b'` for an error message."""
    return "known: " + ", ".join(repr(c) for c in sorted(set(candidates)))
