"""`bakery ci`: what this run of the GitHub workflow builds and publishes (docs/ci.md)."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bakery.cli.common import DEFAULT_MATRIX, MatrixOption

if TYPE_CHECKING:
    from bakery.ci.events import RunDecision


class CiFormat(enum.StrEnum):
    text = "text"
    json = "json"
    github = "github"


EventOption = Annotated[
    str, typer.Option("--event", envvar="GITHUB_EVENT_NAME", help="The workflow event (default:"
                      " GITHUB_EVENT_NAME).")
]
CiRefOption = Annotated[
    str, typer.Option("--ref", envvar="GITHUB_REF", help="The full git ref of the run (default:"
                      " GITHUB_REF).")
]
CiShaOption = Annotated[
    str | None, typer.Option("--sha", envvar="GITHUB_SHA", help="The commit of the run (default:"
                             " GITHUB_SHA); checked to be on the default branch for a release"
                             " tag.")
]
DefaultBranchOption = Annotated[
    str, typer.Option("--default-branch", help="The branch that publishes edge names and that"
                      " release tags must be on.")
]
BranchRefOption = Annotated[
    str | None, typer.Option("--branch-ref", help="The checkout's ref of the default branch for"
                             " the release-tag check (default: refs/remotes/origin/<default"
                             " branch>).")
]
def _typed(decision: RunDecision) -> dict[str, object]:
    """The decision as JSON: the keys of the step outputs, booleans as JSON booleans (GitHub's
    step outputs are strings), and the document's schema_version."""
    return {"schema_version": 1, **decision.fields()}


CiFormatOption = Annotated[
    CiFormat, typer.Option("--format", "-f", help="text, json, or github (key=value lines for"
                           " $GITHUB_OUTPUT).")
]
RepoOption = Annotated[
    Path, typer.Option("--repo", help="The git checkout for the release-tag check.")
]


def register(app: typer.Typer) -> None:
    app.command(name="ci")(ci)


def ci(
    event: EventOption,
    ref: CiRefOption,
    sha: CiShaOption = None,
    default_branch: DefaultBranchOption = "main",
    branch_ref: BranchRefOption = None,
    format: CiFormatOption = CiFormat.text,
    repo: RepoOption = Path(),
    matrix: MatrixOption = DEFAULT_MATRIX,
) -> None:
    """Decide from the event what this workflow run builds, pushes and promotes; refuse
    (exit 2) a non-semver tag or a release tag whose commit is not on the default branch.
    A run that builds and publishes (a push to the default branch, a release tag) refuses
    (exit 1) a target without a complete lock (packages and base image), naming the `bakery
    lock` that fixes it; a pull request builds unlocked targets and says so on stderr."""
    import json

    from bakery.ci.ancestry import require_on_branch
    from bakery.ci.events import decide, github_outputs
    from bakery.errors import ConfigError

    decision = decide(event, ref, default_branch=default_branch)
    if decision.needs_ancestry_check:
        if not sha:
            raise ConfigError("GITHUB_SHA: a release tag needs its commit (--sha) to check that"
                              " it is on the default branch")
        require_on_branch(sha, branch_ref or f"refs/remotes/origin/{default_branch}",
                          repo_dir=repo)
    if decision.build:
        _lock_gate(matrix, decision.plan_target, publish=decision.push,
                   what=f"bakery ci ({event} {ref})")
    outputs = decision.outputs()
    if format is CiFormat.json:
        # the same keys as the step outputs, with real booleans (GitHub's outputs are strings)
        typer.echo(json.dumps(_typed(decision), indent=2))
    elif format is CiFormat.github:
        typer.echo(github_outputs(outputs), nl=False)
    else:
        typer.echo(decision.reason + "".join(f"\n  {key}: {value}" for key, value
                                             in outputs.items() if key != "reason"))


def _lock_gate(matrix: Path, group: str, *, publish: bool, what: str) -> None:
    """Nothing unlocked is published (bakery.lockfile.gate): refuse a publishing run with an
    unlocked target; a run that publishes nothing notes them in one line."""
    from bakery.lockfile.gate import refuse_unlocked, unlocked_note
    from bakery.plan import select_targets
    from bakery.project import load_plan

    targets = select_targets(load_plan(matrix, use_git=False).plan, [group])
    if publish:
        refuse_unlocked(targets, what)
    elif (note := unlocked_note(targets)) is not None:
        typer.echo(f"bakery: {note}", err=True)
