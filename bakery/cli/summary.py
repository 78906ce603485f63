"""`bakery summary`: the build results as Markdown, for a CI job summary."""

from __future__ import annotations

import enum
from typing import Annotated

import typer

from bakery.cli.common import (
    DEFAULT_MATRIX,
    MatrixOption,
    RefOption,
    ResultsFilesOption,
    ShaOption,
)


class SummaryFormat(enum.StrEnum):
    markdown = "markdown"
    json = "json"


def register(app: typer.Typer) -> None:
    app.command(name="summary")(summary)


def summary(
    results: ResultsFilesOption = None,
    ref: RefOption = None,
    sha: ShaOption = None,
    matrix: MatrixOption = DEFAULT_MATRIX,
    format: Annotated[
        SummaryFormat, typer.Option("--format", "-f", help="markdown (a job summary) or json.")
    ] = SummaryFormat.markdown,
) -> None:
    """Print one Markdown table of the build results (target, status, digest, verify verdict,
    compressed size, duration, and the public names each target gets on promotion), then each
    failure's step and last log lines. For $GITHUB_STEP_SUMMARY."""
    from bakery.bake.results import load_results
    from bakery.project import default_results, load_plan
    from bakery.views.markdown import results_json, results_markdown

    loaded = load_plan(matrix, ref=ref, sha=sha)
    files = results or [default_results(matrix)]
    documents = [load_results(path) for path in files]
    git = loaded.plan.git
    where = f"{git.ref or 'no ref'}" + (f" @ {git.sha[:7]}" if git.sha else "")
    view = results_json if format is SummaryFormat.json else results_markdown
    typer.echo(view(documents, {t.id: t for t in loaded.plan.targets},
                    title=f"bakery: builds of {where}"), nl=False)
