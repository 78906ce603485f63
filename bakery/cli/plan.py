"""`bakery plan`: every target with its tags, platform, python and flags. No Docker needed."""

from __future__ import annotations

import enum
from typing import Annotated

import typer

from bakery.cli.common import (
    DEFAULT_MATRIX,
    MatrixOption,
    RefOption,
    ShaOption,
    TargetOption,
)
from bakery.project import load_plan


class PlanFormat(enum.StrEnum):
    table = "table"
    json = "json"
    gha_matrix = "gha-matrix"


def register(app: typer.Typer) -> None:
    app.command(name="plan")(plan)


def plan(
    target: TargetOption = None,
    format: Annotated[
        PlanFormat, typer.Option("--format", "-f", help="table, json or gha-matrix.")
    ] = PlanFormat.table,
    ref: RefOption = None,
    sha: ShaOption = None,
    matrix: MatrixOption = DEFAULT_MATRIX,
) -> None:
    """Preview targets and tags (primary, legacy, compatibility, release) before any build.
    Warns on stderr, one line per image, about public names outside the matrix's namespace."""
    from bakery.plan import select_targets
    from bakery.plan.claims import foreign_names
    from bakery.views import plan as views

    loaded = load_plan(matrix, ref=ref, sha=sha)
    targets = select_targets(loaded.plan, target or ["all"])
    namespace = loaded.matrix.namespace
    for image, names in foreign_names(loaded.plan, namespace).items():
        typer.echo(f"bakery: warning: {image}: publishes to {', '.join(names)}, outside the"
                   f" namespace {namespace!r} (write {{namespace}}/... in its tag templates)",
                   err=True)
    if format is PlanFormat.json:
        typer.echo(views.plan_json(loaded.plan, targets, matrix_path=str(matrix)), nl=False)
    elif format is PlanFormat.gha_matrix:
        typer.echo(views.gha_matrix(loaded.matrix, targets), nl=False)
    else:
        views.plan_table(loaded.plan, targets)
