"""`bakery preflight`: real wheel availability decides python and `auto` flags."""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bakery.cli.common import (
    DEFAULT_MATRIX,
    FormatOption,
    MatrixOption,
    OutputFormat,
    TargetOption,
)
from bakery.errors import BakeryError, ConfigError

if TYPE_CHECKING:
    from rich.console import Console

    from bakery.preflight.decision import ImageDecision
    from bakery.preflight.index import FetchOptions
    from bakery.project import LoadedPlan

DEFAULT_MAX_AGE = 3600.0


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


OfflineOption = Annotated[
    bool, typer.Option("--offline", help="Use only cached index answers (any age); a"
                       " missing one is an error.")
]
IndexUrlOption = Annotated[
    list[str] | None,
    typer.Option("--index-url", metavar="NAME=URL",
                 help="Query URL for the index NAME of matrix.toml (a mirror). Repeatable."),
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Decide and show; write no lock.")
]
CacheDirOption = Annotated[
    Path | None,
    typer.Option("--cache-dir", help="Index answer cache (default:"
                 " $XDG_CACHE_HOME/bakery/index or ~/.cache/bakery/index)."),
]
MaxAgeOption = Annotated[
    float, typer.Option("--max-age", help="Seconds a cached answer stays fresh online.")
]


def preflight(
    target: TargetOption = None,
    offline: OfflineOption = False,
    index_url: IndexUrlOption = None,
    format: FormatOption = OutputFormat.table,
    dry_run: DryRunOption = False,
    cache_dir: CacheDirOption = None,
    max_age: MaxAgeOption = DEFAULT_MAX_AGE,
    matrix: MatrixOption = DEFAULT_MATRIX,
) -> None:
    """Check on the package indexes that every pinned package has a wheel for each image;
    decide python (primary, else fallback) and 'auto' flags; write the lock next to the matrix.

    Exit 0 when every selected image is decided (the lock is written), 1 when one is not
    (nothing is written), 2 for bad input.
    """
    from bakery.preflight.index import FetchOptions
    from bakery.preflight.lock import lock_path, write_lock
    from bakery.project import load_plan

    if not math.isfinite(max_age) or max_age < 0:
        raise ConfigError(f"--max-age: {max_age!r} is not a number of seconds (0 or more)")
    provisional = load_plan(matrix, mode="provisional")
    loaded = provisional.matrix
    options = FetchOptions(cache_dir=cache_dir or default_cache_dir(), ttl=max_age,
                           offline=offline, on_cache_error=_cache_warning())
    decisions = _decide(provisional, target or ["all"], options, _overrides(index_url))
    path = lock_path(matrix)
    ok = all(d.ok for d in decisions)
    if ok and not dry_run:
        write_lock(path, loaded, decisions)
    _show(decisions, format, path, written=ok and not dry_run, dry_run=dry_run)
    if not ok:
        failed = ", ".join(d.image for d in decisions if not d.ok)
        raise BakeryError(f"preflight could not decide {failed}; {path} left unchanged")


def _decide(
    provisional: LoadedPlan, names: list[str], options: FetchOptions, overrides: dict[str, str],
) -> Sequence[ImageDecision]:
    from bakery.preflight.run import preflight_matrix
    from bakery.preflight.select import select_images
    from bakery.views.progress import network_progress

    loaded = provisional.matrix
    unknown = sorted(set(overrides) - {"pypi", *loaded.indexes})
    if unknown:
        raise ConfigError(
            f"--index-url: no index named {unknown[0]!r} in {provisional.matrix_path}")
    images = select_images(loaded, provisional.plan, names)
    title = f"preflight: querying package indexes for {len(images)} image(s)"
    with network_progress(_stderr(), title, "pages") as lines:
        return preflight_matrix(loaded, images, replace(options, progress=lines), overrides)


def _show(decisions: Sequence[ImageDecision], format: OutputFormat, path: Path, *, written: bool,
          dry_run: bool) -> None:
    from bakery.views import preflight as views

    if format is OutputFormat.json:
        typer.echo(views.preflight_json(decisions, lock=str(path), lock_written=written), nl=False)
        return
    views.preflight_table(decisions)
    if written:
        _stderr().print(f"bakery preflight: {len(decisions)} image(s) decided; lock: {path}")
    elif dry_run:
        _stderr().print("bakery preflight: --dry-run, no lock written")


def _cache_warning() -> Callable[[str], None]:
    """Say once per problem that the cache cannot be written, and go on: it is optional.
    Pages are fetched (and cached) on several threads, hence the lock."""
    warned: set[str] = set()
    lock = threading.Lock()

    def warn(message: str) -> None:
        with lock:
            if message in warned:
                return
            warned.add(message)
        _stderr().print(f"bakery: warning: {message}; continuing without it", markup=False,
                        soft_wrap=True)

    return warn


def _stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)
