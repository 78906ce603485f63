"""A throwaway GnuPG home for tests, and the agent gpg starts in it stopped afterwards.

gpg starts a `gpg-agent` daemon for key generation and signing; it outlives the test, one per
GnuPG home, unless it is told to stop (`gpgconf --kill gpg-agent`)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def gnupg_home(home: Path) -> Iterator[dict[str, str]]:
    """Create `home` (mode 700) and yield the environment that points gpg at it; on the way
    out, stop the agent gpg may have started there."""
    home.mkdir(mode=0o700)
    env = {"GNUPGHOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    try:
        yield env
    finally:
        gpgconf = shutil.which("gpgconf", path=env["PATH"])
        if gpgconf is not None:
            subprocess.run([gpgconf, "--kill", "gpg-agent"], env=env, check=False,
                           capture_output=True, timeout=30)


def agents_in(home: Path) -> list[int]:
    """The ids of the running gpg-agent processes serving `home` (from /proc)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"gpg-agent") and str(home).encode() in argv:
            found.append(int(proc.name))
    return found
