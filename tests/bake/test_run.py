"""`run_bake` against an in-process engine: the loop, the checks before building and the
rules for the results file, without starting any process."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from bakery.bake.request import BakeRequest, OutputPaths, prepare_bake
from bakery.bake.results import load_results, results_json
from bakery.bake.run import record, run_bake
from bakery.docker.process import Launch, RunningProcess
from bakery.errors import ConfigError, MissingToolError
from bakery.views.bake import QuietView
from tests.support.locked import locked_project
from tests.support.repo import DEFAULT_IDS, GPU, ROOT


class _Build:
    """A finished `docker buildx bake`: a few lines, then its metadata file and exit code."""

    def __init__(self, metadata: Path | None, doc: dict[str, Any], code: int) -> None:
        self._metadata, self._doc, self._code = metadata, doc, code

    def lines(self) -> Iterator[str]:
        yield "#1 [internal] load build definition from Dockerfile"
        if self._metadata is not None:
            self._metadata.write_text(json.dumps(self._doc))

    def wait(self) -> int:
        return self._code

    def interrupt(self) -> None:
        return None

    def kill(self) -> None:
        return None


class Engine:
    """A build engine whose bakes succeed at once; `exported=False`: with no digest or image
    in their metadata. `problem`: the engine check fails with it."""

    def __init__(self, *, exported: bool = True, problem: str | None = None) -> None:
        self.exported = exported
        self.problem = problem
        self.started: list[Sequence[str]] = []

    def check(self, builder: str | None) -> None:
        if self.problem is not None:
            raise MissingToolError(self.problem)

    def prefix(self) -> tuple[str, ...]:
        return ("docker",)

    def launcher(self, cwd: Path) -> Launch:
        def launch(argv: Sequence[str]) -> RunningProcess:
            self.started.append(argv)
            metadata = cwd / argv[argv.index("--metadata-file") + 1]
            target = argv[-1]
            entry = ({"containerimage.digest": digest(target), "image.name": f"r/{target}:t"}
                     if self.exported else {"buildx.build.ref": "b/b0/x"})
            return _Build(metadata, {target: entry}, 0)

        return launch


def digest(target: str) -> str:
    return "sha256:" + hashlib.sha256(target.encode()).hexdigest()


@pytest.fixture(autouse=True)
def _git(monkeypatch: pytest.MonkeyPatch) -> None:
    """The git context as CI gives it, so no test asks git."""
    monkeypatch.setenv("GITHUB_REF", "refs/heads/main")
    monkeypatch.setenv("GITHUB_SHA", "0" * 40)


def request(tmp_path: Path, **changes: Any) -> BakeRequest:
    # a push publishes only fully locked targets: it bakes a locked copy of the shipped matrix
    matrix = (locked_project(tmp_path / "locked") if changes.get("output") == "push"
              else ROOT / "matrix.toml")
    return BakeRequest(matrix=matrix, results=tmp_path / "out" / "results.json",
                       **changes)


def bake(req: BakeRequest, engine: Engine) -> Any:
    with prepare_bake(req) as prepared:
        return run_bake(prepared, engine, QuietView())


def test_every_target_is_built_once_and_the_results_are_written(tmp_path: Path) -> None:
    engine = Engine()
    outcome = bake(request(tmp_path, output="push"), engine)
    assert [argv[-1] for argv in engine.started] == DEFAULT_IDS
    assert outcome.exit_code == 0 and outcome.written == tmp_path / "out" / "results.json"
    saved = load_results(outcome.written)
    assert [(r.id, r.status, r.digest) for r in saved.targets] == [
        (t, "ok", digest(t)) for t in DEFAULT_IDS]
    assert saved.output == "push" and saved.git == outcome.results.git


@pytest.mark.parametrize("output", ["push", "load"])
def test_a_push_or_load_that_exported_nothing_is_failed(tmp_path: Path, output: str) -> None:
    outcome = bake(request(tmp_path, output=output, targets=(GPU,)), Engine(exported=False))
    (result,) = outcome.results.targets
    assert result.status == "failed" and outcome.exit_code == 1
    assert result.error is not None
    assert "names no digest and no image" in result.error.message


def test_a_cache_only_build_needs_no_image(tmp_path: Path) -> None:
    outcome = bake(request(tmp_path, targets=(GPU,)), Engine(exported=False))
    assert [r.status for r in outcome.results.targets] == ["ok"]


def test_an_unreachable_engine_stops_before_anything_is_written(tmp_path: Path) -> None:
    engine = Engine(problem="the current buildx builder is not reachable")
    with pytest.raises(MissingToolError):
        bake(request(tmp_path), engine)
    assert engine.started == [] and not (tmp_path / "out").exists()


def test_a_results_path_that_is_a_directory_builds_nothing(tmp_path: Path) -> None:
    (tmp_path / "out" / "results.json").mkdir(parents=True)
    engine = Engine()
    with pytest.raises(ConfigError, match=r"results\.json: --results names a directory"):
        bake(request(tmp_path), engine)
    assert engine.started == []


@pytest.mark.parametrize("blocked", ["logs", "metadata"])
def test_a_file_where_a_directory_goes_builds_nothing(tmp_path: Path, blocked: str) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / blocked).write_text("")
    engine = Engine()
    with pytest.raises(ConfigError, match=f"out/{blocked}: not a directory"):
        bake(request(tmp_path), engine)
    assert engine.started == []


def test_an_unwritable_directory_builds_nothing(tmp_path: Path) -> None:
    engine = Engine()
    # /proc refuses new files to everyone, root included
    req = BakeRequest(matrix=ROOT / "matrix.toml", results=Path("/proc/self/results.json"))
    with pytest.raises(ConfigError, match="cannot write there"):
        bake(req, engine)
    assert engine.started == []


def test_a_run_that_built_nothing_keeps_the_previous_results(tmp_path: Path) -> None:
    first = bake(request(tmp_path, targets=(GPU,)), Engine())
    previous = first.written.read_text()
    skipped = first.results.model_copy(update={"targets": tuple(
        r.model_copy(update={"status": "skipped"}) for r in first.results.targets)})
    outcome = record(skipped, OutputPaths.beside(first.written))
    assert outcome.written is None and outcome.error is None
    assert outcome.note is not None and "left as it was" in outcome.note
    assert first.written.read_text() == previous
    # with no previous file, even such a run is recorded (it says what happened)
    fresh = OutputPaths.beside(tmp_path / "other" / "results.json")
    fresh.results.parent.mkdir()
    assert record(skipped, fresh).written == fresh.results
    assert fresh.results.read_text() == results_json(skipped)


def test_a_results_file_that_cannot_be_written_names_the_logs_and_metadata(
    tmp_path: Path
) -> None:
    outcome = bake(request(tmp_path, targets=(GPU,)), Engine())
    paths = OutputPaths.beside(tmp_path / "gone" / "results.json")  # its directory is missing
    failed = record(outcome.results, paths)
    assert failed.written is None and failed.error is not None
    assert f"each target's build log is in {paths.logs}" in failed.error
    assert f"its buildx metadata in {paths.metadata}" in failed.error
