"""`bakery bake`: build the selected targets with `docker buildx bake`.

Parses the options into a `BakeRequest`; `bakery.bake.request.prepare_bake` settles the plan,
the bake file and the invocations, `bakery.bake.run.run_bake` runs them. Targets resolve
exactly as in `bakery plan`. python-on-whales is imported only when Docker is about to run.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bakery.cli.common import (
    DEFAULT_MATRIX,
    FormatOption,
    MatrixOption,
    OutputFormat,
    ResultsOption,
    TargetOption,
    docker_call,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from rich.console import Console

    from bakery.bake.request import BakeRequest
    from bakery.plan.target import Target
    from bakery.views.bake import Mode


class ProgressMode(enum.StrEnum):
    """--progress; `_mode` turns it into the view's `bakery.views.bake.Mode` (auto: live on a
    terminal, else plain)."""

    auto = "auto"
    plain = "plain"
    quiet = "quiet"


def register(app: typer.Typer) -> None:
    app.command(name="bake")(bake)


LoadOption = Annotated[
    bool, typer.Option("--load", help="Load the images into the local Docker engine.")
]

PushOption = Annotated[
    bool,
    typer.Option("--push", help="Push candidates to staging ([publish] in matrix.toml);"
                 " `bakery release` creates the public names after `bakery verify`."),
]

BuilderOption = Annotated[
    str | None,
    typer.Option("--builder", help="buildx builder to use (default: the current one)."),
]

SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override a bake attribute, <target>.<key>=<value> (target may be a glob)."
        " Repeatable.",
    ),
]

JobsOption = Annotated[
    int | None,
    typer.Option(
        "--jobs", "-j", min=1,
        help="Bake invocations run at once (default: min(4, number of targets)).",
    ),
]

FailFastOption = Annotated[
    bool,
    typer.Option(
        "--fail-fast", help="One bake for all targets: the first failure stops everything."
    ),
]

DryRunOption = Annotated[
    bool,
    typer.Option("--dry-run", help="Print the buildx command lines; run and write nothing."),
]

RenderOption = Annotated[
    bool,
    typer.Option(
        "--render",
        help="If docker-bake.hcl is stale, build from a freshly rendered temporary file"
        " instead of stopping.",
    ),
]

ProgressOption = Annotated[
    ProgressMode,
    typer.Option(
        "--progress",
        help="auto (a live view on a terminal, else plain), plain, or quiet.",
    ),
]


def bake(
    target: TargetOption = None,
    load: LoadOption = False,
    push: PushOption = False,
    builder: BuilderOption = None,
    set_: SetOption = None,
    jobs: JobsOption = None,
    fail_fast: FailFastOption = False,
    dry_run: DryRunOption = False,
    render: RenderOption = False,
    results: ResultsOption = None,
    progress: ProgressOption = ProgressMode.auto,
    matrix: MatrixOption = DEFAULT_MATRIX,
    format: FormatOption = OutputFormat.table,
) -> None:
    """Build the selected targets (default: the `default` group) with docker buildx bake,
    one invocation per target, and report a result per target (exit 1 unless all are ok).
    --format json prints the results document (what the results file holds) instead of the
    table."""
    from bakery.bake.request import BakeRequest
    from bakery.errors import ConfigError

    if fail_fast and jobs is not None:
        raise ConfigError("--fail-fast runs one bake for every target; it takes no --jobs")

    if load and push:
        raise ConfigError("--load and --push exclude each other: --push publishes the"
                          " candidates to staging, --load puts the images into the local"
                          " engine")
    request = BakeRequest(
        matrix=matrix, targets=tuple(target or ()), builder=builder,
        output="push" if push else "load" if load else "cache", overrides=tuple(set_ or ()),
        jobs=jobs, fail_fast=fail_fast, render=render, results=results,
    )
    if dry_run:
        _dry_run(request)
    else:
        raise typer.Exit(_build(request, progress, as_json=format is OutputFormat.json))


def _dry_run(request: BakeRequest) -> None:
    from bakery.bake.request import prepare_bake
    from bakery.views import bake as views

    with prepare_bake(request, keep_rendered=True) as prepared:
        cwd = prepared.cwd
        typer.echo(views.dry_run_script(
            prepared.commands(tuple(docker_call())),
            cwd=None if Path.cwd().resolve() == cwd else cwd,
            metadata_dir=prepared.invocations[0].metadata_file.parent,
            concurrency=prepared.concurrency, notes=[*prepared.notes, *_staging_notes(
                prepared.selected, push=request.output == "push")],
        ), nl=False)


def _staging_notes(selected: Sequence[Target], *, push: bool) -> list[str]:
    """What --push publishes: each target's candidate, never a name users pull."""
    if not push:
        return []
    return [f"{t.id}: pushes {t.candidate} only (staging; `bakery release` creates the public"
            " names from its verified digest)" for t in selected]


def _build(request: BakeRequest, progress: ProgressMode, *, as_json: bool = False) -> int:
    import os

    from bakery.bake.request import prepare_bake
    from bakery.bake.run import run_bake
    from bakery.docker.buildx import BuildxEngine  # python-on-whales: only now
    from bakery.docker.client import make_client
    from bakery.errors import BakeryError
    from bakery.views import bake as views

    err_console, out_console = _consoles()
    with prepare_bake(request) as prepared:
        view = views.make_view(_mode(progress, err_console), err_console,
                               [t.id for t in prepared.selected])
        engine = BuildxEngine(make_client(docker_call()), os.environ)
        outcome = run_bake(prepared, engine, view)
        notes = prepared.notes
    if as_json:
        typer.echo(outcome.results.model_dump_json(indent=2))
    else:
        views.print_summary(out_console, outcome.results, results_path=outcome.written)
    for note in notes:
        err_console.print(f"bakery: {note}", soft_wrap=True)
    if outcome.note:
        err_console.print(f"bakery: {outcome.note}", soft_wrap=True)
    if outcome.error:
        raise BakeryError(outcome.error)
    return outcome.exit_code


def _mode(progress: ProgressMode, console: Console) -> Mode:
    if progress is ProgressMode.quiet:
        return "quiet"
    if progress is ProgressMode.plain or not console.is_terminal or console.is_dumb_terminal:
        return "plain"
    return "live"


def _consoles() -> tuple[Console, Console]:
    from rich.console import Console

    err = Console(stderr=True, highlight=False)
    out = Console(highlight=False)
    if not out.is_terminal:
        out = Console(highlight=False, width=160)
    return err, out
