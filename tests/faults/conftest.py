"""The fault corpus: every file bakery reads or writes and every way an index can fail."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

Entry = tuple[str, object]


@pytest.fixture(autouse=True)
def _network_rule(loopback_only: None) -> None:
    """The misbehaving indexes live on 127.0.0.1; anything else fails at once."""


def snapshot(root: Path, *, skip: tuple[str, ...] = ()) -> dict[str, Entry]:
    """Everything under `root` as it is on disk, without following links: kind and content
    (bytes and mode of files, targets of links, device numbers)."""
    out: dict[str, Entry] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            if rel.startswith(skip):
                continue
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", str(path.readlink()))
            elif stat.S_ISREG(st.st_mode):
                out[rel] = ("file", (path.read_bytes(), stat.S_IMODE(st.st_mode)))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode))
            elif stat.S_ISFIFO(st.st_mode):
                out[rel] = ("fifo", None)
            else:
                out[rel] = ("other", st.st_rdev)
    return out


def one_line_error(code: int, err: str, *, codes: tuple[int, ...] = (2,)) -> str:
    """The error line of a failed run: the expected exit code, no traceback, a few lines."""
    assert code in codes, (code, err)
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert 1 <= len(lines) <= 3, err
    errors = [line for line in lines if line.startswith("bakery: error: ")]
    assert errors, err
    return errors[0]


@pytest.fixture(autouse=True)
def _git_context(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_SHA", "0" * 40)  # no `git` run for the release tags
    monkeypatch.setenv("GITHUB_REF", "refs/heads/main")
