"""Reading a lock file: the requirements file uv writes (`name==version`, one `--hash` per
file, `# from <index>` annotations), as {name: LockedPackage}."""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.utils import canonicalize_name

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s\\;]+)")
_HASH = re.compile(r"--hash=(sha256:[0-9a-f]{64})")
_FROM = re.compile(r"^#\s*from\s+(\S+)")


@dataclass(frozen=True, slots=True)
class LockedPackage:
    name: str
    version: str
    index: str
    hashes: tuple[str, ...]


def parse_lock(text: str) -> dict[str, LockedPackage]:
    """Every pinned distribution of a lock file; ValueError for a pin without a hash."""
    found: dict[str, LockedPackage] = {}
    name = version = index = ""
    hashes: list[str] = []

    def close() -> None:
        if not name:
            return
        if not hashes:
            raise ValueError(f"{name}=={version} has no --hash")
        key = str(canonicalize_name(name))
        found[key] = LockedPackage(key, version, index, tuple(hashes))

    for raw in text.splitlines():
        line = raw.strip()
        pin = _PIN.match(line)
        if pin:
            close()
            name, version, index, hashes = pin.group(1), pin.group(3), "", []
        if name:
            hashes += _HASH.findall(line)
            origin = _FROM.match(line)
            if origin:
                index = origin.group(1)
    close()
    return dict(sorted(found.items()))
