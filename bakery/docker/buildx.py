"""The only module that runs Docker. Everything takes a python-on-whales
`DockerClient`, so tests hand in `DockerClient(client_call=[fake])`.

Checks (`docker buildx version`, `docker buildx inspect --bootstrap`, `docker info`) run the
client's own docker command with a timeout each (python-on-whales' runner waits forever), so
a CLI or engine that never answers is named instead of holding the bake. The bake itself is
started here as a child process rather than with `client.buildx.bake()`: that call blocks
until the build ends, hides the process (nothing to interrupt on Ctrl-C), captures stderr
only after the fact, and re-runs bake with `--print` afterwards. The command line is the one
`client.buildx.bake()` builds (same flags, same order, `--set` from a dict;
`bakery.bake.invocations.bake_argv`), prefixed with the client's own `docker_cmd`.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from python_on_whales import ClientNotFoundError, DockerClient

from bakery.docker.builder import BuilderInfo, parse_inspect
from bakery.docker.client import not_on_path
from bakery.docker.process import Launch
from bakery.errors import MissingToolError

INSTALL_BUILDX = (
    "install the buildx plugin (Debian/Ubuntu: apt-get install docker-buildx-plugin;"
    " otherwise https://github.com/docker/buildx#installing)"
)


def docker_prefix(client: DockerClient) -> tuple[str, ...]:
    """The client's docker command with its binary resolved on PATH."""
    try:
        return tuple(str(part) for part in client.client_config.docker_cmd)
    except ClientNotFoundError:
        raise not_on_path(client.client_config.client_call[0]) from None


def check_tools(client: DockerClient, builder: str | None) -> str:
    """Fail with MissingToolError (exit 2, one line) unless the docker CLI, the buildx plugin
    and the builder all answer. Returns buildx's version line."""
    return _check(client, builder)[0]


def inspect_builder(client: DockerClient, builder: str | None) -> BuilderInfo:
    """`check_tools`, then what the builder is: its name and driver, and the engine's image
    store (`docker info`; unknown when the engine does not say)."""
    _, inspected = _check(client, builder)
    name, driver, host_network = parse_inspect(inspected, builder)
    info = _bounded([*docker_prefix(client), "info", "--format", "{{json .DriverStatus}}"],
                    CHECK_TIMEOUT)
    status = info.stdout if info.returncode == 0 else None
    return BuilderInfo(name=name, driver=driver or "unknown",
                       containerd_store=containerd_store(status), host_network=host_network)


def containerd_store(driver_status: object) -> bool | None:
    """Whether `docker info`'s DriverStatus (JSON: [[key, value], ...]) is the containerd image
    store's (a `driver-type` of `io.containerd.snapshotter.v1`); None when it is not that
    JSON (an engine that did not say)."""
    try:
        pairs = json.loads(str(driver_status))
    except ValueError:
        return None
    if not isinstance(pairs, list) or not all(isinstance(p, list) for p in pairs):
        return None
    return any(p[:1] == ["driver-type"] and "containerd.snapshotter" in str(p[1:])
               for p in pairs)


def _check(client: DockerClient, builder: str | None) -> tuple[str, str]:
    prefix = docker_prefix(client)
    done = _bounded([*prefix, "buildx", "version"], CHECK_TIMEOUT)
    if done.returncode != 0:
        said = _first_line(done) or f"exit code {done.returncode}"
        lowered = said.lower()
        if "is not a docker command" in lowered or "unknown command" in lowered:
            raise MissingToolError(
                f"docker buildx is not installed (`docker buildx version`: {said}); "
                + INSTALL_BUILDX
            )
        raise MissingToolError(f"`docker buildx version` failed: {said}")
    inspect = [*prefix, "buildx", "inspect", "--bootstrap"]
    if builder is not None:
        inspect.append(builder)
    # --bootstrap may start a builder (a docker-container one pulls its BuildKit image)
    answer = _bounded(inspect, BOOTSTRAP_TIMEOUT)
    if answer.returncode != 0:
        raise _unreachable(builder, _first_line(answer) or f"exit code {answer.returncode}")
    # buildx may exit 0 and still report the node unreachable ("Error: Cannot connect ...",
    # "Status: inactive"): only a running node builds anything
    problem = builder_problem(f"{answer.stdout}\n{answer.stderr}")
    if problem is not None:
        raise _unreachable(builder, problem)
    return done.stdout.strip(), answer.stdout


