"""`bakery release`: legacy, compatibility and release tags onto verified digests, with `docker
buildx imagetools create` (no rebuild; multi-arch manifests kept).

Targets resolve exactly as in `bakery plan --target` (default: every target of the plan); the
tags come from the plan; eligibility and sources from the bake results file, where
`bakery verify` records its verdicts. User-facing description: docs/release.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from bakery.cli.common import (
    DEFAULT_MATRIX,
    FormatOption,
    MatrixOption,
    OutputFormat,
    RefOption,
    ResultsOption,
    ShaOption,
    TargetOption,
    docker_call,
)
from bakery.plan.load import default_results, load_plan

if TYPE_CHECKING:
    from rich.console import Console

    from bakery.release.execute import TagOutcome
    from bakery.release.operations import TagOperation


def register(app: typer.Typer) -> None:
    app.command(name="release")(release)


def release(
    target: TargetOption = None,
    ref: RefOption = None,
    sha: ShaOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print every operation (the equivalent docker"
                           " command) and change nothing. Tags are still read (read-only), to"
                           " tell what is already in place from what would be created.")
    ] = False,
    results: ResultsOption = None,
    format: FormatOption = OutputFormat.table,
    matrix: MatrixOption = DEFAULT_MATRIX,
) -> None:
    """Create the legacy, compatibility and release tags of the selected targets (default:
    all), each copied from that target's own verified digest. A target is released only when
    its bake is ok and pushed and `bakery verify` passed on that very digest; any other
    selected target is refused and then nothing at all is created (with --target, every named
    target must be releasable). Tags already on the right digest are left alone, so a second
    run changes nothing. Exit 0 when every tag is in place, 1 on a refusal or a failed
    operation, 2 for bad input or missing docker/buildx.
    """

    from rich.console import Console

    from bakery.bake.results import load_results
    from bakery.errors import BakeryError
    from bakery.plan import select_targets
    from bakery.release.operations import release_operations
    from bakery.views import release as views

    loaded = load_plan(matrix, ref=ref, sha=sha)
    targets = select_targets(loaded.plan, target or ["all"])
    results_path = results if results is not None else default_results(matrix)
    operations, refusals = release_operations(targets, load_results(results_path))
    err = Console(stderr=True, highlight=False)

    outcomes: list[TagOutcome] = []
    if not refusals:  # a refusal stops everything before Docker is even asked
        outcomes = _run(docker_call(), operations, dry_run=dry_run, err=err)

    ok = not refusals and all(o.state != "failed" for o in outcomes)
    if format is OutputFormat.json:
        typer.echo(views.release_json(outcomes, refusals, dry_run=dry_run, ok=ok), nl=False)
    else:
        views.release_table(outcomes, refusals, dry_run=dry_run, blocked=len(operations))

    if refusals:
        blocking = "; ".join(f"{r.target}: {r.reason}" for r in refusals)
        if target:
            hint = "every target named with --target must be releasable"
        else:
            hint = "release the others by naming them with --target"
        raise BakeryError(
            f"release refused {len(refusals)} of {len(targets)} target(s), so nothing was"
            f" created ({hint}): {blocking}"
        )
    failed = [o for o in outcomes if o.state == "failed"]
    if failed:
        done = [o.operation.tag for o in outcomes if o.state in ("created", "moved")]
        raise BakeryError(
            f"release: {len(failed)} of {len(outcomes)} tag(s) failed and are not in place:"
            f" {', '.join(o.operation.tag for o in failed)}; created or moved: "
            f"{', '.join(done) or 'none'}; run it again to retry (tags in place are skipped)"
        )


def _run(
    docker_call: list[str], operations: list[TagOperation], *, dry_run: bool, err: Console
) -> list[TagOutcome]:
    from bakery.docker.buildx import check_tools  # python-on-whales: only now
    from bakery.docker.client import make_client
    from bakery.release.execute import execute

    client = make_client(docker_call)
    check_tools(client, None)  # missing docker / buildx / engine: one line, exit 2
    verb = "checking" if dry_run else "releasing"
    if err.is_terminal:
        with err.status(f"release: {verb} {len(operations)} tag(s)") as status:
            def live(number: int, total: int, op: TagOperation) -> None:
                status.update(f"release: [{number}/{total}] {op.tag}")

            return execute(client, operations, dry_run=dry_run, progress=live)

    def plain(number: int, total: int, op: TagOperation) -> None:
        err.print(f"release: [{number}/{total}] {op.tag} <- {op.source}", soft_wrap=True)

    return execute(client, operations, dry_run=dry_run, progress=plain)
