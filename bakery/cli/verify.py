"""`bakery verify`: run each built image and prove it holds what its tags claim (SPEC B5)."""

from __future__ import annotations

import enum
import os
import shlex
from pathlib import Path
from typing import Annotated

import typer

from bakery.cli.common import DEFAULT_MATRIX, MatrixOption, TargetOption, load_plan
from bakery.errors import BakeryError, ConfigError


class VerifyFormat(enum.StrEnum):
    table = "table"
    json = "json"


def register(app: typer.Typer) -> None:
    app.command(name="verify")(verify)


def verify(
    target: TargetOption = None,
    image: Annotated[
        str | None,
        typer.Option("--image", help="Run this image instead of the bake result's digest"
                     " (exactly one target)."),
    ] = None,
    results: Annotated[
        Path | None,
        typer.Option("--results", help="The bake results file (default: .bakery/results.json"
                     " next to the matrix); verdicts are recorded in it."),
    ] = None,
    format: Annotated[
        VerifyFormat, typer.Option("--format", "-f", help="table or json.")
    ] = VerifyFormat.table,
    matrix: MatrixOption = DEFAULT_MATRIX,
) -> None:
    """Run each target's built image with a probe and compare python, torch (with its local
    tag and CUDA build), transformers, tokenizers, feature packages, ffmpeg, node, npm, docker,
    dockerd, ngrok, uv and `uv pip check` with the plan. Exit 0 when every target passes, 1
    otherwise; verdicts are written into the results file for `bakery release`.
    """
    from rich.console import Console

    from bakery.bake.results import load_results, results_json, with_verify
    from bakery.docker.buildx import make_client
    from bakery.docker.run import check_engine
    from bakery.plan import select_targets
    from bakery.render.bakefile import write_atomic
    from bakery.verify.run import Verdict, image_to_run, probe_source, verify_target
    from bakery.views import verify as views

    loaded = load_plan(matrix, use_git=False)
    results_path = results or matrix.parent / ".bakery" / "results.json"
    have_results = results_path.exists() or results is not None
    bake_results = load_results(results_path) if have_results else None
    if target:
        targets = select_targets(loaded.plan, target)
    elif bake_results is not None:
        built = {r.id for r in bake_results.targets}
        targets = [t for t in loaded.plan.targets if t.id in built]
        if not targets:
            raise ConfigError(f"{results_path}: none of its targets is in the plan")
    elif image:
        raise ConfigError("--image needs --target (the target whose plan the image must match)")
    else:
        load_results(results_path)  # the one-line "run bakery bake first" error
        return
    if image and len(targets) != 1:
        raise ConfigError(f"--image runs one image; --target selects {len(targets)} targets")

    try:
        docker_call = shlex.split(os.environ.get("BAKERY_DOCKER", "")) or ["docker"]
    except ValueError as exc:
        raise ConfigError(f"BAKERY_DOCKER: {exc}") from None
    client = make_client(docker_call)
    check_engine(client)
    err = Console(stderr=True, highlight=False)
    source = probe_source()
    verdicts: list[Verdict] = []
    for number, chosen in enumerate(targets, 1):
        ref, digest, why = image_to_run(chosen, bake_results, image)
        if ref is None:
            verdicts.append(Verdict(chosen.id, "not built", None, digest, why))
            continue
        with err.status(f"[{number}/{len(targets)}] {chosen.id}: probing {ref}"):
            verdicts.append(verify_target(client, chosen, loaded.matrix, ref, digest, source))

    recorded = False
    if bake_results is not None:
        records = {v.target: v.record() for v in verdicts
                   if v.status != "not built" and any(r.id == v.target
                                                      for r in bake_results.targets)}
        if records:
            write_atomic(results_path, results_json(with_verify(bake_results, records)))
            recorded = True
    if format is VerifyFormat.json:
        typer.echo(views.verify_json(verdicts, results=str(results_path) if have_results
                                     else None, recorded=recorded), nl=False)
    else:
        views.verify_table(verdicts)
        if recorded:
            err.print(f"verdicts recorded in {results_path}")
        elif image:
            err.print("no results file: the verdict is shown, not recorded")
    failed = [v.target for v in verdicts if not v.ok]
    if failed:
        raise BakeryError(f"verify: {len(failed)} of {len(verdicts)} target(s) did not pass:"
                          f" {', '.join(failed)}")
