"""The typer application, global options, and the one place errors become exit codes."""

from __future__ import annotations

import errno
import io
import os
import sys
import traceback
from typing import Annotated

import typer

from bakery import __version__
from bakery.errors import BakeryError

app = typer.Typer(
    name="bakery",
    help="Build, prove and publish the edge-node base images from matrix.toml. Plain `bakery`"
    " prints this help (exit 0); `bakery COMMAND --help` describes a command.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

INTERRUPTED = 130  # the exit code of a run stopped by Ctrl-C (128 + SIGINT)

# Set by the global --debug option (`bakery --debug <command>`), read when reporting errors.
_STATE = {"debug": False}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"bakery {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", "-V", callback=_version, is_eager=True,
                     help="Print the version."),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks for errors (before the command:"
                           " bakery --debug plan).")
    ] = False,
) -> None:
    """Build, prove and publish the edge-node base images from matrix.toml."""
    _STATE["debug"] = debug


# command name -> its module in bakery.cli, in the order `bakery --help` lists them
COMMANDS = {
    "plan": "plan", "render": "render", "bake": "bake", "preflight": "preflight",
    "verify": "verify", "release": "release", "test": "test", "lock": "lock",
    "outdated": "outdated", "update-cost": "update_cost", "ci": "ci", "summary": "summary",
}
_registered: set[str] = set()


def register(args: list[str]) -> None:
    """Register the command `args` runs, or every command for help, a typo or no command.
    Building a command's options is paid at every start, so a command builds only its own
    (start-up has a budget: tests/bench/bench_plan.py)."""
    import importlib

    name = next((a for a in args if not a.startswith("-")), None)
    names = [name] if name in COMMANDS else list(COMMANDS)
    for command in names:
        if command not in _registered:
            importlib.import_module(f"bakery.cli.{COMMANDS[command]}").register(app)
            _registered.add(command)


# The placeholder an option shows in help (`--jobs N`) when its declaration names none: by
# option, else by the type of its value; never a Python type (`<list[str]>`).
_PLACEHOLDERS = {"builder": "NAME", "set_": "TARGET.KEY=VALUE", "released": "IMAGE",
                 "default_branch": "BRANCH", "branch_ref": "REF", "max_age": "SECONDS"}


def _no_type(ctx: object) -> None:
    return None


