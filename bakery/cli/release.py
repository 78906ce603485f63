"""`bakery release`: legacy, compatibility and release tags onto verified digests (SPEC T2,
T3, B6), with `docker buildx imagetools create` (no rebuild; multi-arch manifests kept)."""

from __future__ import annotations

import enum
import os
import shlex
from pathlib import Path
from typing import Annotated

import typer

from bakery.cli.common import (
    DEFAULT_MATRIX,
    MatrixOption,
    RefOption,
    ShaOption,
    TargetOption,
    load_plan,
)
from bakery.errors import BakeryError, ConfigError


class ReleaseFormat(enum.StrEnum):
    table = "table"
    json = "json"


def register(app: typer.Typer) -> None:
    app.command(name="release")(release)


def release(
    target: TargetOption = None,
    ref: RefOption = None,
    sha: ShaOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print every operation and change nothing (tags"
                           " are still read, to tell what is already in place).")
    ] = False,
    results: Annotated[
        Path | None,
        typer.Option("--results", help="The bake results file with verify's verdicts"
                     " (default: .bakery/results.json next to the matrix)."),
    ] = None,
    format: Annotated[
        ReleaseFormat, typer.Option("--format", "-f", help="table or json.")
    ] = ReleaseFormat.table,
    matrix: MatrixOption = DEFAULT_MATRIX,
) -> None:
    """Create the legacy, compatibility and release tags of every target whose build is ok
    and whose digest `bakery verify` passed, each copied from that target's own verified
    digest. Any refused target stops the whole release (nothing is created); name targets
    with --target to release a subset. A second run changes nothing. Exit 0 when every tag is
    in place, 1 on a refusal or a failed operation, 2 for bad input.
    """
    from rich.console import Console

    from bakery.bake.results import load_results
    from bakery.docker.buildx import check_tools, make_client
    from bakery.plan import select_targets
    from bakery.release.execute import TagOutcome, execute
    from bakery.release.operations import release_operations
    from bakery.views import release as views

    loaded = load_plan(matrix, ref=ref, sha=sha)
    results_path = results or matrix.parent / ".bakery" / "results.json"
    bake_results = load_results(results_path)
    targets = select_targets(loaded.plan, target or ["all"])
    operations, refusals = release_operations(targets, bake_results)
    err = Console(stderr=True, highlight=False)

    outcomes: list[TagOutcome] = []
    if not refusals:
        try:
            docker_call = shlex.split(os.environ.get("BAKERY_DOCKER", "")) or ["docker"]
        except ValueError as exc:
            raise ConfigError(f"BAKERY_DOCKER: {exc}") from None
        client = make_client(docker_call)
        check_tools(client, None)
        with err.status("release: reading tags") as status:
            def progress(number: int, total: int, op: object) -> None:
                status.update(f"release: [{number}/{total}] {getattr(op, 'tag', '')}")

            outcomes = execute(client, operations, dry_run=dry_run, progress=progress)
    ok = not refusals and all(o.state != "failed" for o in outcomes)
    if format is ReleaseFormat.json:
        typer.echo(views.release_json(outcomes, refusals, dry_run=dry_run, ok=ok), nl=False)
    else:
        views.release_table(outcomes, refusals, dry_run=dry_run)
    if refusals:
        named = " (all named with --target must be releasable)" if target else (
            "; fix them, or release a subset with --target")
        raise BakeryError(
            f"release refused {len(refusals)} target(s), so nothing was created{named}: "
            + "; ".join(f"{r.target}: {r.reason}" for r in refusals)
        )
    failed = [o for o in outcomes if o.state == "failed"]
    if failed:
        done = sum(o.state in ("created", "moved") for o in outcomes)
        present = sum(o.state == "present" for o in outcomes)
        raise BakeryError(
            f"release: {len(failed)} tag(s) failed ({', '.join(o.operation.tag for o in failed)});"
            f" {done} created or moved, {present} already present; run it again to retry"
        )
