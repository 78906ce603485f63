"""The `bakery` command line. Commands live one per module; heavy imports stay inside them."""

from bakery.cli.app import app, main

__all__ = ["app", "main"]
