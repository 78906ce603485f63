"""Options every command shares, and the docker command they run."""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import typer

from bakery.errors import ConfigError

MatrixOption = Annotated[
    Path,
    typer.Option(
        "--matrix",
        "-m",
        help="The build matrix to read (docker-bake.hcl.j2 and the lock sit next to it).",
        envvar="BAKERY_MATRIX",
    ),
]
TargetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--target",
        "-t",
        metavar="TARGET",
        help="Target id, group (gpu, cpu, arm64, default, fallback, dind, all) or glob."
        " Repeatable.",
    ),
]
RefOption = Annotated[
    str | None,
    typer.Option("--ref", help="Git ref for release tags, e.g. refs/tags/v1.2.0 (default:"
                 " GITHUB_REF, else the local checkout)."),
]
ShaOption = Annotated[
    str | None,
    typer.Option("--sha", help="Commit for sha tags (default: GITHUB_SHA, else git HEAD)."),
]

DEFAULT_MATRIX = Path("matrix.toml")


def docker_call(env: Mapping[str, str] | None = None) -> list[str]:
    """The docker command bakery runs: $BAKERY_DOCKER (shell-split; tests point it at a fake
    docker), else `docker`. ConfigError (exit 2) when the variable cannot be split."""
    import shlex

    raw = (os.environ if env is None else env).get("BAKERY_DOCKER", "")
    try:
        call = shlex.split(raw) or ["docker"]
    except ValueError as exc:
        raise ConfigError(f"BAKERY_DOCKER: {raw!r}: {exc}") from None
    binary = Path(call[0])
    if "/" in call[0]:  # a path, not a name looked up on PATH: say what is wrong with it
        if not binary.exists():
            raise ConfigError(f"BAKERY_DOCKER: {call[0]!r} does not exist")
        if binary.is_dir() or not os.access(binary, os.X_OK):
            raise ConfigError(f"BAKERY_DOCKER: {call[0]!r} is not an executable file")
    return call


ResultsOption = Annotated[
    Path | None,
    typer.Option(
        "--results",
        help="The bake results file (default: .bakery/results.json next to the matrix): bake"
        " writes it, with logs/ and metadata/ beside it; verify records its verdicts in it;"
        " release and test read it.",
    ),
]


ResultsFilesOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--results",
        metavar="PATH",
        help="A bake results file (default: .bakery/results.json next to the matrix)."
        " Repeatable: the results of several build jobs at once.",
    ),
]


class OutputFormat(enum.StrEnum):
    """How a command prints its outcome: a table for people, JSON for programs."""

    table = "table"
    json = "json"


FormatOption = Annotated[
    OutputFormat, typer.Option("--format", "-f", help="table or json.")
]
