"""The layers of a package lock: each target's lock is written as ordered groups, one
requirements file each, and the image installs every group in a layer of its own, least
volatile first. Edge devices pull an update over slow links and skip the layers they hold, so
a package that moves should re-ship only its own layer:

1. ``cuda``: the CUDA runtime libraries (``nvidia-*`` wheels such as cuDNN and cuBLAS,
   NVIDIA's ``cuda-*`` packages, and what a feature's ``layers.cuda`` names: TensorRT's
   ``tensorrt-*-libs``). Gigabytes; they move only with a new CUDA line or TensorRT release.
2. ``torch``: torch, torchvision, torchaudio and triton (torch pins triton exactly, so it moves
   with every torch release, and belongs here rather than with CUDA: a torch bump within one
   CUDA line never re-ships cuDNN).
3. ``rest``: everything else (transformers, tokenizers, numpy, the feature packages, ...): the
   small, frequently moving part.

The first group whose patterns match a distribution's normalized name takes it; the patterns
are shell globs (`fnmatch`). The rule is this table plus what matrix.toml's features add to a
group (`features.<name>.layers`, `layer_groups`), so a feature's packages are placed by the
matrix, not by code. The lock fingerprint includes the whole rule, so changing it makes every
lock stale until `bakery lock` re-splits them. The plan path imports this module for the table
only: the parsing helpers import what they need.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from bakery.matrix.models import Feature


class Group(NamedTuple):
    name: str
    patterns: tuple[str, ...]
    what: str

    def file(self, position: int) -> str:
        return f"{position}-{self.name}.txt"


# The groups without any feature's patterns: their names, files and order never change.
GROUPS: tuple[Group, ...] = (
    Group("cuda", ("nvidia-*", "cuda-*"), "the CUDA runtime libraries"),
    Group("torch", ("torch", "torchvision", "torchaudio", "triton", "pytorch-triton*"),
          "torch and its kin"),
    Group("rest", ("*",), "everything else"),
)


def layer_groups(features: Mapping[str, Feature]) -> tuple[Group, ...]:
    """The groups of a matrix: GROUPS, each with the patterns its features send to it
    (`features.<name>.layers`, in the matrix's order, each pattern once)."""
    added: dict[str, list[str]] = {}
    for feature in features.values():
        for layer, patterns in feature.layers.items():
            added.setdefault(layer, []).extend(patterns)
    return tuple(
        group._replace(patterns=tuple(dict.fromkeys((*group.patterns, *added[group.name]))))
        if group.name in added else group
        for group in GROUPS
    )


def group_files() -> tuple[str, ...]:
    """`1-cuda.txt`, `2-torch.txt`, `3-rest.txt`: the file names, in install order."""
    return tuple(group.file(i) for i, group in enumerate(GROUPS, start=1))


def rule(groups: tuple[Group, ...]) -> list[list[object]]:
    """The grouping rule as plain data (for the lock fingerprint)."""
    return [[group.name, list(group.patterns)] for group in groups]


def group_of(name: str, groups: tuple[Group, ...]) -> Group:
    """The group of distribution `name` (any spelling): the first whose pattern matches."""
    import fnmatch

    from packaging.utils import canonicalize_name

    normalized = str(canonicalize_name(name))
    for group in groups:
        if any(fnmatch.fnmatchcase(normalized, pattern) for pattern in group.patterns):
            return group
    raise AssertionError(f"no group takes {normalized!r}: the last group must match '*'")


# compiled on first use (re caches them): the plan path never parses a lock
_PIN = r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?=="
_FROM = r"^\s*#\s*from\s+(\S+)"
_INDEX_OPTION = r"^--(index-url|extra-index-url)\s+(\S+)\s*$"


class Block(NamedTuple):
    """One pinned distribution of a lock: its name and its lines (pin, hashes, origin)."""

    name: str
    lines: tuple[str, ...]

    @property
    def origin(self) -> str | None:
        for line in self.lines:
            if m := re.match(_FROM, line):
                return m.group(1)
        return None


def blocks(text: str) -> tuple[list[str], list[Block]]:
    """(the index options before the first pin, every pinned distribution) of a lock written
    by uv. Comments and blank lines outside a block are dropped."""
    from packaging.utils import canonicalize_name

    options: list[str] = []
    found: list[Block] = []
    name: str | None = None
    lines: list[str] = []
    for line in text.splitlines():
        pin = re.match(_PIN, line)
        if pin:
            if name is not None:
                found.append(Block(name, tuple(lines)))
            name, lines = str(canonicalize_name(pin.group(1))), [line]
        elif name is not None and line.strip():
            lines.append(line)
        elif name is None and re.match(_INDEX_OPTION, line):
            options.append(line.strip())
    if name is not None:
        found.append(Block(name, tuple(lines)))
    return options, found


# the head of each layer file bakery lock writes (a generated file: do not edit)
LAYER_FILE_HEADER = (
    "# The package lock of {key}, layer {position} of {count}: {what}\n"
    "# ({patterns}), installed as a layer of its own (images/shared/Dockerfile).\n"
    "# Generated by `bakery lock` with uv (python {python}, {platform}). Do not edit.\n"
)


def split(text: str, groups: tuple[Group, ...], *, key: str, python: str,
          platform: str) -> dict[str, str]:
    """The lock `text` as one requirements file per group ({file name: text}, in install
    order). Each keeps the sha256 of every file and names only the indexes its own packages
    come from (plus the default index), so a group's bytes change only when one of its own
    packages does: the image layer built from it is then the only one a device downloads."""
    options, found = blocks(text)
    out: dict[str, str] = {}
    for position, group in enumerate(groups, start=1):
        mine = [b for b in found if group_of(b.name, groups) is group]
        used = {b.origin for b in mine}
        head = LAYER_FILE_HEADER.format(
            key=key, position=position, count=len(groups), what=group.what,
            patterns=", ".join(group.patterns), python=python, platform=platform,
        )
        if not mine:
            out[group.file(position)] = head + "# (no package of this target is in this layer)\n"
            continue
        kept = [o for o in options
                if (m := re.match(_INDEX_OPTION, o)) and (m.group(1) == "index-url"
                                                      or m.group(2) in used)]
        body = "".join(f"{o}\n" for o in kept) + "\n"
        body += "".join("".join(f"{line}\n" for line in b.lines) for b in mine)
        out[group.file(position)] = head + body
    return out


def joined(texts: list[str]) -> str:
    """The pinned distributions of several group files as one lock (uv's starting point for a
    refresh, and the whole set to compare): their blocks, without options or headers."""
    lines: list[str] = []
    for text in texts:
        for block in blocks(text)[1]:
            lines.extend(block.lines)
    return "".join(f"{line}\n" for line in lines)
