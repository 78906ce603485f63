"""Running bake invocations concurrently, and cancelling them cleanly.

The runner knows nothing about Docker: it gets a `launch` callable (`bakery.docker.process`;
`bakery.docker.buildx` makes the real one) that starts a command and returns a
`RunningProcess`. Each running invocation has one reader
thread that forwards output lines into a queue; everything else (starting, bookkeeping, the
view, cancelling) happens in the calling thread, so no state is shared between threads.

Cancelling (Ctrl-C, SIGTERM): `request_cancel()` only bumps a counter, so it is safe to call
from a signal handler. The loop then stops starting invocations (the rest are reported
`skipped`), sends SIGINT to every running one (buildx cancels its solve and exits), and kills
them if they are still running after a grace period or on a second request.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Protocol

from bakery.bake.buildlog import BuildLog
from bakery.bake.invocations import Invocation
from bakery.bake.results import (
    BuildError,
    TargetResult,
    invocation_results,
    read_metadata,
    skipped_results,
)
from bakery.docker.process import Launch, RunningProcess

GRACE_S = 10.0
POLL_S = 0.1


class Observer(Protocol):
    """The build events the runner tells bake's view (besides `bakery.progress.Progress`,
    which they carry too much for: a build's output lines and its results). All calls come
    from the runner's thread."""

    def started(self, invocation: Invocation, command: Sequence[str]) -> None: ...

    def output(self, invocation: Invocation, line: str, log: BuildLog) -> None:
        """One line of the build's output (buildx's plain progress), read into `log`."""
        ...

    def finished(self, invocation: Invocation, results: Sequence[TargetResult]) -> None: ...

    def cancelling(self, running: int, *, force: bool) -> None: ...

    def tick(self) -> None: ...


@dataclass(frozen=True)
class Job:
    """An invocation with the exact command line that runs it."""

    invocation: Invocation
    command: tuple[str, ...]


@dataclass
class _Running:
    job: Job
    process: RunningProcess
    started_at: datetime
    started: float
    log: BuildLog = field(default_factory=BuildLog)
    log_file: IO[str] | None = None
    log_path: Path | None = None


