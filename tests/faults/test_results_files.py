"""A results file with numbers that are not numbers (NaN, Infinity, negative sizes and
durations) or nested without end, read by `bakery summary`, `bakery verify` and `bakery
release`: one line naming the file and the key path, exit 2 (a file the user gave), nothing
written; never a traceback, never a verdict judged on a damaged number."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.faults.conftest import one_line_error, snapshot
from tests.support.cli import MINIMAL_MATRIX, run_cli

DIGEST = "sha256:" + "a" * 64


def _valid() -> dict[str, Any]:
    verify = {"ok": True, "image": f"acme/edge_cpu-staging@{DIGEST}", "digest": DIGEST,
              "verified_at": "2026-11-28T10:10:00Z", "mismatches": [], "probe": {},
              "compressed_size": 1000, "size": 5000, "update_cost": 100}
    return {
        "schema_version": 1, "bakery_version": "0.1.0", "matrix": "matrix.toml",
        "bake_file": "docker-bake.hcl", "builder": None, "output": "push",
        "fail_fast": False, "jobs": 1,
        "git": {"ref": "refs/heads/main", "sha": "0" * 40, "source": "env"},
        "started_at": "2026-11-28T10:00:00Z", "duration_s": 20.0, "ok": True,
        "targets": [{"id": "edge_cpu-py313", "status": "ok", "platform": "linux/amd64",
                     "digest": DIGEST, "tags": ["acme/edge_cpu-staging:3.13"],
                     "duration_s": 10.0, "started_at": "2026-11-28T10:00:00Z", "error": None,
                     "command": [], "build_ref": None, "log_file": None, "verify": verify}],
    }


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        node: Any = doc
        keys = path.split(".")
        for key in keys[:-1]:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[keys[-1]] = value
    return change


NAN = float("nan")
# name -> (change, the key path the error names, its text is written as JSON with NaN allowed)
CASES: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "duration-nan": (_set("duration_s", NAN), "not valid JSON (NaN is not a JSON number)"),
    "duration-infinity": (_set("duration_s", float("inf")),
                          "not valid JSON (Infinity is not a JSON number)"),
    "duration-negative": (_set("duration_s", -1.0), "duration_s: Input should be greater"),
    "target-duration-nan": (_set("targets.0.duration_s", NAN), "NaN is not a JSON number"),
    "target-duration-negative": (_set("targets.0.duration_s", -3.5),
                                 "targets.0.duration_s: Input should be greater"),
    "compressed-negative": (_set("targets.0.verify.compressed_size", -5),
                            "targets.0.verify.compressed_size: Input should be greater"),
    "size-negative": (_set("targets.0.verify.size", -1),
                      "targets.0.verify.size: Input should be greater"),
    "update-cost-negative": (_set("targets.0.verify.update_cost", -100),
                             "targets.0.verify.update_cost: Input should be greater"),
    "size-string": (_set("targets.0.verify.compressed_size", "big"),
                    "targets.0.verify.compressed_size: Input should be a valid integer"),
    "size-true": (_set("targets.0.verify.compressed_size", True),
                  "targets.0.verify.compressed_size: Input should be a valid integer"),
    "jobs-zero": (_set("jobs", 0), "jobs: Input should be greater than or equal to 1"),
    "deep-probe": (_set("targets.0.verify.probe", json.loads("[" * 200 + "]" * 200)),
                   "nested 204 deep, more than the 64"),
}

COMMANDS = {
    "summary": ("summary", "--ref", "refs/heads/main"),
    "verify": ("verify",),
    "release": ("release", "--dry-run"),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_damaged_results_file_is_one_line_naming_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, command: str) -> None:
    work = tmp_path / "project"
    work.mkdir()
    matrix = work / "matrix.toml"
    matrix.write_text(MINIMAL_MATRIX, encoding="utf-8")
    doc = _valid()
    change, reason = CASES[case]
    change(doc)
    results = work / "results.json"
    results.write_text(json.dumps(doc, allow_nan=True), encoding="utf-8")
    before = snapshot(work)
    done = run_cli(capsys, *COMMANDS[command], "--results", str(results),
                   "--matrix", str(matrix))
    line = one_line_error(done.code, done.err)
    assert line.startswith(f"bakery: error: {results}: "), line
    assert reason in line, line
    assert snapshot(work) == before
