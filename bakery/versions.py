"""Package versions (PEP 440) as packaging parses them, each distinct text parsed once."""

from __future__ import annotations

import functools

from packaging.version import Version


# A matrix repeats the same few pins in every image: a plan of 10,000 images parsed the same
# torch versions 60,000 times, at a few microseconds each.
@functools.lru_cache(maxsize=1024)
def parse_version(text: str) -> Version:
    """`packaging.version.Version(text)` (InvalidVersion when it is not one), remembered."""
    return Version(text)
