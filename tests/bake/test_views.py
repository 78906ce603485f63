"""The live view, the plain lines and the summary table."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console

from bakery.bake.buildlog import BuildLog
from bakery.bake.invocations import Invocation
from bakery.bake.results import BuildError, Results, TargetResult
from bakery.plan.target import GitInfo
from bakery.views.bake import LiveView, PlainView, make_view, print_summary, short_digest
from tests.support.repo import ROOT

T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
DIGEST = "sha256:" + "cd" * 32


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def terminal(width: int = 100) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=True, width=width, color_system=None), buffer


def inv(*targets: str) -> Invocation:
    return Invocation(name=targets[0] if len(targets) == 1 else "fail-fast", targets=targets,
                      metadata_file=Path("m.json"))


def test_live_view_shows_state_elapsed_time_and_current_step() -> None:
    console, _ = terminal()
    clock = Clock()
    view = LiveView(console, ["gpu-py313", "cpu-py313", "arm-py313"], clock=clock)
    log = BuildLog()
    gpu = inv("gpu-py313")
    view.started(gpu, ["docker"])
    for line in ("#5 [gpu-py313 python 3/4] RUN uv pip install torch", "#5 0.5 Resolved"):
        log.feed(line)
        view.output(gpu, line, log)
    clock.now += 75.5
    view.finished(inv("cpu-py313"), [TargetResult(
        id="cpu-py313", status="failed", duration_s=3.0,
        error=BuildError(step="[python 3/4] RUN uv pip install", message="exit code: 1"))])
    render_console, buffer = terminal()
    render_console.print(view.render())
    rows = {line.split()[0]: line for line in buffer.getvalue().splitlines() if line.strip()}
    assert rows["gpu-py313"].split()[1:3] == ["running", "1m15.5s"]
    assert "[python 3/4] RUN uv pip install torch" in rows["gpu-py313"]
    assert rows["cpu-py313"].split()[1] == "failed"
    assert "[python 3/4] RUN uv pip install" in rows["cpu-py313"]
    assert rows["arm-py313"].split()[1] == "pending"


def test_live_view_in_a_fail_fast_bake_follows_each_target() -> None:
    console, _ = terminal()
    view = LiveView(console, ["gpu", "cpu"], clock=Clock())
    both = inv("gpu", "cpu")
    log = BuildLog()
    view.started(both, ["docker"])
    for line in ("#5 [gpu base 2/4] RUN apt-get update", "#6 [cpu python 3/4] RUN pip"):
        log.feed(line)
        view.output(both, line, log)
    out, buffer = terminal()
    out.print(view.render())
    rows = {line.split()[0]: line for line in buffer.getvalue().splitlines() if line.strip()}
    assert rows["gpu"].rstrip().endswith("[base 2/4] RUN apt-get update")
    assert rows["cpu"].rstrip().endswith("[python 3/4] RUN pip")


def test_live_view_draws_on_the_terminal_and_clears_itself() -> None:
    console, buffer = terminal()
    with LiveView(console, ["gpu"], clock=Clock()) as view:
        view.started(inv("gpu"), ["docker"])
        view.cancelling(1, force=False)
    drawn = buffer.getvalue()
    assert "gpu" in drawn and "running" in drawn and "cancelling 1 running build(s)" in drawn


def test_plain_view_prefixes_lines_with_the_target() -> None:
    console = Console(file=io.StringIO(), width=80)
    view = PlainView(console)
    gpu = inv("gpu")
    view.started(gpu, ["docker", "buildx", "bake", "--set", "*.a=b c", "gpu"])
    view.output(gpu, "#1 [gpu 1/2] FROM [scratch]", BuildLog())
    view.finished(gpu, [TargetResult(id="gpu", status="ok", duration_s=1.25, digest=DIGEST,
                                     tags=("acme/gpu:1",))])
    view.cancelling(2, force=True)
    assert console.file.getvalue().splitlines() == [  # type: ignore[attr-defined]
        "bakery: gpu: started: docker buildx bake --set '*.a=b c' gpu",
        "gpu | #1 [gpu 1/2] FROM [scratch]",  # no rich markup interpretation of [..]
        f"bakery: gpu: ok in 1.2s  {DIGEST}  acme/gpu:1",
        "bakery: killing 2 build(s) now",
    ]


@pytest.mark.parametrize(("mode", "kind"), [("live", "LiveView"), ("plain", "PlainView"),
                                           ("quiet", "QuietView")])
def test_make_view(mode: str, kind: str) -> None:
    console, _ = terminal()
    assert type(make_view(mode, console, ["a"])).__name__ == kind  # type: ignore[arg-type]


def results(*targets: TargetResult) -> Results:
    return Results(
        bakery_version="0.1.0", matrix="matrix.toml", bake_file="docker-bake.hcl", builder=None,
        output="load", fail_fast=False, jobs=2, git=GitInfo(ref=None, sha=None, source="none"),
        started_at=T0, duration_s=62.0, ok=False, targets=targets,
    )


SAMPLE = results(
    TargetResult(id="gpu", status="ok", duration_s=61.0, digest=DIGEST, tags=("acme/gpu:py3",)),
    TargetResult(id="cpu", status="failed", duration_s=2.0, log_file=".bakery/logs/cpu.log",
                 error=BuildError(step="[python 3/4] RUN pip", message="exit code: 1",
                                  log_tail=("0.5 no wheel",))),
    TargetResult(id="arm", status="skipped",
                 error=BuildError(step=None, message="skipped: interrupted")),
)


@pytest.mark.parametrize("width", [80, 160])
def test_summary(width: int) -> None:
    console = Console(file=io.StringIO(), width=width)
    print_summary(console, SAMPLE, results_path=Path(".bakery/results.json"))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    lines = text.splitlines()
    gpu_row = next(line for line in lines if line.startswith("gpu "))
    assert "ok" in gpu_row and "1m01.0s" in gpu_row and short_digest(DIGEST) in gpu_row
    assert ("acme/gpu:py3" in gpu_row) is (width >= 150)  # tags get a column where they fit
    assert "cpu failed at [python 3/4] RUN pip" in lines
    assert "  exit code: 1" in lines and "  | 0.5 no wheel" in lines
    assert "  full log: .bakery/logs/cpu.log" in lines
    assert "arm: skipped: interrupted" in lines
    assert lines[-1] == ("3 target(s): 1 ok, 1 failed, 1 skipped in 1m02.0s;"
                         " results in .bakery/results.json")


def test_short_digest() -> None:
    assert short_digest(DIGEST) == "sha256:cdcdcdcdcdcd"
    assert short_digest(None) == "-"


def test_plan_does_not_import_python_on_whales(allow_subprocess: None) -> None:
    """Only `bakery bake` pays for python-on-whales."""
    code = (
        "import sys\n"
        "from bakery.cli import main\n"
        "try:\n"
        f"    main(['plan', '--matrix', {str(ROOT / 'matrix.toml')!r}, '--format', 'json'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('LOADED' if 'python_on_whales' in sys.modules else 'NOT LOADED', file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert done.stderr.strip().splitlines()[-1] == "NOT LOADED", done.stderr