def _words_for_placeholders(command: object) -> None:
    """Give every option of `command` and its subcommands a placeholder in words: a choice
    lists its values (`[table|json]`), a path is PATH, a count N, text its option's name."""
    for param in getattr(command, "params", ()):
        if param.param_type_name == "argument":
            # typer shows an argument's Python type after its name (`CANDIDATE <str>`); the
            # name is the placeholder already
            setattr(param, "display_type_rich", _no_type)  # noqa: B010 (an instance override)
            param.metavar = param.metavar or (param.name or "value").upper()
            continue
        if param.metavar is not None or getattr(param, "is_flag", False):
            continue
        # typer's view of the annotation (recent typer), else click's parameter type
        desc = getattr(param, "type_descriptor", None)
        kind = getattr(param, "type", None)
        choices = getattr(desc, "choices", None) or getattr(kind, "choices", None)
        annotation = getattr(desc, "annotation", None)
        kind_name = getattr(kind, "name", "")
        name = param.name or "value"
        if choices:
            param.metavar = "[" + "|".join(str(getattr(c, "value", c)) for c in choices) + "]"
        elif name in _PLACEHOLDERS:
            param.metavar = _PLACEHOLDERS[name]
        elif getattr(desc, "is_path", False) or kind_name == "path":
            param.metavar = "PATH"
        elif annotation is int or kind_name in ("integer", "integer range"):
            param.metavar = "N"
        elif annotation is float or kind_name in ("float", "float range"):
            param.metavar = "NUMBER"
        else:
            param.metavar = name.upper()
    for sub in getattr(command, "commands", {}).values():
        _words_for_placeholders(sub)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app and exit with its code; every expected failure is one line.
    Plain `bakery` shows the help and exits 0 (a request for help, not a mistake)."""
    args = (sys.argv[1:] if argv is None else argv) or ["--help"]
    _STATE["debug"] = False
    if sys.stdout is None:  # started with stdout closed (`bakery plan >&-`)
        sys.stdout = _ClosedStdout()
    try:
        register(args)
        command = typer.main.get_command(app)
        _words_for_placeholders(command)
        result = command.main(args=args, prog_name="bakery", standalone_mode=False)
        if sys.stdout is not None:  # None when started with stdout closed
            sys.stdout.flush()
        code = result if isinstance(result, int) else 0
        if code == INTERRUPTED:  # typer turns KeyboardInterrupt into a silent Exit(130)
            _show(False, "bakery: interrupted")
    except BaseException as exc:  # sorted into exit codes by _report
        code = _report(exc)
    sys.exit(code)


class _ClosedStdout(io.StringIO):
    """Standard output when the process started without one: a command that has something
    to print fails (exit 1) saying so, rather than exiting 0 having written nothing."""

    def write(self, text: str) -> int:
        if not text:
            return 0
        raise OSError(errno.EBADF, "closed when bakery started; nothing can be written to it",
                      "standard output")


def _report(exc: BaseException) -> int:
    """The exit code for `exc` after printing it as one line (with the traceback only under
    --debug); an exception that is not an expected failure (a bug) propagates as it is."""
    if isinstance(exc, SystemExit):
        raise exc
    debug = _STATE["debug"]
    if isinstance(exc, KeyboardInterrupt | typer.Abort):
        _quiet_stdout()
        _show(debug, "bakery: interrupted")
        return INTERRUPTED
    if isinstance(exc, BakeryError):
        _quiet_stdout()
        _show(debug, f"bakery: error: {exc}")
        return exc.exit_code
    if isinstance(exc, typer.TyperException):  # click's usage errors, as typer vendors them
        ctx = getattr(exc, "ctx", None)
        format_message = getattr(exc, "format_message", None)
        message = format_message() if callable(format_message) else str(exc)
        message = message.replace("Value error, ", "")
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        _show(debug, f"bakery: error: {message}{hint}")
        code = getattr(exc, "exit_code", 2)
        return code if isinstance(code, int) else 2
    if isinstance(exc, BrokenPipeError):
        # the reader went away (`bakery plan | head`): nothing left to tell it
        _quiet_stdout()
        if debug:
            traceback.print_exc()
        return 1
    if isinstance(exc, UnicodeDecodeError):
        _quiet_stdout()
        _show(debug, f"bakery: error: input is not UTF-8 text ({exc.reason} at byte {exc.start})")
        return 2
    if isinstance(exc, OSError):
        from bakery.textfile import MACHINE_FAILURES

        broken_stdout = not _quiet_stdout()
        # bakery's own file writes name their file (bakery.textfile); a full disk without a
        # name is the output stream. Exit 1 either way, as for a full disk under a file.
        on_stdout = exc.filename is None and (broken_stdout or exc.errno in MACHINE_FAILURES)
        where = exc.filename or ("standard output" if on_stdout else None)
        what = exc.strerror or str(exc)
        _show(debug, f"bakery: error: {where}: {what}" if where else f"bakery: error: {what}")
        return 1
    raise exc


def _show(debug: bool, line: str) -> None:
    if debug:
        traceback.print_exc()
    first, _, rest = line.partition("\n")
    try:
        print(first, file=sys.stderr)
        if rest:
            print(rest, file=sys.stderr, end="" if rest.endswith("\n") else "\n")
        sys.stderr.flush()
    except OSError:
        pass  # stderr itself is gone: the exit code is all that is left


def _quiet_stdout() -> bool:
    """Flush stdout; when that fails (full disk, closed pipe), point it at /dev/null so the
    interpreter's own flush at exit does not print a second error. True when stdout was fine."""
    if sys.stdout is None:
        return True
    try:
        sys.stdout.flush()
        return True
    except (OSError, ValueError):
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        except (OSError, ValueError):
            sys.stdout = None  # not a real file (an in-process capture): nothing to redirect
        return False
