"""`bakery test`: run images/test_image.sh on the selected targets this host can run.

A thin driver: targets resolve as in `bakery plan`, expectations come from the plan, and every
check (versions, `uv pip check`, tools, GPU, nested Docker) is the script's, so hosts without
Python run exactly the same tests with `images/test_image.sh IMAGE --expect-file F`.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from bakery.cli.common import (
    DEFAULT_MATRIX,
    MatrixOption,
    TargetOption,
    default_results,
    docker_call,
    load_plan,
)


class NestedVia(enum.StrEnum):
    embedded = "embedded"
    socket = "socket"


def register(app: typer.Typer) -> None:
    app.command(name="test")(test)


def test(
    target: TargetOption = None,
    image: Annotated[
        str | None,
        typer.Option("--image", help="Test this image (exactly one target) instead of the"
                     " bake result or the primary tag."),
    ] = None,
    skip_nested: Annotated[
        bool, typer.Option("--skip-nested", help="Skip the nested Docker check (SKIP_NESTED=1).")
    ] = False,
    nested_via: Annotated[
        NestedVia | None,
        typer.Option("--nested-via", help="embedded: the image's own dockerd (EE_DD=true, with"
                     " DIND_RUN_FLAGS); socket: the host's /var/run/docker.sock."
                     " Default: NESTED_VIA, else embedded."),
    ] = None,
    require_gpu: Annotated[
        bool,
        typer.Option("--require-gpu", help="A GPU check of a cuda target that cannot run here"
                     " (no driver, no --gpus) fails instead of being skipped (REQUIRE_GPU=1)."),
    ] = False,
    print_env: Annotated[
        bool,
        typer.Option("--print-env", help="Print one target's expectations as an expect file"
                     " for `images/test_image.sh IMAGE --expect-file F`; run nothing."),
    ] = False,
    results: Annotated[
        Path | None,
        typer.Option("--results", help="The bake results file (default: .bakery/results.json"
                     " next to the matrix, when present)."),
    ] = None,
    matrix: MatrixOption = DEFAULT_MATRIX,
) -> None:
    """Test built images on this host: only targets of the host's architecture (or emulated
    by a registered qemu binfmt handler); versions asserted against the plan, `uv pip check`,
    ffmpeg/node/ngrok, GPU checks when the host has one, nested Docker. Exit 1 when a target
    fails."""
    import os

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
        chosen = targets[0]
        typer.echo(env_file(expectation_env(chosen, loaded.matrix),
                            comment=f"{chosen.id}, from {matrix}"), nl=False)
        return

    from bakery.bake.results import load_results
    from bakery.docker.buildx import make_client
    from bakery.docker.host import engine_architecture
    from bakery.imagetest.hostmatch import (
        BINFMT_DIR,
        docker_arch,
        handler_enabled,
        host_skip_reason,
        qemu_handler,
    )
    from bakery.imagetest.run import image_for, run_script, script_env, script_path

    script = script_path(matrix)
    results_path = results or default_results(matrix)
    bake_results = load_results(results_path) if results or results_path.exists() else None
    client = make_client(docker_call())
    host = engine_architecture(client)
    typer.echo(f"bakery test: host engine architecture {host} (linux/{docker_arch(host)})")
    binfmt_dir = Path(os.environ.get("BINFMT_DIR") or BINFMT_DIR)

    failed: list[str] = []
    passed: list[str] = []
    skipped: list[str] = []
    for chosen in targets:
        handler = qemu_handler(chosen.arch, binfmt_dir)
        why = host_skip_reason(chosen.arch, host, handler, enabled=handler_enabled(handler))
        if why is not None:
            typer.echo(f"SKIP target {chosen.id}: {why}")
            skipped.append(chosen.id)
            continue
        ref, why = image_for(chosen, bake_results, image)
        if ref is None:
            typer.echo(f"FAIL target {chosen.id}: expected an image to test, found none ({why})")
            failed.append(chosen.id)
            continue
        typer.echo(f"== {chosen.id}: {script} {ref}")
        env = script_env(os.environ, expectation_env(chosen, loaded.matrix),
                         skip_nested=skip_nested,
                         nested_via=None if nested_via is None else nested_via.value,
                         require_gpu=require_gpu)
        code = run_script(script, ref, env)
        (passed if code == 0 else failed).append(chosen.id)
        if code not in (0, 1):
            typer.echo(f"FAIL target {chosen.id}: {script} exited {code} (usage or engine error)")

    typer.echo(f"bakery test: {len(passed)} passed, {len(failed)} failed,"
               f" {len(skipped)} skipped (platform)")
    if failed:
        raise BakeryError(f"test: {len(failed)} of {len(targets)} target(s) failed:"
                          f" {', '.join(failed)}")


