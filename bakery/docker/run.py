"""Running a command in an image and reading its output, through python-on-whales (STYLE 1,
11). Used by `bakery verify` to run the probe; the client is a parameter so tests can hand in
`DockerClient(client_call=[fake])`."""

from __future__ import annotations

from collections.abc import Sequence

from python_on_whales import ClientNotFoundError, DockerClient, DockerException

from bakery.errors import MissingToolError

INSTALL_DOCKER = "https://docs.docker.com/engine/install/"


class RunFailed(Exception):
    """The image could not be pulled or the command failed; the message is one line."""


def first_line(exc: DockerException) -> str:
    for text in (exc.stderr, exc.stdout):
        for line in (text or "").splitlines():
            if line.strip():
                return line.strip()
    return f"exit code {exc.return_code}"


def check_engine(client: DockerClient) -> str:
    """The engine's version; MissingToolError (exit 2, one line) when no engine answers."""
    try:
        return str(client.version().server.version)  # type: ignore[union-attr]
    except ClientNotFoundError:
        raise MissingToolError(
            f"the docker CLI is not on PATH; install Docker ({INSTALL_DOCKER})"
            " or point BAKERY_DOCKER at the docker binary"
        ) from None
    except DockerException as exc:
        raise MissingToolError(f"no Docker engine answers: {first_line(exc)}") from None


def run_output(
    client: DockerClient,
    image: str,
    entrypoint: str,
    args: Sequence[str],
    *,
    platform: str | None = None,
) -> str:
    """stdout of `docker run --rm --entrypoint ENTRYPOINT [--platform P] IMAGE ARGS...`
    (the image is pulled when missing). RunFailed with docker's first error line otherwise."""
    try:
        if not client.image.exists(image):
            # pulled here, quietly, so pull progress never mixes with the command's output
            client.image.pull(image, quiet=True, platform=platform)
        output = client.container.run(
            image, list(args), entrypoint=entrypoint, remove=True, platform=platform,
            networks=["none"], pull="never",
        )
    except DockerException as exc:
        raise RunFailed(first_line(exc)) from None
    return str(output)
