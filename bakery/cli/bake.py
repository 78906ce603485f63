"""`bakery bake`: build the selected targets with `docker buildx bake`.

Targets resolve exactly as in `bakery plan` (`load_plan` + `select_targets`). Only
this command imports python-on-whales, and only when it is about to run Docker.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from bakery.cli.common import (
    DEFAULT_MATRIX,
    MatrixOption,
    TargetOption,
    default_results,
    docker_call,
    load_plan,
)

if TYPE_CHECKING:
    from rich.console import Console

    from bakery.bake.runner import Runner
    from bakery.cli.common import Loaded


class Progress(enum.StrEnum):
    auto = "auto"
    plain = "plain"
    quiet = "quiet"


BAKE_FILE = "docker-bake.hcl"
TEMPLATE = "docker-bake.hcl.j2"


def register(app: typer.Typer) -> None:
    app.command(name="bake")(bake)


def bake(
    target: TargetOption = None,
    load: Annotated[
        bool, typer.Option("--load", help="Load the images into the local Docker engine.")
    ] = False,
    push: Annotated[
        bool,
        typer.Option("--push", help="Push candidates to staging ([publish] in matrix.toml);"
                     " `bakery release` creates the public names after `bakery verify`."),
    ] = False,
    builder: Annotated[
        str | None,
        typer.Option("--builder", help="buildx builder to use (default: the current one)."),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Override a bake attribute, <target>.<key>=<value> (target may be a glob)."
            " Repeatable.",
        ),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs", "-j", min=1,
            help="Bake invocations run at once (default: min(4, number of targets)).",
        ),
    ] = None,
    fail_fast: Annotated[
        bool,
        typer.Option(
            "--fail-fast", help="One bake for all targets: the first failure stops everything."
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print the buildx command lines; run and write nothing."),
    ] = False,
    render: Annotated[
        bool,
        typer.Option(
            "--render",
            help="If docker-bake.hcl is stale, build from a freshly rendered temporary file"
            " instead of stopping.",
        ),
    ] = False,
    results: Annotated[
        Path | None,
        typer.Option(
            "--results",
            help="Results JSON (default: .bakery/results.json next to the matrix); logs and"
            " metadata go next to it.",
        ),
    ] = None,
    progress: Annotated[
        Progress,
        typer.Option(
            "--progress",
            help="auto (a live view on a terminal, else plain), plain, or quiet.",
        ),
    ] = Progress.auto,
    matrix: MatrixOption = DEFAULT_MATRIX,
) -> None:
    """Build the selected targets (default: the `default` group) with docker buildx bake,
    one invocation per target, and report a result per target (exit 1 unless all are ok)."""
    import os
    import time
    from datetime import UTC, datetime

    from bakery import __version__
    from bakery.bake import invocations as plan_inv
    from bakery.bake.results import Results, exit_code, overall_ok, results_json
    from bakery.bake.runner import Job, Runner
    from bakery.errors import ConfigError
    from bakery.plan import select_targets
    from bakery.render import write_atomic
    from bakery.views import results as views

    if load and push:
        raise ConfigError("--load and --push exclude each other: --push publishes the"
                          " candidates to staging, --load puts the images into the local"
                          " engine")
    loaded = load_plan(matrix)
    selected = select_targets(loaded.plan, target or [])
    overrides = {
        **plan_inv.default_overrides(loaded.plan.git.sha),
        **plan_inv.parse_overrides(set_ or [], plan=loaded.plan),
    }
    base = matrix.parent
    cwd = base.resolve()
    results_path = results if results is not None else default_results(matrix)
    workdir = results_path.parent
    docker_cmd = docker_call()

    bake_file, temporary, notes = _bake_file(loaded, matrix, render=render)
    try:
        settings = plan_inv.BakeSettings(
            bake_file=_relative(bake_file, cwd), load=load, push=push, builder=builder
        )
        invocations = plan_inv.plan_invocations(
            selected, fail_fast=fail_fast,
            metadata_dir=_relative(workdir / "metadata", cwd), overrides=overrides,
        )
        concurrency = 1 if fail_fast else jobs or plan_inv.default_jobs(len(invocations))
        if dry_run:
            if push:
                notes.extend(f"{t.id}: pushes {t.candidate} only (staging; `bakery release`"
                             " creates the public names from its verified digest)"
                             for t in selected)
            if temporary is not None:
                temporary = None  # keep it: the printed commands refer to it
                notes.append(f"the rendered bake file is kept at {bake_file}")
            typer.echo(views.dry_run_script(
                [plan_inv.bake_argv(docker_cmd, i, settings) for i in invocations],
                cwd=None if Path.cwd().resolve() == cwd else cwd,
                metadata_dir=_relative(workdir / "metadata", cwd),
                concurrency=concurrency, notes=notes,
            ), nl=False)
            return

        from bakery.docker import buildx  # python-on-whales: only now

        client = buildx.make_client(docker_cmd)
        buildx.check_tools(client, builder)
        prefix = buildx.docker_prefix(client)
        work = [Job(i, plan_inv.bake_argv(prefix, i, settings)) for i in invocations]
        for sub in ("metadata", "logs"):
            (workdir / sub).mkdir(parents=True, exist_ok=True)
        for invocation in invocations:
            (cwd / invocation.metadata_file).unlink(missing_ok=True)

        err_console, out_console = _consoles()
        view = views.make_view(_mode(progress, err_console), err_console, [t.id for t in selected])
        platforms = {t.id: t.platform for t in selected}
        runner = Runner(
            work, buildx.launcher(cwd=cwd, env=os.environ), concurrency=concurrency,
            observer=view, platforms=platforms, cwd=cwd, log_dir=workdir / "logs",
        )
        started_at = datetime.now(UTC)
        started = time.monotonic()
        with _cancel_on_signals(runner), view:
            outcome = runner.run()
        doc = Results(
            bakery_version=__version__, matrix=str(matrix), bake_file=str(bake_file),
            builder=builder, output=settings.output,
            fail_fast=fail_fast, jobs=concurrency, git=loaded.plan.git,
            started_at=started_at, duration_s=round(time.monotonic() - started, 3),
            ok=overall_ok(outcome), targets=tuple(outcome),
        )
        workdir.mkdir(parents=True, exist_ok=True)
        write_atomic(results_path, results_json(doc))
        views.print_summary(out_console, doc, results_path=results_path)
        raise typer.Exit(exit_code(outcome))
    finally:
        if temporary is not None:
            temporary.unlink(missing_ok=True)


def _relative(path: Path, base: Path) -> Path:
    """`path` relative to `base` when it lies inside it (shorter, copy-pasteable commands),
    else absolute."""
    absolute = path.resolve()
    try:
        return absolute.relative_to(base)
    except ValueError:
        return absolute


def _bake_file(loaded: Loaded, matrix: Path, *, render: bool) -> tuple[Path, Path | None,
                                                                        list[str]]:
    """The bake file to use: the committed one when it matches the plan; with `render`, a
    freshly rendered temporary file otherwise; else StaleError telling what to run."""
    import os
    import tempfile

    from bakery.errors import StaleError
    from bakery.render import render_bake_file

    committed = matrix.parent / BAKE_FILE
    text = render_bake_file(loaded.plan, matrix.parent / TEMPLATE, matrix_name=matrix.name)
    try:
        current: str | None = committed.read_text(encoding="utf-8")
    except FileNotFoundError:
        current = None
    if current == text:
        return committed, None, []
    state = "missing" if current is None else f"stale (it does not match {matrix})"
    if not render:
        raise StaleError(
            f"{committed} is {state}; run `bakery render` (and commit it), or pass --render"
            " to build from a freshly rendered temporary bake file"
        )
    fd, name = tempfile.mkstemp(prefix="bakery-", suffix=".hcl")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    note = f"{committed} is {state}; --render: using a freshly rendered bake file"
    return Path(name), Path(name), [note]


def _mode(progress: Progress, console: Console) -> Literal["live", "plain", "quiet"]:
    if progress is Progress.quiet:
        return "quiet"
    if progress is Progress.plain or not console.is_terminal or console.is_dumb_terminal:
        return "plain"
    return "live"


def _consoles() -> tuple[Console, Console]:
    from rich.console import Console

    err = Console(stderr=True, highlight=False)
    out = Console(highlight=False)
    if not out.is_terminal:
        out = Console(highlight=False, width=160)
    return err, out


@contextlib.contextmanager
def _cancel_on_signals(runner: Runner) -> Iterator[None]:
    """Ctrl-C, SIGTERM (CI cancelling a job) and SIGHUP cancel the builds cleanly instead of
    killing bakery: running builds are interrupted and reported cancelled, the rest skipped."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        runner.request_cancel()

    previous = {sig: signal.signal(sig, handler)
                for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
