"""`bakery test`: run images/test_image.sh on the selected targets this host can run.

A thin driver: targets resolve as in `bakery plan`, expectations come from the plan, and every
check (versions, `uv pip check`, tools, GPU, nested Docker) is the script's, so hosts without
Python run exactly the same tests with `images/test_image.sh IMAGE --expect-file F`.
"""

from __future__ import annotations

import enum
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
    from bakery.imagetest.run import ImageTestTally
    from bakery.plan.target import Target
    from bakery.project import LoadedPlan


class NestedVia(enum.StrEnum):
    embedded = "embedded"
    socket = "socket"


def register(app: typer.Typer) -> None:
    app.command(name="test")(test)


ImageOption = Annotated[
    str | None,
    typer.Option("--image", help="Test this image (exactly one target) instead of the"
                 " bake result or the candidate name bake gives it."),
]
SkipNestedOption = Annotated[
    bool, typer.Option("--skip-nested", help="Skip the nested Docker check (SKIP_NESTED=1).")
]
NestedViaOption = Annotated[
    NestedVia | None,
    typer.Option("--nested-via", help="embedded: the image's own dockerd (EE_DD=true, with"
                 " DIND_RUN_FLAGS); socket: the host's /var/run/docker.sock."
                 " Default: NESTED_VIA, else embedded."),
]
PrintEnvOption = Annotated[
    bool,
    typer.Option("--print-env", help="Print one target's expectations as an expect file"
                 " for `images/test_image.sh IMAGE --expect-file F`; run nothing."),
]


def test(
    target: TargetOption = None,
    image: ImageOption = None,
    skip_nested: SkipNestedOption = False,
    nested_via: NestedViaOption = None,
    require_gpu: Annotated[
        bool,
        typer.Option("--require-gpu", help="A GPU check of a cuda target that cannot run here"
                     " (no driver, no --gpus) fails instead of being skipped (REQUIRE_GPU=1)."),
    ] = False,
    print_env: PrintEnvOption = False,
    results: ResultsOption = None,
    matrix: MatrixOption = DEFAULT_MATRIX,
    format: FormatOption = OutputFormat.table,
) -> None:
    """Test built images on this host: only targets of the host's architecture (or emulated
    by a registered qemu binfmt handler); versions asserted against the plan, `uv pip check`,
    ffmpeg/node/ngrok, GPU checks when the host has one, nested Docker. Exit 1 when a target
    fails or was never built (NOT BUILT: no bake result and no candidate image in the engine,
    or its build failed). With --format json the script's output goes to stderr and stdout
    holds one JSON document."""
    from bakery.errors import BakeryError, ConfigError
    from bakery.imagetest import expectation_env
    from bakery.imagetest.expect import env_file
    from bakery.plan import select_targets

    loaded = load_plan(matrix, use_git=False)
    targets = select_targets(loaded.plan, target or [])
    if (image or print_env) and len(targets) != 1:
        option = "--image" if image else "--print-env"
        raise ConfigError(f"{option} needs exactly one target; --target selects"
                          f" {len(targets)}: {', '.join(t.id for t in targets) or 'none'}")
    if print_env:
        typer.echo(env_file(expectation_env(targets[0], loaded.matrix),
                            comment=f"{targets[0].id}, from {matrix}"), nl=False)
        return
    as_json = format is OutputFormat.json
    tally = _run(loaded, targets, image=image, results=results, skip_nested=skip_nested,
                 nested_via=nested_via, require_gpu=require_gpu, to_stderr=as_json)
    if as_json:
        typer.echo(_json(tally, [t.id for t in targets]))
    else:
        typer.echo(tally.summary())
    failed = [t.id for t in targets if t.id in (*tally.failed, *tally.not_built)]
    if failed:
        what = "failed or were not built" if tally.not_built else "failed"
        raise BakeryError(f"test: {len(failed)} of {len(targets)} target(s) {what}:"
                          f" {', '.join(failed)}")


def _json(tally: ImageTestTally, order: list[str]) -> str:
    """One entry per selected target, in order: passed, failed, not built or skipped, why."""
    import json

    status = tally.statuses()
    reasons = dict(tally.reasons)
    return json.dumps({
        "schema_version": 1,
        "ok": not tally.failed and not tally.not_built,
        "targets": [{"target": t, "status": status[t], "ok": status[t] == "passed",
                     "reason": reasons.get(t)} for t in order],
    }, indent=2)


def _run(
    loaded: LoadedPlan, targets: list[Target], *, image: str | None, results: Path | None,
    skip_nested: bool, nested_via: NestedVia | None, require_gpu: bool = False,
    to_stderr: bool = False,
) -> ImageTestTally:
    import os

    from rich.console import Console

    from bakery.bake.results import load_results
    from bakery.docker.client import make_client
    from bakery.docker.host import engine_architecture
    from bakery.imagetest.hostmatch import BINFMT_DIR
    from bakery.imagetest.run import ScriptEngine, script_path, test_targets
    from bakery.matrix.models import docker_arch
    from bakery.views.progress import ConsoleProgress

    script = script_path(loaded.matrix_path)
    results_path = results or default_results(loaded.matrix_path)
    bake_results = load_results(results_path) if results or results_path.exists() else None
    client = make_client(docker_call())
    host = engine_architecture(client)

    progress = ConsoleProgress(Console(stderr=to_stderr, highlight=False, markup=False,
                                       emoji=False))
    progress.line(f"bakery test: host engine architecture {host} (linux/{docker_arch(host)})")

    engine = ScriptEngine(client, loaded.matrix, script, os.environ, skip_nested=skip_nested,
                          nested_via=None if nested_via is None else nested_via.value,
                          require_gpu=require_gpu, to_stderr=to_stderr)
    return test_targets(
        targets, results=bake_results, image=image, host=host, script=script, engine=engine,
        binfmt_dir=Path(os.environ.get("BINFMT_DIR") or BINFMT_DIR), progress=progress,
    )
