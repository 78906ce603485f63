"""The `bakery` command line. Commands live one per module; heavy imports stay inside them."""

import os

# bakery uses no pydantic plugins; looking them up costs ~30 ms of every start
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

from bakery.cli.app import app, main

__all__ = ["app", "main"]
