"""`run_bake`: one prepared bake, start to finish, against any build engine.

The order is what makes a bake safe to re-run: the engine and builder are asked and every
output path is checked before the first build starts (a bad path or a stopped engine costs
nothing and exits 2); the results file is written once, atomically, after the last build
ends, and a run that built nothing (interrupted before any build finished) never replaces
the results of the previous one (docs/design.md, "Guarantees").
"""

from __future__ import annotations

import contextlib
import dataclasses
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Protocol

from bakery import __version__
from bakery.bake.builder import fit_builder
from bakery.bake.request import OutputPaths, PreparedBake
from bakery.bake.results import Results, TargetResult, overall_ok, results_json
from bakery.bake.runner import Job, Observer, Runner
from bakery.docker.builder import BuilderInfo
from bakery.docker.process import Launch
from bakery.errors import BakeryError, ConfigError
from bakery.jsonfile import write_atomic
from bakery.progress import Progress


class BuildEngine(Protocol):
    """What a bake needs from Docker (`bakery.docker.buildx.BuildxEngine` in production)."""

    def check(self, builder: str | None) -> BuilderInfo | None:
        """Raise MissingToolError unless the CLI, buildx and the builder's engine answer;
        return what the builder is (None: unknown, the bake is not adapted)."""
        ...

    def prefix(self) -> tuple[str, ...]:
        """The docker command every bake command line starts with."""
        ...

    def launcher(self, cwd: Path) -> Launch: ...


class BakeView(Progress, Observer, Protocol):
    """bake's progress: the one `Progress` (its lines: what the builder can do), the
    runner's build events, and a context (a live view starts and stops)."""

    def changed(self, text: str) -> None:
        """One line: bakery changed what is built (shown even by a quiet view)."""
        ...

    def __enter__(self) -> object: ...

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


@dataclass(frozen=True)
class BakeOutcome:
    """The results of a bake and where they were written. Not written: `note` says why when
    that is as it should be (nothing was built), `error` when it is a failure."""

    results: Results
    written: Path | None
    note: str | None = None
    error: str | None = None

    @property
    def exit_code(self) -> int:
        """0 only when every requested target is ok."""
        return 0 if self.results.ok else 1


def check_outputs(paths: OutputPaths) -> None:
    """Create the results directory and its logs/ and metadata/ and prove each writable,
    before anything is built: a ConfigError (exit 2) otherwise, naming the path."""
    if paths.results.is_dir():
        raise ConfigError(f"{paths.results}: --results names a directory; name a file"
                          " (e.g. .bakery/results.json)")
    for directory in (paths.results.parent, paths.logs, paths.metadata):
        try:
            directory.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=directory):
                pass
        except (FileExistsError, NotADirectoryError):
            raise ConfigError(f"{directory}: not a directory; bake writes its"
                              " {results, logs, metadata} there (pass another --results)"
                              ) from None
        except OSError as exc:
            raise ConfigError(f"{directory}: cannot write there ({exc.strerror}); pass"
                              " another --results") from None


def built_anything(targets: Sequence[TargetResult]) -> bool:
    """Whether a build ran to its end for some target (ok or failed): otherwise the run was
    refused or interrupted before any build finished, and the previous results stand."""
    return any(r.status in ("ok", "failed") for r in targets)


def run_bake(prepared: PreparedBake, engine: BuildEngine, view: BakeView) -> BakeOutcome:
    """Check the outputs and the engine, run every invocation (`prepared.concurrency` at a
    time; Ctrl-C, SIGTERM and SIGHUP cancel cleanly), then record the results."""
    info = engine.check(prepared.settings.builder)
    check_outputs(prepared.paths)
    if info is not None:
        prepared = adapt_to_builder(prepared, info, view)
    jobs = [Job(i, argv) for i, argv in
            zip(prepared.invocations, prepared.commands(engine.prefix()), strict=True)]
    for invocation in prepared.invocations:  # a stale one would pass for this run's
        (prepared.cwd / invocation.metadata_file).unlink(missing_ok=True)
    runner = Runner(
        jobs, engine.launcher(prepared.cwd), concurrency=prepared.concurrency,
        observer=view, platforms={t.id: t.platform for t in prepared.selected},
        cwd=prepared.cwd, log_dir=prepared.paths.logs,
        require_image=prepared.settings.output != "cache",
    )
    started_at = datetime.now(UTC)
    started = time.monotonic()
    with _cancel_on_signals(runner), view:
        outcome = runner.run()
    request = prepared.request
    results = Results(
        bakery_version=__version__, matrix=str(request.matrix),
        bake_file=str(prepared.bake_file), builder=request.builder,
        output=prepared.settings.output, fail_fast=request.fail_fast,
        jobs=prepared.concurrency, git=prepared.loaded.plan.git, started_at=started_at,
        duration_s=round(time.monotonic() - started, 3), ok=overall_ok(outcome),
        targets=tuple(outcome),
    )
    return record(results, prepared.paths)


def adapt_to_builder(prepared: PreparedBake, info: BuilderInfo, view: BakeView) -> PreparedBake:
    """Say what the builder can do for this bake and adapt the invocations to it (one note per
    change), or ConfigError with the command that creates a builder that can do it."""
    overrides = {k: v for i in prepared.invocations for k, v in i.overrides.items()}
    fit = fit_builder(info, output=prepared.settings.output, targets=prepared.selected,
                      invocations=prepared.invocations, overrides=overrides)
    view.line(fit.summary)
    for note in fit.notes:
        view.changed(note)
    return dataclasses.replace(prepared, invocations=fit.apply(prepared.invocations))


def record(results: Results, paths: OutputPaths) -> BakeOutcome:
    """Write the results file, unless nothing was built and a previous one exists: it keeps
    the results (and verify's verdicts) of the last run that built something. A write that
    fails still says where each target's log and metadata are."""
    if not built_anything(results.targets) and paths.results.exists():
        return BakeOutcome(results, None, f"nothing was built; {paths.results} is left as it"
                           " was")
    try:
        write_atomic(paths.results, results_json(results))
    except BakeryError as exc:  # write_atomic's one line: "<path>: cannot write: <why>; ..."
        return BakeOutcome(results, None, error=f"{exc}; each target's build log is in"
                           f" {paths.logs} and its buildx metadata in {paths.metadata}")
    return BakeOutcome(results, paths.results)


@contextlib.contextmanager
def _cancel_on_signals(runner: Runner) -> Iterator[None]:
    """Ctrl-C, SIGTERM (CI cancelling a job) and SIGHUP cancel the builds cleanly instead of
    killing bakery: running builds are interrupted and reported cancelled, the rest skipped."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        runner.request_cancel()

    previous = {sig: signal.signal(sig, handler)
                for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