class Runner:
    """Run jobs `concurrency` at a time; `run()` returns one result per target, in job order.
    With `require_image` (a --push or --load build), a target whose metadata names neither a
    digest nor an image is failed: there is nothing to verify or release."""

    def __init__(
        self,
        jobs: Sequence[Job],
        launch: Launch,
        *,
        concurrency: int,
        observer: Observer,
        platforms: Mapping[str, str],
        cwd: Path | None = None,
        log_dir: Path | None = None,
        require_image: bool = False,
        grace_s: float = GRACE_S,
        poll_s: float = POLL_S,
    ) -> None:
        self._jobs = list(jobs)
        self._launch = launch
        self._concurrency = max(1, concurrency)
        self._observer = observer
        self._platforms = platforms
        self._cwd = cwd or Path.cwd()
        self._log_dir = log_dir
        self._require_image = require_image
        self._grace_s = grace_s
        self._poll_s = poll_s
        self._cancel_requests = 0
        self._events: queue.Queue[tuple[str, str, str | tuple[int, float]]] = queue.Queue()

    def request_cancel(self) -> None:
        """Ask the run to stop. Async-signal friendly: it only bumps a counter."""
        self._cancel_requests += 1

    def run(self) -> list[TargetResult]:
        pending = deque(self._jobs)
        running: dict[str, _Running] = {}
        done: dict[str, list[TargetResult]] = {}
        handled = 0
        cancel_at: float | None = None
        killed_at: float | None = None
        try:
            while True:
                requests = self._cancel_requests
                if requests > handled:
                    if handled == 0:
                        cancel_at = time.monotonic()
                        self._observer.cancelling(len(running), force=False)
                        for item in running.values():
                            item.process.interrupt()
                    if requests >= 2 and killed_at is None:
                        self._observer.cancelling(len(running), force=True)
                        self._kill_all(running)
                        killed_at = time.monotonic()
                    handled = requests
                now = time.monotonic()
                if cancel_at is not None and killed_at is None and now - cancel_at > self._grace_s:
                    self._observer.cancelling(len(running), force=True)
                    self._kill_all(running)
                    killed_at = now
                if killed_at is not None and now - killed_at > self._grace_s:
                    # killed, yet its output pipe stays open (a grandchild holds it): give up
                    for name, item in list(running.items()):
                        del running[name]
                        done[name] = self._finish(item, -9, exited=now, cancel_at=cancel_at)
                        self._observer.finished(item.job.invocation, done[name])
                if cancel_at is not None:
                    while pending:
                        job = pending.popleft()
                        done[job.invocation.name] = self._skipped(job)
                while cancel_at is None and pending and len(running) < self._concurrency:
                    job = pending.popleft()
                    started = self._start(job)
                    if isinstance(started, list):
                        done[job.invocation.name] = started
                        self._observer.finished(job.invocation, started)
                    else:
                        running[job.invocation.name] = started
                if not running and not pending:
                    break
                self._drain(running, done, cancel_at=cancel_at)
                self._observer.tick()
        finally:
            self._kill_all(running)
            for item in running.values():
                self._close_log(item)
        return [r for job in self._jobs for r in done.get(job.invocation.name, [])]

    # -- internals ---------------------------------------------------------------------

    def _start(self, job: Job) -> _Running | list[TargetResult]:
        started_at = datetime.now(UTC)
        started = time.monotonic()
        log_path = log_file = None
        try:
            if self._log_dir is not None:
                log_path = self._log_dir / f"{job.invocation.name}.log"
                log_file = log_path.open("w", encoding="utf-8")
            process = self._launch(job.command)
        except OSError as exc:
            if log_file is not None:
                log_file.close()
            what = "write the build log" if log_file is None and log_path else "start docker"
            return [
                TargetResult(
                    id=target, status="failed", platform=self._platforms.get(target),
                    started_at=started_at, duration_s=0.0, command=job.command,
                    error=BuildError(step=None, message=f"could not {what}: {exc}"),
                )
                for target in job.invocation.targets
            ]
        item = _Running(job=job, process=process, started_at=started_at, started=started,
                        log_file=log_file, log_path=log_path)
        thread = threading.Thread(
            target=self._read, args=(job.invocation.name, process), daemon=True,
            name=f"bake-{job.invocation.name}",
        )
        thread.start()
        self._observer.started(job.invocation, job.command)
        return item

    def _read(self, name: str, process: RunningProcess) -> None:
        code = -1
        try:
            for line in process.lines():
                self._events.put(("line", name, line))
        except Exception as exc:
            # nobody reads its output any more: stop it rather than let it block on the pipe
            self._events.put(("line", name, f"bakery: cannot read the build output: {exc!r}"))
            with contextlib.suppress(Exception):
                process.kill()
        finally:
            with contextlib.suppress(Exception):
                code = process.wait()
            self._events.put(("exit", name, (code, time.monotonic())))

    def _drain(
        self, running: dict[str, _Running], done: dict[str, list[TargetResult]], *,
        cancel_at: float | None,
    ) -> None:
        try:
            event = self._events.get(timeout=self._poll_s)
        except queue.Empty:
            return
        while True:
            kind, name, payload = event
            item = running.get(name)
            if item is not None:
                if kind == "line":
                    assert isinstance(payload, str)
                    item.log.feed(payload)
                    if item.log_file is not None:
                        item.log_file.write(payload + "\n")
                    self._observer.output(item.job.invocation, payload, item.log)
                else:
                    assert isinstance(payload, tuple)
                    del running[name]
                    code, exited = payload
                    results = self._finish(item, code, exited=exited, cancel_at=cancel_at)
                    done[name] = results
                    self._observer.finished(item.job.invocation, results)
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                return

    def _finish(
        self, item: _Running, code: int, *, exited: float, cancel_at: float | None
    ) -> list[TargetResult]:
        self._close_log(item)
        invocation = item.job.invocation
        return invocation_results(
            invocation,
            command=item.job.command,
            exit_code=code,
            # the metadata path is relative to the bake's working directory
            metadata=read_metadata(self._cwd / invocation.metadata_file) if code == 0 else None,
            log=item.log,
            started_at=item.started_at,
            duration_s=exited - item.started,
            # a build that failed on its own before the cancel request stays `failed`
            cancelled=cancel_at is not None and exited >= cancel_at,
            platforms=self._platforms,
            log_file=str(item.log_path) if item.log_path is not None else None,
            require_image=self._require_image,
        )

    def _skipped(self, job: Job) -> list[TargetResult]:
        results = skipped_results(
            job.invocation, command=job.command, platforms=self._platforms,
            reason="skipped: bakery was interrupted before this build started",
        )
        self._observer.finished(job.invocation, results)
        return results

    @staticmethod
    def _kill_all(running: Mapping[str, _Running]) -> None:
        for item in running.values():
            with contextlib.suppress(OSError):
                item.process.kill()

    @staticmethod
    def _close_log(item: _Running) -> None:
        if item.log_file is not None:
            item.log_file.close()
            item.log_file = None
