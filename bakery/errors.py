"""The error hierarchy. Each class carries its exit code; `bakery.cli.main` catches them once."""

from __future__ import annotations


class BakeryError(Exception):
    """A failure bakery reports as one line: `bakery: error: <message>`."""

    exit_code = 1


class ConfigError(BakeryError):
    """Bad input: matrix.toml, a lock file, a tag template, a command-line value."""

    exit_code = 2


class MissingToolError(BakeryError):
    """Something bakery needs on the host is absent (docker, buildx, a builder, a registry)."""

    exit_code = 2


class StaleError(BakeryError):
    """A generated file does not match its sources (`render --check`)."""

    exit_code = 1
