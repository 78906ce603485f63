"""`bakery release`: every public name onto verified candidates' digests, with `docker buildx
imagetools create` (no rebuild; multi-arch manifests kept). Options in, `run_release` out.

Targets resolve exactly as in `bakery plan --target` (default: every target of the plan); the
tags come from the plan; eligibility and sources from the bake results file, where
`bakery verify` records its verdicts. User-facing description: docs/release.md.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Annotated

import typer

from bakery.cli.common import (
    DEFAULT_MATRIX,
    MatrixOption,
    RefOption,
    ResultsFilesOption,
    ShaOption,
    TargetOption,
    docker_call,
)
from bakery.plan.release import PublishNames
from bakery.project import LoadedPlan, default_results, load_plan

if TYPE_CHECKING:

    from bakery.release.run import ReleaseReport


class ReleaseFormat(enum.StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Print every operation (the equivalent docker command)"
                       " and change nothing. Tags are still read (read-only), to tell what is"
                       " already in place from what would be created.")
]
NamesOption = Annotated[
    PublishNames, typer.Option("--names", help="all: every public name (a release); branch:"
                               " only the release-rule tags of the ref (edge, branch, sha: a"
                               " push to main); edge: only the edge tags (an edge-only rebuild).")
]
ForceOption = Annotated[
    bool, typer.Option("--force", help="Move names even onto an older release than the one"
                       " they hold (a deliberate rollback). Without it, a name holding an image"
                       " of a newer release is kept where it is.")
]
ReleaseFormatOption = Annotated[
    ReleaseFormat, typer.Option("--format", "-f", help="table, json, or markdown (for a CI job"
                                " summary).")
]


def register(app: typer.Typer) -> None:
    app.command(name="release")(release)


def release(
    target: TargetOption = None,
    ref: RefOption = None,
    sha: ShaOption = None,
    dry_run: DryRunOption = False,
    results: ResultsFilesOption = None,
    names: NamesOption = "all",
    force: ForceOption = False,
    format: ReleaseFormatOption = ReleaseFormat.table,
    matrix: MatrixOption = DEFAULT_MATRIX,
) -> None:
    """Create every public name (primary, legacy, compatibility, release tags) of the selected
    targets (default: all), each copied from that target's own verified candidate. A target is
    released only when its bake is ok and pushed and `bakery verify` passed on that very
    digest; any other selected target is refused and then nothing at all is created (with
    --target, every named target must be releasable). Tags already on the right digest are left
    alone, so a second run changes nothing. Every operation is attempted even when one fails; a
    second run finishes the rest. A pre-release (v1.3.0-rc.1) creates its release tags only. A
    name holding an image of a newer release than this one is kept there (--force moves it). A
    target without a complete lock (packages or base image: `bakery lock`) is never released.
    Exit 0 when every tag is in place or kept, 1 on a refusal or a failed operation, 2 for bad
    input or missing docker/buildx.
    """
    from rich.console import Console

    from bakery.bake.results import load_results
    from bakery.docker.client import make_client  # python-on-whales: only now
    from bakery.errors import BakeryError
    from bakery.lockfile.gate import refuse_unlocked
    from bakery.plan import select_targets
    from bakery.plan.release import release_label
    from bakery.release.operations import find_results
    from bakery.release.run import run_release
    from bakery.views.progress import ConsoleProgress

    loaded = load_plan(matrix, ref=ref, sha=sha)
    if ref is not None and sha is None:
        loaded = _with_commit(loaded, ref)
    targets = select_targets(loaded.plan, target or ["all"])
    files = results or [default_results(matrix)]
    found = find_results([load_results(f) for f in files], sources=[str(f) for f in files])
    refuse_unlocked(targets, "release")
    client = make_client(docker_call())  # asked only when there is something to release
    report = run_release(client, targets, found, dry_run=dry_run, plan=loaded.plan,
                         progress=ConsoleProgress(Console(stderr=True, highlight=False)),
                         names=names, release_label=release_label(loaded.matrix.label_prefix),
                         force=force)
    _show(report, format, loaded.plan.git.ref)
    for kept in (o for o in report.outcomes if o.state == "kept"):
        typer.echo(f"bakery: note: {kept.operation.tag} {kept.message}", err=True)
    error = report.error(named=bool(target))
    if error is not None:
        raise BakeryError(error)


def _with_commit(loaded: LoadedPlan, ref: str) -> LoadedPlan:
    """`--ref` without `--sha`: the plan again with the commit git says the ref names, so
    the `sha-...` names are not silently left out; ConfigError when git cannot say and a
    `sha` rule needs it."""
    from bakery.errors import ConfigError
    from bakery.tags.git import commit_of

    checkout = loaded.matrix_path.resolve().parent
    commit = commit_of(ref, checkout)
    if commit is not None:
        return load_plan(loaded.matrix_path, ref=ref, sha=commit)
    if any(rule.type == "sha" and rule.enable for rule in loaded.matrix.release.rules):
        raise ConfigError(f"--ref {ref} without --sha: the release's sha names need the"
                          f" commit, and git has no {ref} in {checkout}; pass --sha")
    return loaded


def _show(report: ReleaseReport, format: ReleaseFormat, ref: str | None) -> None:
    from bakery.views import release as views

    if format is ReleaseFormat.json:
        typer.echo(views.release_json(report.outcomes, report.refusals, dry_run=report.dry_run,
                                      ok=report.ok), nl=False)
    elif format is ReleaseFormat.markdown:
        typer.echo(views.release_markdown(report.outcomes, report.refusals,
                                          dry_run=report.dry_run,
                                          title=f"bakery: promotion of {ref or 'no ref'}"),
                   nl=False)
    else:
        views.release_table(report.outcomes, report.refusals, dry_run=report.dry_run,
                            blocked=len(report.operations))
