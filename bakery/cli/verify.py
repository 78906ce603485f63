"""`bakery verify`: run each built image and prove it holds what its tags claim."""

from __future__ import annotations

import enum
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bakery.cli.common import (
    DEFAULT_MATRIX,
    MatrixOption,
    TargetOption,
    default_results,
    docker_call,
    load_plan,
)
from bakery.errors import BakeryError, ConfigError

if TYPE_CHECKING:
    from bakery.bake.results import Results
    from bakery.plan.target import Plan, Target


class VerifyFormat(enum.StrEnum):
    table = "table"
    json = "json"


def register(app: typer.Typer) -> None:
    app.command(name="verify")(verify)


def _select(
    plan: Plan, names: list[str] | None, results: Results | None, results_path: Path,
    image: str | None,
) -> list[Target]:
    """--target as in `bakery plan`; without it, every planned target the results file holds."""
    from bakery.plan import select_targets

    if names:
        targets = select_targets(plan, names)
    elif results is not None:
        built = {r.id for r in results.targets}
        targets = [t for t in plan.targets if t.id in built]
        if not targets:
            raise ConfigError(f"{results_path}: none of its targets is in the plan; pass"
                              " --target, or --matrix for the matrix it was built from")
    else:
        raise ConfigError("--image needs --target (the target whose plan the image must match)")
    if image and len(targets) != 1:
        raise ConfigError(f"--image runs one image; --target selects {len(targets)} targets"
                          f" ({', '.join(t.id for t in targets[:4])}"
                          f"{', ...' if len(targets) > 4 else ''})")
    return targets


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
    require_gpu: Annotated[
        bool,
        typer.Option("--require-gpu", help="The GPU check of a cuda target (torch.cuda with"
                     " --gpus all) fails when it cannot run here, instead of being left out."),
    ] = False,
    matrix: MatrixOption = DEFAULT_MATRIX,
) -> None:
    """Run each target's built image with a probe and compare python, torch (with its local
    tag and CUDA build), transformers, tokenizers, feature packages, ffmpeg, node, npm, docker,
    dockerd, ngrok, uv and `uv pip check` with the plan. Exit 0 when every target passes, 1
    otherwise; verdicts are written into the results file for `bakery release`.
    """
    from rich.console import Console

    from bakery.bake.results import load_results
    from bakery.docker.buildx import make_client
    from bakery.docker.run import check_engine
    from bakery.verify.run import (
        Verdict,
        image_to_run,
        probe_source,
        record_verdicts,
        verify_target,
    )
    from bakery.views import verify as views

    loaded = load_plan(matrix, use_git=False)
    results_path = results or default_results(matrix)
    # --image may run without any results file; otherwise (or with --results) one is needed
    have_results = results is not None or results_path.exists() or not image
    bake_results = load_results(results_path) if have_results else None
    targets = _select(loaded.plan, target, bake_results, results_path, image)

    client = make_client(docker_call())  # python-on-whales: imported only now
    check_engine(client)

    err = Console(stderr=True, highlight=False, markup=False)
    source = probe_source()
    verdicts: list[Verdict] = []
    for number, chosen in enumerate(targets, 1):
        ref, digest, why = image_to_run(chosen, bake_results, image)
        step = f"[{number}/{len(targets)}] {chosen.id}"
        if ref is None:
            verdicts.append(Verdict(chosen.id, "not built", None, digest, why))
            err.print(f"{step}: not built: {why}")
            continue
        started = time.monotonic()
        if err.is_terminal:
            with err.status(f"{step}: probing {ref}"):
                verdict = verify_target(client, chosen, loaded.matrix, ref, digest, source,
                                        require_gpu=require_gpu)
        else:  # a CI log: one line before (the pull and run take a while) and one after
            err.print(f"{step}: probing {ref}", soft_wrap=True)
            verdict = verify_target(client, chosen, loaded.matrix, ref, digest, source,
                                    require_gpu=require_gpu)
        verdicts.append(verdict)
        err.print(f"{step}: {verdict.status} ({time.monotonic() - started:.1f}s)")

    recorded = record_verdicts(results_path, verdicts) if have_results else set()
    if format is VerifyFormat.json:
        typer.echo(views.verify_json(verdicts, results=str(results_path) if have_results
                                     else None, recorded=sorted(recorded)), nl=False)
    else:
        views.verify_table(verdicts)
        if recorded:
            err.print(f"verdicts recorded in {results_path}")
        unrecorded = [v.target for v in verdicts
                      if v.target not in recorded and v.status != "not built"]
        if unrecorded and not have_results:
            err.print(f"no results file ({results_path}): the verdict is shown, not recorded")
        elif unrecorded:
            err.print(f"not recorded (no bake result in {results_path}):"
                      f" {', '.join(unrecorded)}")
    failed = [v.target for v in verdicts if not v.ok]
    if failed:
        raise BakeryError(f"verify: {len(failed)} of {len(verdicts)} target(s) did not pass:"
                          f" {', '.join(failed)}")

