"""`bakery update-cost`: what a device holding the released image downloads to get a
candidate."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer

from bakery.cli.common import FormatOption, OutputFormat


def register(app: typer.Typer) -> None:
    app.command(name="update-cost")(update_cost)


def update_cost(
    candidate: Annotated[str, typer.Argument(help="The candidate image, e.g."
                                             " ratio1/base_edge_node_arm64_cpu@sha256:...")],
    released: Annotated[
        str | None,
        typer.Option("--released", help="The image devices hold now, e.g."
                     " ratio1/base_edge_node_arm64_cpu:latest."),
    ] = None,
    platform: Annotated[
        str | None, typer.Option("--platform", help="Platform of a multi-platform image"
                                 " (default: the image's own; one of an index with a single"
                                 " platform).")
    ] = None,
    format: FormatOption = OutputFormat.table,
) -> None:
    """Compressed bytes a device holding --released must download to run CANDIDATE: the
    candidate's layers the released image does not already have. Reads manifests only."""
    from bakery.registry.cost import http_update_cost as compute
    from bakery.sizes import human_bytes

    cost = compute(candidate, released, platform)
    if format is OutputFormat.json:
        typer.echo(json.dumps({"schema_version": 1, **asdict(cost)}, indent=2))
        return
    typer.echo(f"{candidate} ({cost.platform}): {human_bytes(cost.download)} to download"
               f" ({cost.download} bytes) of {human_bytes(cost.total)}; {len(cost.new_layers)} of"
               f" {cost.layers} layers are new")
    for layer in cost.new_layers:
        typer.echo(f"  {layer.digest}  {human_bytes(layer.size)}")
    if cost.note:
        typer.echo(cost.note)
