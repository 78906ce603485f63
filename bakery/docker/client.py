"""The python-on-whales client bakery hands to every Docker call, and the one-line errors
that every command gives when Docker is not there."""

from __future__ import annotations

from collections.abc import Sequence

from python_on_whales import DockerClient, DockerException

from bakery.errors import MissingToolError

INSTALL_DOCKER = "https://docs.docker.com/engine/install/"


def make_client(client_call: Sequence[str]) -> DockerClient:
    return DockerClient(client_call=list(client_call))


def first_line(exc: DockerException) -> str:
    """Docker's first non-empty line of error output (else of output), or the exit code."""
    for text in (exc.stderr, exc.stdout):
        for line in (text or "").splitlines():
            if line.strip():
                return line.strip()
    return f"exit code {exc.return_code}"


def not_on_path(binary: str) -> MissingToolError:
    """The error for a docker CLI that cannot be found (exit 2)."""
    return MissingToolError(
        f"the docker CLI {binary!r} is not on PATH; install Docker ({INSTALL_DOCKER})"
        " or point BAKERY_DOCKER at the docker binary"
    )
