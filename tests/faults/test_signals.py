"""Ctrl-C, closed and full output, and two runs at once: the real process, as users run it."""

from __future__ import annotations

import errno
import io
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bakery.preflight.lock import locked_dir
from tests.bench.bench_plan import synthetic_matrix
from tests.faults.conftest import snapshot
from tests.faults.servers import misbehaving_index
from tests.support.cli import MINIMAL_MATRIX
from tests.support.index_server import IndexServer

BAKERY = [sys.executable, "-m", "bakery"]


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "GITHUB_SHA": "0" * 40, "GITHUB_REF": "refs/heads/main",
            "XDG_CACHE_HOME": str(tmp_path / "xdg")}


def _interrupt(args: list[str], env: dict[str, str], ready: threading.Event) -> tuple[int, str]:
    proc = subprocess.Popen([*BAKERY, *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert ready.wait(60), "the command never got to the point to interrupt"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)  # a hang guard, not a timing assertion
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, err


def test_ctrl_c_in_preflight_against_a_silent_index(
    tmp_path: Path, allow_subprocess: None
) -> None:
    asked = threading.Event()

    def stall(conn: object) -> None:
        asked.set()
        time.sleep(3600)

    with misbehaving_index(stall) as url:  # type: ignore[arg-type]
        matrix = tmp_path / "matrix.toml"
        matrix.write_text(MINIMAL_MATRIX.replace(
            'pytorch-cpu = "https://download.pytorch.org/whl/cpu"',
            f'pytorch-cpu = "{url}"\npypi = "{url}"'))
        before = snapshot(tmp_path, skip=("xdg",))
        code, err = _interrupt(["preflight", "--matrix", str(matrix)], _env(tmp_path), asked)
    assert code == 130
    assert err.strip().splitlines()[-1] == "bakery: interrupted"
    assert "Traceback" not in err
    assert snapshot(tmp_path, skip=("xdg",)) == before


def test_ctrl_c_in_plan(tmp_path: Path, allow_subprocess: None) -> None:
    matrix = tmp_path / "matrix.toml"
    matrix.write_text(synthetic_matrix(10_000))  # several seconds of planning
    started = threading.Event()
    threading.Timer(1.0, started.set).start()  # well into a plan that takes seconds
    code, err = _interrupt(["plan", "--matrix", str(matrix), "--format", "json"],
                           _env(tmp_path), started)
    assert (code, err) == (130, "bakery: interrupted\n")


def test_output_to_a_full_device_is_one_line(tmp_path: Path, allow_subprocess: None) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    matrix = tmp_path / "matrix.toml"
    matrix.write_text(MINIMAL_MATRIX)
    with Path("/dev/full").open("w") as full:
        done = subprocess.run([*BAKERY, "plan", "--matrix", str(matrix), "--format", "json"],
                              env=_env(tmp_path), stdout=full, stderr=subprocess.PIPE,
                              text=True, timeout=60, check=False)
    assert done.returncode == 1  # a full disk is the machine's problem, as under a file
    assert done.stderr == "bakery: error: standard output: No space left on device\n"


class _ClosedPipe(io.StringIO):
    """stdout whose reader went away (`bakery plan | head -1`)."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd

    def write(self, text: str) -> int:
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    def fileno(self) -> int:
        return self._fd


def test_a_reader_that_goes_away_is_no_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bakery.cli import main

    matrix = tmp_path / "matrix.toml"
    matrix.write_text(MINIMAL_MATRIX)
    with (tmp_path / "stdout").open("w") as stand_in:
        monkeypatch.setattr(sys, "stdout", _ClosedPipe(stand_in.fileno()))
        with pytest.raises(SystemExit) as info:
            main(["plan", "--matrix", str(matrix), "--format", "json"])
    assert info.value.code == 1
    assert capsys.readouterr().err == ""


def test_the_lock_directory_is_held_exclusively(tmp_path: Path) -> None:
    import fcntl

    with locked_dir(tmp_path):
        fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released on leaving
    finally:
        os.close(fd)


def test_two_preflights_at_once_keep_both_entries(
    tmp_path: Path, index_server: IndexServer, allow_subprocess: None
) -> None:
    from tests.preflight.test_cli import MATRIX

    matrix = tmp_path / "matrix.toml"
    matrix.write_text(MATRIX.format(pypi=index_server.url(), gpu=index_server.url()))
    env = _env(tmp_path)
    for _ in range(3):
        (tmp_path / "matrix.lock.json").unlink(missing_ok=True)
        procs = [subprocess.Popen([*BAKERY, "preflight", "--matrix", str(matrix), "--target",
                                   target, "--cache-dir", str(tmp_path / f"cache-{target}")],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                 for target in ("edge_gpu", "edge_arm")]
        for proc in procs:
            assert proc.wait(timeout=120) == 0
        lock = (tmp_path / "matrix.lock.json").read_text()
        assert '"edge_gpu"' in lock and '"edge_arm"' in lock


def test_a_closed_stdout_is_an_error_not_silence(tmp_path: Path, allow_subprocess: None) -> None:
    """`bakery plan >&-`: the plan cannot be written anywhere; exit 1 saying so."""
    matrix = tmp_path / "matrix.toml"
    matrix.write_text(MINIMAL_MATRIX)
    done = subprocess.run(["sh", "-c", 'exec "$@" >&-', "sh", *BAKERY, "plan", "--matrix",
                           str(matrix)], env=_env(tmp_path), stderr=subprocess.PIPE, text=True,
                          timeout=60, check=False)
    assert done.returncode == 1
    assert done.stderr == ("bakery: error: standard output: closed when bakery started;"
                           " nothing can be written to it\n")
