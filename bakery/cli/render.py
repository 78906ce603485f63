"""`bakery render [--check]`: docker-bake.hcl from docker-bake.hcl.j2 and matrix.toml."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bakery.cli.common import DEFAULT_MATRIX, FormatOption, MatrixOption, OutputFormat
from bakery.project import load_plan


def register(app: typer.Typer) -> None:
    app.command(name="render")(render)


def render(
    matrix: MatrixOption = DEFAULT_MATRIX,
    check: Annotated[
        bool,
        typer.Option("--check", help="Write nothing; exit 1 with a diff if the file is stale."),
    ] = False,
    template: Annotated[
        Path | None,
        typer.Option(help="Template (default: docker-bake.hcl.j2 next to the matrix)."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Bake file (default: docker-bake.hcl next to the matrix)."
        ),
    ] = None,
    format: FormatOption = OutputFormat.table,
) -> None:
    """Write docker-bake.hcl from the plan, atomically. It is committed, so plain
    `docker buildx bake` works without Python."""
    from bakery.jsonfile import write_atomic
    from bakery.render import check_bake_file, render_bake_file

    # release tags never reach the bake file, so the git context does not matter here
    loaded = load_plan(matrix, use_git=False, env={})
    base = matrix.parent
    template = template or base / "docker-bake.hcl.j2"
    output = output or base / "docker-bake.hcl"
    text = render_bake_file(loaded.plan, template, matrix_name=matrix.name)
    targets, stages = len(loaded.plan.targets), len(loaded.plan.stages)
    if check:
        check_bake_file(output, text)
    else:
        write_atomic(output, text)
    if format is OutputFormat.json:
        import json

        # a stale file under --check is an error (exit 1, the diff on stderr), never JSON
        typer.echo(json.dumps({"schema_version": 1, "file": str(output), "check": check,
                               "written": not check, "up_to_date": True, "targets": targets,
                               "stages": stages}, indent=2))
    elif check:
        typer.echo(f"{output} is up to date")
    else:
        typer.echo(f"wrote {output} ({targets} targets, {stages} shared stages)")
