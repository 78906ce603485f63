"""The runner: concurrency, cancellation (in-process), and processes that will not stop."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from bakery.bake.buildlog import BuildLog
from bakery.bake.invocations import Invocation
from bakery.bake.results import TargetResult
from bakery.bake.runner import Job, Runner
from bakery.docker import buildx
from bakery.docker.process import RunningProcess
from tests.support.fake_docker import FakeDocker


class Recorder:
    """An observer that records what the view would see, and can cancel on a cue."""

    def __init__(self, cancel_on: str | None = None, times: int = 1) -> None:
        self.events: list[tuple[str, str]] = []
        self.runner: Runner | None = None
        self.cancel_on = cancel_on
        self.times = times

    def started(self, invocation: Invocation, command: Sequence[str]) -> None:
        self.events.append(("started", invocation.name))

    def output(self, invocation: Invocation, line: str, log: BuildLog) -> None:
        if self.cancel_on is not None and self.cancel_on in line and self.runner is not None:
            self.cancel_on = None
            for _ in range(self.times):
                self.runner.request_cancel()

    def finished(self, invocation: Invocation, results: Sequence[TargetResult]) -> None:
        self.events.append(("finished", invocation.name))

    def cancelling(self, running: int, *, force: bool) -> None:
        self.events.append(("cancelling", f"{running} force={force}"))

    def tick(self) -> None:
        return None


def jobs_for(tmp_path: Path, names: Sequence[str], command: Sequence[str]) -> list[Job]:
    return [
        Job(Invocation(name=n, targets=(n,), metadata_file=tmp_path / f"{n}.json"),
            (*command, "buildx", "bake", "--metadata-file", str(tmp_path / f"{n}.json"), n))
        for n in names
    ]


def make_runner(jobs: list[Job], recorder: Recorder, *, grace_s: float = 10.0,
                concurrency: int = 1, tmp_path: Path) -> Runner:
    runner = Runner(
        jobs, buildx.launcher(cwd=tmp_path, env=os.environ), concurrency=concurrency,
        observer=recorder, platforms={}, cwd=tmp_path, log_dir=tmp_path, grace_s=grace_s,
        poll_s=0.02,
    )
    recorder.runner = runner
    return runner


def test_cancel_interrupts_the_running_build_and_skips_the_pending(
    fake_docker: FakeDocker, tmp_path: Path
) -> None:
    fake_docker.behave(**{"*": {"sleep": 30}})
    recorder = Recorder(cancel_on="load build definition")
    jobs = jobs_for(tmp_path, ["a", "b", "c"], [str(fake_docker.path)])
    started = time.monotonic()
    results = make_runner(jobs, recorder, tmp_path=tmp_path).run()
    assert time.monotonic() - started < 10
    assert [(r.id, r.status) for r in results] == [
        ("a", "cancelled"), ("b", "skipped"), ("c", "skipped")]
    assert next(e for e in fake_docker.events() if "signal" in e)["signal"] == "SIGINT"
    assert recorder.events[0] == ("started", "a")
    assert ("cancelling", "1 force=False") in recorder.events
    assert [e for e in recorder.events if e[0] == "started"] == [("started", "a")]
    assert (tmp_path / "a.log").read_text().splitlines()[-1] == \
        "ERROR: failed to solve: Canceled: context canceled"


STUBBORN = [sys.executable, "-c", """\
import signal, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
print("#1 [t 1/1] RUN sleep 30", flush=True)
time.sleep(30)
"""]


@pytest.mark.parametrize(("times", "grace_s"), [(1, 0.3), (2, 30.0)])
def test_a_build_that_ignores_sigint_is_killed_after_the_grace_or_a_second_cancel(
    allow_subprocess: None, tmp_path: Path, times: int, grace_s: float
) -> None:
    recorder = Recorder(cancel_on="RUN sleep", times=times)
    jobs = [Job(Invocation(name="t", targets=("t",), metadata_file=tmp_path / "t.json"),
                tuple(STUBBORN))]
    started = time.monotonic()
    (result,) = make_runner(jobs, recorder, grace_s=grace_s, tmp_path=tmp_path).run()
    assert time.monotonic() - started < 10
    assert result.status == "cancelled"
    assert result.error is not None and result.error.step == "[1/1] RUN sleep 30"
    assert ("cancelling", "1 force=True") in recorder.events


def test_a_command_that_cannot_start_is_a_failed_target(
    allow_subprocess: None, tmp_path: Path
) -> None:
    jobs = jobs_for(tmp_path, ["a"], [str(tmp_path / "no-such-docker")])
    (result,) = make_runner(jobs, Recorder(), tmp_path=tmp_path).run()
    assert result.status == "failed"
    assert result.error is not None and result.error.message.startswith("could not start docker")


def test_concurrency_runs_builds_side_by_side(fake_docker: FakeDocker, tmp_path: Path) -> None:
    fake_docker.behave(**{"*": {"sleep": 1.0}})
    recorder = Recorder()
    jobs = jobs_for(tmp_path, ["a", "b", "c"], [str(fake_docker.path)])
    started = time.monotonic()
    results = make_runner(jobs, recorder, concurrency=3, tmp_path=tmp_path).run()
    elapsed = time.monotonic() - started
    assert [r.status for r in results] == ["ok", "ok", "ok"]
    assert [e[0] for e in recorder.events[:3]] == ["started"] * 3
    assert elapsed < 2.5  # three 1 s builds at once, not one after another (>= 3 s)


class _Unreadable:
    """A process whose output cannot be read; it exits -9 once killed."""

    def __init__(self) -> None:
        self.killed = False

    def lines(self) -> Iterator[str]:
        yield "#1 [t 1/1] RUN make"
        raise RuntimeError("boom")

    def wait(self) -> int:
        return -9 if self.killed else 0

    def interrupt(self) -> None:
        return None

    def kill(self) -> None:
        self.killed = True


def test_a_reader_crash_stops_the_build_and_reports_it(tmp_path: Path) -> None:
    process = _Unreadable()
    jobs = [Job(Invocation(name="t", targets=("t",), metadata_file=tmp_path / "t.json"), ("x",))]
    launch: Callable[[Sequence[str]], RunningProcess] = lambda argv: process  # noqa: E731
    runner = Runner(jobs, launch, concurrency=1, observer=Recorder(), platforms={}, cwd=tmp_path,
                    poll_s=0.01)
    (result,) = runner.run()
    assert process.killed
    assert result.status == "failed" and result.error is not None
    assert result.error.message == "docker buildx bake exited with code -9"
    assert result.error.step == "[1/1] RUN make"  # the step that was running
    assert result.error.log_tail[-1] == "bakery: cannot read the build output: RuntimeError('boom')"


def test_an_unwritable_log_directory_fails_the_target_before_starting_it(
    tmp_path: Path
) -> None:
    started: list[Sequence[str]] = []

    def launch(argv: Sequence[str]) -> RunningProcess:
        started.append(argv)
        raise AssertionError("must not start")

    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    jobs = [Job(Invocation(name="t", targets=("t",), metadata_file=tmp_path / "t.json"), ("x",))]
    runner = Runner(jobs, launch, concurrency=1, observer=Recorder(), platforms={}, cwd=tmp_path,
                    log_dir=not_a_dir, poll_s=0.01)
    (result,) = runner.run()
    assert started == []
    assert result.status == "failed" and result.error is not None
    assert result.error.message.startswith("could not write the build log")
