"""The typer application, global options, and the one place errors become exit codes."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from bakery import __version__
from bakery.errors import BakeryError

app = typer.Typer(
    name="bakery",
    help="Build, prove and publish the edge-node base images from matrix.toml.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"bakery {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks for errors.")
    ] = False,
) -> None:
    """Build, prove and publish the edge-node base images from matrix.toml."""


def _register() -> None:
    from bakery.cli import (
        bake,
        lock,
        outdated,
        plan,
        preflight,
        release,
        render,
        test,
        update_cost,
        verify,
    )

    plan.register(app)
    render.register(app)
    bake.register(app)
    preflight.register(app)
    verify.register(app)
    release.register(app)
    test.register(app)
    lock.register(app)
    outdated.register(app)
    update_cost.register(app)


_register()


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app; print `bakery: error: ...` and exit 1/2 on failure."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        result = app(args=args, prog_name="bakery", standalone_mode=False)
    except BakeryError as exc:
        if debug:
            raise
        message = str(exc)
        first, _, rest = message.partition("\n")
        print(f"bakery: error: {first}", file=sys.stderr)
        if rest:
            print(rest, file=sys.stderr, end="" if rest.endswith("\n") else "\n")
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        print("bakery: interrupted", file=sys.stderr)
        sys.exit(130)
    except typer.TyperException as exc:  # click's usage errors, as typer re-exports them
        if debug:
            raise
        ctx = getattr(exc, "ctx", None)
        format_message = getattr(exc, "format_message", None)
        message = format_message() if callable(format_message) else str(exc)
        message = message.replace("Value error, ", "")
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        print(f"bakery: error: {message}{hint}", file=sys.stderr)
        sys.exit(getattr(exc, "exit_code", 2))
        print("bakery: interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(result if isinstance(result, int) else 0)