# seconds a check may take before bakery says what did not answer (a docker CLI or engine
# that hangs would otherwise hold a bake forever)
CHECK_TIMEOUT = 60.0
BOOTSTRAP_TIMEOUT = 300.0


def _bounded(argv: Sequence[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """`argv` run to its end within `timeout` seconds, output captured; MissingToolError
    naming the command when it cannot be started or does not answer in time."""
    shown = " ".join(["docker", *argv[argv.index("buildx"):]]) if "buildx" in argv else argv[0]
    try:
        return subprocess.run(list(argv), capture_output=True, text=True, errors="replace",
                              stdin=subprocess.DEVNULL, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise MissingToolError(f"`{shown}` did not answer within {timeout:g}s (docker CLI"
                               f" {argv[0]!r}); is the Docker engine up?") from None
    except FileNotFoundError:
        raise not_on_path(argv[0]) from None
    except OSError as exc:
        raise MissingToolError(f"cannot run the docker CLI {argv[0]!r}: {exc}") from None


def _first_line(done: subprocess.CompletedProcess[str]) -> str:
    for line in (done.stderr + "\n" + done.stdout).splitlines():
        if line.strip():
            return line.strip()[:300]
    return ""


def builder_problem(inspect_output: str) -> str | None:
    """What `docker buildx inspect --bootstrap` says is wrong with the builder, or None when
    its nodes are running: an `Error:` line, a status other than running, or a line saying
    the engine cannot be reached."""
    for line in inspect_output.splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip().lower(), value.strip()
        if key == "error" and value:
            return value
        if key == "status" and value.lower() != "running":
            return f"its node is {value or 'in no state'}"
        if "cannot connect" in line.lower():
            return line.strip().removeprefix("ERROR: ")
    return None


def _unreachable(builder: str | None, said: str) -> MissingToolError:
    if builder is not None:
        return MissingToolError(
            f"builder {builder!r} is not reachable ({said}); see `docker buildx ls`,"
            f" or create it with `docker buildx create --name {builder} ...`"
        )
    return MissingToolError(
        f"the current buildx builder is not reachable ({said}); start the Docker engine"
        " or pick a builder with --builder"
    )


class BuildxEngine:
    """A `BuildEngine` for `bakery.bake.run.run_bake`: buildx through `client`, each bake
    a child process with `env`."""

    def __init__(self, client: DockerClient, env: Mapping[str, str]) -> None:
        self._client = client
        self._env = env

    def check(self, builder: str | None) -> BuilderInfo:
        return inspect_builder(self._client, builder)

    def prefix(self) -> tuple[str, ...]:
        return docker_prefix(self._client)

    def launcher(self, cwd: Path) -> Launch:
        return launcher(cwd=cwd, env=self._env)


class BakeProcess:
    """A running `docker buildx bake`, in its own process group so that bakery decides when
    it stops: a terminal's Ctrl-C reaches bakery, which interrupts every build the same way."""

    def __init__(self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> None:
        self.argv = tuple(argv)
        self._popen = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self._popen.pid

    def lines(self) -> Iterator[str]:
        stream = self._popen.stdout
        assert stream is not None
        with stream:
            for raw in stream:
                yield raw.decode("utf-8", errors="replace").rstrip("\r\n")

    def wait(self) -> int:
        return self._popen.wait()

    def interrupt(self) -> None:
        self._signal(signal.SIGINT)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def _signal(self, signum: signal.Signals) -> None:
        if self._popen.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._popen.pid, signum)


def launcher(*, cwd: Path, env: Mapping[str, str]) -> Launch:
    """A `Launch` for the runner: start a bake command in `cwd` (bake resolves the contexts
    in the bake file against the working directory) with `env`."""
    full_env = {**env, "DOCKER_CLI_EXPERIMENTAL": "enabled"}  # as python-on-whales does

    def launch(argv: Sequence[str]) -> BakeProcess:
        return BakeProcess(argv, cwd=cwd, env=full_env)

    return launch
