"""`bakery render [--check]`: docker-bake.hcl from docker-bake.hcl.j2 and matrix.toml."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bakery.cli.common import DEFAULT_MATRIX, MatrixOption
from bakery.plan.load import load_plan


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
    if check:
        check_bake_file(output, text)
        typer.echo(f"{output} is up to date")
        return
    write_atomic(output, text)
    typer.echo(f"wrote {output} ({len(loaded.plan.targets)} targets, "
               f"{len(loaded.plan.stages)} shared stages)")
