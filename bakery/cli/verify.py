"""`bakery verify`: run each built image and prove it holds what its tags claim.

Parses the options, then `bakery.verify.run` selects the targets, runs the probe in each
image (`verify_targets`) and records the verdicts in the results file for `bakery release`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bakery.cli.common import (
    DEFAULT_MATRIX,
    FormatOption,
    MatrixOption,
    OutputFormat,
    ResultsOption,
    TargetOption,
    docker_call,
)
from bakery.project import default_results, load_plan

if TYPE_CHECKING:
    from rich.console import Console

    from bakery.verify.run import VerifyVerdict

ImageOption = Annotated[
    str | None,
    typer.Option("--image", help="Run this image instead of the bake result's digest"
                 " (exactly one target)."),
]

RequireGpuOption = Annotated[
    bool,
    typer.Option("--require-gpu", help="The GPU checks of a cuda target (with --gpus all:"
                 " device, cuDNN, conv2d and matmul against the CPU, TensorRT and bitsandbytes)"
                 " fail when they cannot run here, instead of being left out."),
]


def register(app: typer.Typer) -> None:
    app.command(name="verify")(verify)


def verify(
    target: TargetOption = None,
    image: ImageOption = None,
    results: ResultsOption = None,
    format: FormatOption = OutputFormat.table,
    require_gpu: RequireGpuOption = False,
    matrix: MatrixOption = DEFAULT_MATRIX,
) -> None:
    """Run each target's built image with a probe and compare python, torch (with its local
    tag and CUDA build), transformers, tokenizers, feature packages, ffmpeg, node, npm, docker,
    dockerd, ngrok, uv and `uv pip check` with the plan. Exit 0 when every target passes, 1
    otherwise; verdicts are written into the results file for `bakery release`.
    """
    from bakery.docker.client import make_client
    from bakery.errors import BakeryError
    from bakery.verify.run import (
        docker_probe,
        record_verdicts,
        select_for_verify,
        verify_results,
        verify_targets,
    )
    from bakery.views.progress import ConsoleProgress

    loaded = load_plan(matrix, use_git=False)
    results_path, bake_results = verify_results(results, default_results(matrix), image=image)
    targets = select_for_verify(loaded.plan, target or [], bake_results, results_path, image)
    engine = docker_probe(make_client(docker_call()), loaded.matrix, targets,
                          require_gpu=require_gpu)  # python-on-whales: imported only now
    verdicts = verify_targets(targets, bake_results, image, engine=engine,
                              progress=ConsoleProgress(_stderr()))
    recorded = record_verdicts(results_path, verdicts) if bake_results is not None else set()
    _show(verdicts, format, results_path, recorded, have_results=bake_results is not None)
    failed = [v.target for v in verdicts if not v.ok]
    if failed:
        raise BakeryError(f"verify: {len(failed)} of {len(verdicts)} target(s) did not pass:"
                          f" {', '.join(failed)}")


def _stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, markup=False)


def _show(verdicts: Sequence[VerifyVerdict], format: OutputFormat, results_path: Path,
          recorded: set[str], *, have_results: bool) -> None:
    from bakery.views import verify as views

    if format is OutputFormat.json:
        typer.echo(views.verify_json(verdicts, results=str(results_path) if have_results
                                     else None, recorded=sorted(recorded)), nl=False)
        return
    views.verify_table(verdicts)
    views.report_unrecorded(_stderr(), verdicts, results_path=results_path, recorded=recorded,
                            have_results=have_results)
