"""`bakery outdated`: which pins have newer releases, and whether those have wheels for every
target, before anyone edits matrix.toml."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bakery.cli.common import DEFAULT_MATRIX, FormatOption, MatrixOption, OutputFormat, TargetOption


def register(app: typer.Typer) -> None:
    app.command(name="outdated")(outdated)


def outdated(
    target: TargetOption = None,
    format: FormatOption = OutputFormat.table,
    cache_dir: Annotated[
        Path | None,
        typer.Option("--cache-dir", help="Index answer cache (as for preflight)."),
    ] = None,
    max_age: Annotated[
        float, typer.Option("--max-age", help="Seconds a cached index answer stays fresh.")
    ] = 3600.0,
    matrix: MatrixOption = DEFAULT_MATRIX,
) -> None:
    """For every pin (python patch versions, the torch set per index, transformers,
    tokenizers, feature packages, uv): the newest release on its index and, per target
    (python x platform x accelerator), whether that release has a wheel for it. The torch set
    is offered only as a matching torch / torchvision / torchaudio set. Changes nothing.
    """
    from bakery.cli.preflight import default_cache_dir
    from bakery.lockfile.targets import chosen
    from bakery.outdated.collect import collect
    from bakery.preflight.index import FetchOptions
    from bakery.project import load_plan
    from bakery.views import outdated as views

    unlocked = load_plan(matrix, mode="unlocked")
    loaded, plan = unlocked.matrix, unlocked.plan
    targets = chosen(plan, target)
    from rich.console import Console

    from bakery.views.progress import network_progress

    with network_progress(Console(stderr=True, highlight=False),
                          "outdated: asking the package indexes", "pages") as lines:
        options = FetchOptions(cache_dir=cache_dir or default_cache_dir(), ttl=max_age,
                               retries=1, timeout=15.0, progress=lines)
        report = collect(loaded, targets, options, _uv())
    if format is OutputFormat.json:
        typer.echo(views.outdated_json(report), nl=False)
    else:
        views.outdated_table(report)


def _uv() -> str | None:
    from bakery.errors import MissingToolError
    from bakery.lockfile.uv import find_uv

    try:
        return find_uv()
    except MissingToolError:
        return None
