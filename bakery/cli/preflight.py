"""`bakery preflight`: real wheel availability decides python and `auto` flags."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from bakery.cli.common import (
    DEFAULT_MATRIX,
    FormatOption,
    MatrixOption,
    OutputFormat,
    TargetOption,
)
from bakery.errors import BakeryError, ConfigError

DEFAULT_MAX_AGE = 3600.0


def register(app: typer.Typer) -> None:
    app.command(name="preflight")(preflight)


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bakery" / "index"


def _overrides(values: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values or []:
        name, sep, url = value.partition("=")
        if not sep or not name or not url.startswith(("http://", "https://")):
            raise ConfigError(f"--index-url: {value!r} is not NAME=URL (an http(s) URL)")
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
    format: FormatOption = OutputFormat.table,
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

    from bakery.jsonfile import write_atomic
    from bakery.matrix import load_matrix
    from bakery.preflight.index import FetchOptions
    from bakery.preflight.lock import lock_json, lock_path, read_lock, updated_lock
    from bakery.preflight.run import preflight_matrix
    from bakery.preflight.select import select_images
    from bakery.views import preflight as views

    loaded = load_matrix(matrix)
    overrides = _overrides(index_url)
    unknown = sorted(set(overrides) - {"pypi", *loaded.indexes})
    if unknown:
        raise ConfigError(f"--index-url: no index named {unknown[0]!r} in {matrix}")
    names = select_images(loaded, target or ["all"], source=str(matrix))
    options = FetchOptions(cache_dir=cache_dir or default_cache_dir(), ttl=max_age,
                           offline=offline)
    err = Console(stderr=True, highlight=False)
    with err.status(f"preflight: querying package indexes for {len(names)} image(s)..."):
        decisions = preflight_matrix(loaded, names, options, overrides)

    path = lock_path(matrix)
    ok = all(d.ok for d in decisions)
    written = False
    if ok and not dry_run:
        old = read_lock(path)
        text = lock_json(updated_lock(old, loaded, decisions))
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            write_atomic(path, text)
        written = True
    if format is OutputFormat.json:
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
