"""The `bakery` command line. Commands live one per module; heavy imports stay inside them."""

import os
import sys

# bakery uses no pydantic plugins; looking them up (package metadata) would slow every start
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")


def main(argv: list[str] | None = None) -> None:
    """The console entry point. Ctrl-C while the commands are still being imported is an
    interrupt like any other (bakery.cli.app.main handles everything after that)."""
    try:
        from bakery.cli.app import main as run
    except KeyboardInterrupt:
        print("bakery: interrupted", file=sys.stderr)
        sys.exit(130)
    run(argv)


__all__ = ["main"]
