"""Running a command in an image and reading its output, through python-on-whales. Used by `bakery
verify` to run the probe; the client is a parameter so tests can hand in
`DockerClient(client_call=[fake])`.

python-on-whales' `container.run()` cannot write to the container's stdin, so a script is
passed as an argument (`python3 -c SOURCE ...`) rather than piped (`python3 - < SOURCE`); the
probe is a few KiB, far below any argv limit.
"""

from __future__ import annotations

from collections.abc import Sequence

from python_on_whales import ClientNotFoundError, DockerClient, DockerException

from bakery.docker.client import first_line, not_on_path
from bakery.errors import MissingToolError

# `docker run` exits 125 when docker itself fails (pull, create, start), 126 when the command
# cannot be invoked and 127 when it is not found; any other code is the command's own.
DOCKER_RUN_FAILURES = (125, 126, 127)


class RunFailed(Exception):
    """The image could not be pulled or run, or the command failed; the message is one line."""


def command_failure(exc: DockerException) -> str:
    """One line for a failed `docker run`: docker's own first error line, or, when the command
    inside failed, its exit code and last stderr line (a Python traceback ends with the
    exception, not its first line)."""
    if exc.return_code in DOCKER_RUN_FAILURES:
        return first_line(exc)
    errors = [line.strip() for line in (exc.stderr or "").splitlines() if line.strip()]
    tail = errors[-1] if errors else "no error output"
    return f"the command exited {exc.return_code}: {tail}"


def check_engine(client: DockerClient) -> str:
    """The engine's version; MissingToolError (exit 2, one line) when no engine answers."""
    binary = client.client_config.client_call[0]
    try:
        return str(client.version().server.version)  # type: ignore[union-attr]
    except ClientNotFoundError:
        raise not_on_path(binary) from None
    except DockerException as exc:
        raise MissingToolError(
            f"no Docker engine answers `{binary} version`: {first_line(exc)}"
            " (start dockerd, or set DOCKER_HOST / BAKERY_DOCKER)"
        ) from None
    except (OSError, ValueError) as exc:  # not executable; not docker's JSON
        raise MissingToolError(f"cannot use the docker CLI {binary!r}: {exc}") from None


def run_output(
    client: DockerClient,
    image: str,
    entrypoint: str,
    args: Sequence[str],
    *,
    platform: str | None = None,
    gpus: str | None = None,
    env: dict[str, str] | None = None,
    volumes: Sequence[tuple[str, str, str]] = (),
) -> str:
    """stdout of `docker run --rm --network none --entrypoint ENTRYPOINT [--platform P]
    [--gpus G] [-e K=V] [-v HOST:PATH:MODE] IMAGE ARGS...`, the image pulled first when it is
    not local. RunFailed with one line otherwise."""
    try:
        if not client.image.exists(image):
            # pulled here, quietly, so pull progress never mixes with the command's output
            client.image.pull(image, quiet=True, platform=platform)
    except DockerException as exc:
        raise RunFailed(f"cannot pull {image}: {first_line(exc)}") from None
    stdout: list[bytes] = []
    try:
        # stream=True: the plain call leaves stderr uncaptured (it reaches our own stderr and
        # the exception carries none); streamed, stderr lands in the DockerException
        for source, chunk in client.container.run(
            image, list(args), entrypoint=entrypoint, remove=True, platform=platform,
            networks=["none"], pull="never", stream=True, gpus=gpus, envs=env or {},
            volumes=list(volumes),
            # not PID 1: a command killed by a signal (SIGILL of a wheel for newer CPUs) must
            # die, and under qemu emulation PID 1 cannot, hanging the run
            init=True,
        ):
            if source == "stdout":
                stdout.append(chunk)
    except DockerException as exc:
        raise RunFailed(command_failure(exc)) from None
    except UnicodeDecodeError:  # python-on-whales decodes stderr strictly
        raise RunFailed("the command failed and its error output is not UTF-8") from None
    return b"".join(stdout).decode("utf-8", "replace")


def local_size(client: DockerClient, image: str) -> int | None:
    """The unpacked size of `image` in the engine (`docker image inspect`), or None when the
    engine does not have it or does not say."""
    try:
        size = client.image.inspect(image).size
    except (DockerException, ValueError, AttributeError):
        return None
    return size if isinstance(size, int) else None
