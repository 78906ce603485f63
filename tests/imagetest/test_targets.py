"""`test_targets` called directly: which targets run on this host, which image each gets,
and the tally; the script is a function, so nothing is spawned."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bakery.bake.results import load_results
from bakery.imagetest import run as imagetest
from bakery.plan.target import Target
from bakery.progress import Silent
from bakery.project import load_plan
from tests.imagetest.matrix import ARM_TARGET, CPU_CANDIDATE, CPU_TARGET, MATRIX
from tests.verify.matrix import write_results

SCRIPT = Path("images/test_image.sh")


def targets(tmp_path: Path) -> list[Target]:
    (tmp_path / "matrix.toml").write_text(MATRIX)
    plan = load_plan(tmp_path / "matrix.toml", env={}, use_git=False).plan
    return [plan.target(CPU_TARGET), plan.target(ARM_TARGET)]


class Report(Silent):
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def line(self, text: str) -> None:
        self.lines.append(text)


class Engine:
    """An `ImageTestEngine` in process: the script's exit status per target, and whether the
    engine holds an image."""

    def __init__(self, codes: dict[str, int], present: Callable[[str], bool]) -> None:
        self.codes, self.holds = codes, present
        self.ran: list[tuple[str, str]] = []

    def present(self, image: str) -> bool:
        return self.holds(image)

    def run(self, target: Target, image: str) -> int:
        self.ran.append((target.id, image))
        return self.codes.get(target.id, 0)


def run_all(tmp_path: Path, codes: dict[str, int], **options: object) -> tuple[
        imagetest.ImageTestTally, list[str], list[tuple[str, str]]]:
    report: list[str] = []
    engine = Engine(codes, options.pop("present", lambda ref: True))  # type: ignore[arg-type]
    binfmt = tmp_path / "binfmt"
    binfmt.mkdir(exist_ok=True)
    settings: dict[str, object] = {"results": None, "image": None, "host": "x86_64",
                                   "binfmt_dir": binfmt, **options}
    tally = imagetest.test_targets(targets(tmp_path), script=SCRIPT, engine=engine,
                                   progress=Report(report), **settings)  # type: ignore[arg-type]
    return tally, report, engine.ran


def test_a_foreign_architecture_is_skipped_without_a_qemu_handler(tmp_path: Path) -> None:
    tally, report, ran = run_all(tmp_path, {})
    assert ran == [(CPU_TARGET, CPU_CANDIDATE)]
    assert tally == imagetest.ImageTestTally(passed=(CPU_TARGET,), skipped=(ARM_TARGET,))
    assert report[0] == f"== {CPU_TARGET}: {SCRIPT} {CPU_CANDIDATE}"
    assert report[1].startswith(f"SKIP target {ARM_TARGET}: linux/arm64 does not match")
    assert tally.summary() == "bakery test: 1 passed, 0 failed, 1 skipped (platform)"


def test_an_enabled_qemu_handler_runs_it_and_failures_are_tallied(tmp_path: Path) -> None:
    (tmp_path / "binfmt").mkdir()
    (tmp_path / "binfmt" / "qemu-aarch64").write_text("enabled\ninterpreter /usr/bin/qemu\n")
    tally, report, ran = run_all(tmp_path, {CPU_TARGET: 1, ARM_TARGET: 2})
    assert [target for target, _ in ran] == [CPU_TARGET, ARM_TARGET]
    assert tally.failed == (CPU_TARGET, ARM_TARGET) and tally.passed == ()
    assert report[-1] == (f"FAIL target {ARM_TARGET}: {SCRIPT} exited 2 (usage or engine"
                          " error)")


def test_a_target_whose_build_failed_is_not_built_without_running(tmp_path: Path) -> None:
    results = load_results(write_results(
        tmp_path / "r.json", {CPU_TARGET: ("acme/edge_cpu:x", None)}, status={
            CPU_TARGET: "failed"}))
    tally, report, ran = run_all(tmp_path, {}, results=results)
    assert ran == []
    assert tally.not_built == (CPU_TARGET,) and tally.failed == ()
    assert f"NOT BUILT target {CPU_TARGET}: its build is failed" in report
    assert tally.summary() == "bakery test: 0 passed, 0 failed, 1 not built, 1 skipped (platform)"


def test_a_never_built_target_is_one_not_built_line_like_verify(tmp_path: Path) -> None:
    """No bake result and no candidate image in the engine: one NOT BUILT line naming what
    to do, and the script never runs (it would fail twice, at length, on a missing image)."""
    asked: list[str] = []

    def present(ref: str) -> bool:
        asked.append(ref)
        return False

    tally, report, ran = run_all(tmp_path, {}, present=present)
    assert ran == [] and asked == [CPU_CANDIDATE]
    assert tally.not_built == (CPU_TARGET,)
    assert report[0] == (f"NOT BUILT target {CPU_TARGET}: no bake result for it and no image"
                         f" {CPU_CANDIDATE} in the engine (run `bakery bake --load`, or pass"
                         " --image)")
    assert [line for line in report if "FAIL" in line] == []
    # a candidate the engine holds is tested as before
    tally, _, ran = run_all(tmp_path, {}, present=lambda ref: True)
    assert ran == [(CPU_TARGET, CPU_CANDIDATE)] and tally.passed == (CPU_TARGET,)


def test_an_image_option_is_what_runs(tmp_path: Path) -> None:
    _, _, ran = run_all(tmp_path, {}, image="my/image:1")
    assert ran == [(CPU_TARGET, "my/image:1")]
