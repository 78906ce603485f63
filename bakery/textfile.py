"""Reading and writing the text files bakery owns, so that neither can go silently wrong.

Reading: only a regular file (a FIFO or a device is refused, never waited on), strict UTF-8
without a byte-order mark; every failure is one ConfigError line naming the file.

Writing: atomically (a temporary file in the same directory, renamed over the target), through
a symlink to the file it points at (the link stays a link), and never over anything that is not
a regular file. A failure leaves the path exactly as it was.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import stat
from collections.abc import Callable, Mapping
from pathlib import Path

from bakery.errors import BakeryError, ConfigError

_BOM = b"\xef\xbb\xbf"
# A write that fails for these reasons is the machine's problem (exit 1), not the input's.
MACHINE_FAILURES = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO})


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_text(path: Path, *, what: str = "file") -> str:
    """The UTF-8 text of the regular file at `path`. FileNotFoundError passes through (callers
    decide whether a missing file is an error); every other problem is a ConfigError."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what}: {exc.strerror}") from None
    if not stat.S_ISREG(mode):
        raise ConfigError(f"{path}: is {_kind(mode)}, not a regular file (the {what})")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what}: {exc.strerror}") from None
    if data.startswith(_BOM):
        raise ConfigError(
            f"{path}: starts with a UTF-8 byte-order mark; save the {what} as UTF-8 without one"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line})"
        ) from None


def write_target(path: Path) -> Path:
    """The file a write to `path` replaces: `path` itself, or the file its symlinks lead to.
    ConfigError when that is anything but a regular file or absent."""
    try:
        mode: int | None = path.stat().st_mode  # follows links, /proc's magic ones too
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write: {exc.strerror}") from None
    target = Path(os.path.realpath(path))
    if mode is not None and not stat.S_ISREG(mode):
        shown = path if target == path.absolute() else f"{path} (-> {target})"
        raise ConfigError(f"{shown}: is {_kind(mode)}; bakery only replaces regular files")
    if mode is not None and not target.exists():
        # /dev/stdout and the like: a link that leads to an open file, not to a path
        raise ConfigError(f"{path}: is not a path to a file; bakery only replaces regular files")
    return target


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file in the same directory and a rename:
    never half-written, never replacing a link, a directory or a device (see module doc).
    A failure is ConfigError (exit 2), or BakeryError (exit 1) when the disk is full."""
    target = write_target(path)
    made: list[Path] = []  # the temporary file, as soon as it exists
    try:
        tmp = _staged(target, text, made.append)
        _keep_mode(target, tmp)
        tmp.replace(target)
        made.clear()
    except OSError as exc:
        error = BakeryError if exc.errno in MACHINE_FAILURES else ConfigError
        raise error(f"{path}: cannot write: {exc.strerror or exc}; left unchanged") from None
    finally:
        for leftover in made:
            with contextlib.suppress(OSError):
                leftover.unlink()


def _staged(target: Path, text: str, created: Callable[[Path], None]) -> Path:
    """`text` written and synced to a new temporary file beside `target` (told to `created`
    as soon as it exists, so a caller can remove it on failure); returns its path."""
    import tempfile  # lazy: most commands only read

    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    created(Path(name))
    with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    return Path(name)


def _append_staged(staged: list[tuple[Path, Path, Path | None]], target: Path,
                   tmp: Path) -> None:
    staged.append((tmp, target, None))


def _keep_mode(target: Path, tmp: Path) -> bool:
    """Give `tmp` the mode of the file it will replace (a new file: the umask's); whether
    `target` exists."""
    try:
        mode = target.stat().st_mode & 0o777
    except FileNotFoundError:
        tmp.chmod(0o666 & ~_umask())
        return False
    tmp.chmod(mode)
    return True


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_all_atomic(files: Mapping[Path, str], *, what: str) -> None:
    """Write every file of `files` or none. Each is written to a temporary file beside it
    (and each file it replaces is kept by a hard link) before anything is renamed; then the
    renames, and a rename that fails puts back the files already replaced. A failure leaves
    every file as it was, and is one line naming the file that failed and saying `what` was
    left unchanged (BakeryError when the disk is full, else ConfigError)."""
    staged: list[tuple[Path, Path, Path | None]] = []  # (temporary, target, kept original)
    done: list[tuple[Path, Path, Path | None]] = []
    current = Path()
    try:
        for path, text in files.items():
            current = path
            target = write_target(path)
            tmp = _staged(target, text, functools.partial(_append_staged, staged, target))
            if _keep_mode(target, tmp):
                kept = target.with_name(f".{target.name}.{tmp.name}.old")
                os.link(target, kept)
                staged[-1] = (tmp, target, kept)
        for entry in staged:
            current = entry[1]
            entry[0].replace(entry[1])
            done.append(entry)
    except OSError as exc:
        for _, replaced, original in reversed(done):
            with contextlib.suppress(OSError):
                if original is None:
                    replaced.unlink()
                else:
                    original.replace(replaced)
        error = BakeryError if exc.errno in MACHINE_FAILURES else ConfigError
        raise error(f"{current}: cannot write: {exc.strerror or exc}; {what} left"
                    " unchanged") from None
    finally:
        for entry in staged:
            for leftover in (entry[0], entry[2]):
                if leftover is not None:
                    with contextlib.suppress(OSError):
                        leftover.unlink()
