"""Package versions (PEP 440) as packaging parses them, each distinct text parsed once."""

from __future__ import annotations

import functools

from packaging.version import Version


# A matrix repeats the same few pins in every image, so a plan would parse the same texts
# once per target.
@functools.lru_cache(maxsize=1024)
def parse_version(text: str) -> Version:
    """`packaging.version.Version(text)` (InvalidVersion when it is not one), remembered."""
    return Version(text)
