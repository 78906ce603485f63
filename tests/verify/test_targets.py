"""`verify_targets` and the target selection of `bakery verify`, called directly: no docker,
no process; the probe is a function."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from bakery.bake.results import load_results
from bakery.errors import ConfigError
from bakery.plan.target import Target
from bakery.progress import Silent
from bakery.project import load_plan
from bakery.verify.run import VerifyVerdict, select_for_verify, verify_results, verify_targets
from tests.verify.matrix import ARM, GPU, MULTI_MATRIX, TARGET, write_matrix, write_results

DIGEST = "sha256:" + "a" * 64


class Report(Silent):
    def __init__(self) -> None:
        self.lines: list[str] = []

    def line(self, text: str) -> None:
        self.lines.append(text)

    @contextmanager
    def busy(self, text: str) -> Iterator[None]:
        self.lines.append(f"busy: {text}")
        yield


@dataclass(frozen=True)
class Probe:
    """A `VerifyEngine` in process: the probe is a function."""

    probe: Callable[[Target, str, str | None], VerifyVerdict]


@pytest.fixture
def plan(tmp_path: Path) -> list[Target]:
    loaded = load_plan(write_matrix(tmp_path, MULTI_MATRIX), env={}, use_git=False)
    return [loaded.plan.target(t) for t in (TARGET, GPU, ARM)]


def test_each_target_is_probed_in_order_and_unbuilt_ones_are_not_run(
    tmp_path: Path, plan: list[Target]
) -> None:
    results = load_results(write_results(
        tmp_path / "r.json", {TARGET: ("reg/acme/edge_cpu:x", DIGEST),
                              GPU: ("reg/acme/edge_gpu:x", DIGEST)},
        status={GPU: "failed"}))
    probed: list[tuple[str, str, str | None]] = []

    def probe(target: Target, ref: str, digest: str | None) -> VerifyVerdict:
        probed.append((target.id, ref, digest))
        return VerifyVerdict(target.id, "passed", ref, digest)

    report = Report()
    verdicts = verify_targets(plan, results, None, engine=Probe(probe), progress=report)
    assert probed == [(TARGET, f"reg/acme/edge_cpu@{DIGEST}", DIGEST)]
    assert [(v.target, v.status, v.message) for v in verdicts] == [
        (TARGET, "passed", None),
        (GPU, "not built", "its build is failed"),
        (ARM, "not built", "no bake result for it (run `bakery bake`, or pass --image)"),
    ]
    assert report.lines[0] == f"busy: [1/3] {TARGET}: probing reg/acme/edge_cpu@{DIGEST}"
    assert report.lines[1].startswith(f"[1/3] {TARGET}: passed (")
    assert report.lines[2:] == [f"[2/3] {GPU}: not built: its build is failed",
                                f"[3/3] {ARM}: not built: no bake result for it (run `bakery"
                                " bake`, or pass --image)"]


def test_an_image_option_runs_that_image(plan: list[Target]) -> None:
    seen: list[str] = []

    def probe(target: Target, ref: str, digest: str | None) -> VerifyVerdict:
        seen.append(ref)
        return VerifyVerdict(target.id, "failed", ref, digest)

    (verdict,) = verify_targets(plan[:1], None, f"my/img@{DIGEST}", engine=Probe(probe),
                                progress=Report())
    assert seen == [f"my/img@{DIGEST}"] and verdict.digest == DIGEST and not verdict.ok


def test_selection_defaults_to_the_targets_of_the_results(
    tmp_path: Path, plan: list[Target]
) -> None:
    loaded = load_plan(tmp_path / "matrix.toml", env={}, use_git=False)
    path = write_results(tmp_path / "r.json", {GPU: ("t", DIGEST), "gone-py311": ("t", DIGEST)})
    results = load_results(path)
    assert [t.id for t in select_for_verify(loaded.plan, [], results, path, None)] == [GPU]
    assert [t.id for t in select_for_verify(loaded.plan, ["all"], results, path, None)] == [
        t.id for t in loaded.plan.targets]
    with pytest.raises(ConfigError, match="--image needs --target"):
        select_for_verify(loaded.plan, [], None, path, "my/img")
    with pytest.raises(ConfigError, match="--image runs one image"):
        select_for_verify(loaded.plan, ["all"], results, path, "my/img")
    other = write_results(tmp_path / "o.json", {"gone-py311": ("t", DIGEST)})
    with pytest.raises(ConfigError, match="none of its targets is in the plan"):
        select_for_verify(loaded.plan, [], load_results(other), other, None)


def test_a_missing_results_file_is_an_error_unless_an_image_is_named(tmp_path: Path) -> None:
    default = tmp_path / ".bakery" / "results.json"
    assert verify_results(None, default, image="my/img") == (default, None)
    with pytest.raises(ConfigError, match="no build results"):
        verify_results(None, default, image=None)
    with pytest.raises(ConfigError, match="no build results"):
        verify_results(tmp_path / "named.json", default, image="my/img")
