"""`bakery preflight`: real wheel availability decides python and `auto` flags."""

from __future__ import annotations

import enum
import math
import os
import threading
from pathlib import Path
from typing import Annotated

import typer

from bakery.cli.common import DEFAULT_MATRIX, MatrixOption, TargetOption
from bakery.errors import BakeryError, ConfigError

DEFAULT_MAX_AGE = 3600.0


class PreflightFormat(enum.StrEnum):
    table = "table"
    json = "json"


def register(app: typer.Typer) -> None:
    app.command(name="preflight")(preflight)


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bakery" / "index"


def _overrides(values: list[str] | None) -> dict[str, str]:
    from bakery.matrix.checks import index_url_problem

    out: dict[str, str] = {}
    for value in values or []:
        name, sep, url = value.partition("=")
        problem = index_url_problem(url) if sep and name else "not NAME=URL"
        if problem:
            raise ConfigError(f"--index-url: {value!r}: {problem}")
        out[name] = url
    return out


def preflight(
    target: TargetOption = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Use only cached index answers (any age); a"
                           " missing one is an error.")
    ] = False,
    index_url: Annotated[
        list[str] | None,
        typer.Option("--index-url", metavar="NAME=URL",
                     help="Query URL for the index NAME of matrix.toml (a mirror). Repeatable."),
    ] = None,
    format: Annotated[
        PreflightFormat, typer.Option("--format", "-f", help="table or json.")
    ] = PreflightFormat.table,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Decide and show; write no lock.")
    ] = False,
    cache_dir: Annotated[
        Path | None,
        typer.Option("--cache-dir", help="Index answer cache (default:"
                     " $XDG_CACHE_HOME/bakery/index or ~/.cache/bakery/index)."),
    ] = None,
    max_age: Annotated[
        float, typer.Option("--max-age", help="Seconds a cached answer stays fresh online.")
    ] = DEFAULT_MAX_AGE,
    matrix: MatrixOption = DEFAULT_MATRIX,
) -> None:
    """Check on the package indexes that every pinned package has a wheel for each image;
    decide python (primary, else fallback) and 'auto' flags; write the lock next to the matrix.

    Exit 0 when every selected image is decided (the lock is written), 1 when one is not
    (nothing is written), 2 for bad input.
    """
    from rich.console import Console

    from bakery.matrix import load_matrix
    from bakery.preflight.index import FetchOptions
    from bakery.preflight.lock import lock_json, lock_path, locked_dir, read_lock, updated_lock
    from bakery.preflight.run import preflight_matrix
    from bakery.preflight.select import select_images
    from bakery.textfile import read_text, write_atomic
    from bakery.views import preflight as views

    if not math.isfinite(max_age) or max_age < 0:
        raise ConfigError(f"--max-age: {max_age!r} is not a number of seconds (0 or more)")
    loaded = load_matrix(matrix)
    overrides = _overrides(index_url)
    unknown = sorted(set(overrides) - {"pypi", *loaded.indexes})
    if unknown:
        raise ConfigError(f"--index-url: no index named {unknown[0]!r} in {matrix}")
    names = select_images(loaded, target or ["all"], source=str(matrix))
    err = Console(stderr=True, highlight=False)
    warned: set[str] = set()
    warned_lock = threading.Lock()  # pages are fetched (and cached) on several threads

    def cache_warning(message: str) -> None:  # the cache is optional: say so once, go on
        with warned_lock:
            if message in warned:
                return
            warned.add(message)
        err.print(f"bakery: warning: {message}; continuing without it", markup=False,
                  soft_wrap=True)

    options = FetchOptions(cache_dir=cache_dir or default_cache_dir(), ttl=max_age,
                           offline=offline, on_cache_error=cache_warning)
    with err.status(f"preflight: querying package indexes for {len(names)} image(s)..."):
        decisions = preflight_matrix(loaded, names, options, overrides)

    path = lock_path(matrix)
    ok = all(d.ok for d in decisions)
    written = False
    if ok and not dry_run:
        # another preflight may be writing the lock too: read, merge and write under a lock
        with locked_dir(path.parent):
            old = read_lock(path)
            text = lock_json(updated_lock(old, loaded, decisions))
            if old is None or read_text(path, what="lock") != text:
                write_atomic(path, text)
        written = True
    if format is PreflightFormat.json:
        typer.echo(views.preflight_json(decisions, lock=str(path), lock_written=written), nl=False)
    else:
        views.preflight_table(decisions)
        if written:
            err.print(f"bakery preflight: {len(decisions)} image(s) decided; lock: {path}")
        elif dry_run:
            err.print("bakery preflight: --dry-run, no lock written")
    if not ok:
        failed = ", ".join(d.image for d in decisions if not d.ok)
        raise BakeryError(f"preflight could not decide {failed}; {path} left unchanged")
