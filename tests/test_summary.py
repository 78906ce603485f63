"""`bakery summary`: the build results as one Markdown table for a CI job summary."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bakery.bake.results import BuildError, Mismatch, Results, TargetResult, VerifyRecord
from bakery.plan.target import GitInfo
from bakery.sizes import human_bytes
from bakery.views.markdown import cell, results_markdown
from tests.support.cli import run_cli
from tests.support.repo import ROOT

T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
DIGEST = "sha256:" + "ab" * 32


def doc(*targets: TargetResult) -> Results:
    return Results(
        bakery_version="0.1.0", matrix="matrix.toml", bake_file="docker-bake.hcl", builder=None,
        output="push", fail_fast=False, jobs=1, git=GitInfo(ref=None, sha=None, source="none"),
        started_at=T0, duration_s=1.0, ok=False, targets=targets,
    )


def table_rows(text: str) -> list[list[str]]:
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    return [[c.strip() for c in row.strip("|").split(" | ")] for row in rows[1:]]


def test_one_row_per_target_with_status_digest_verdict_and_duration() -> None:
    text = results_markdown([
        doc(TargetResult(id="gpu", status="ok", digest=DIGEST, duration_s=842.0,
                         tags=("acme/gpu-staging:t",),
                         verify=VerifyRecord(ok=True, image="x", digest=DIGEST,
                                             verified_at=T0, compressed_size=4_180_000_000,
                                             update_cost=310_000_000))),
        doc(TargetResult(id="cpu", status="failed", duration_s=3.0,
                         error=BuildError(step="[python 2/4] RUN uv pip", message="exit code: 1",
                                          log_tail=("no wheel for torch",)))),
    ], {}, title="bakery: builds of refs/heads/main")
    assert text.startswith("### bakery: builds of refs/heads/main\n")
    assert table_rows(text) == [
        ["`gpu`", "ok", "`sha256:abababababab`", "passed", "4.18 GB", "310.00 MB", "14m02s",
         "`acme/gpu-staging:t`"],
        ["`cpu`", "**failed**", "-", "not verified", "-", "-", "3s", "-"],
    ]
    assert "**cpu** failed at `[python 2/4] RUN uv pip`: exit code: 1" in text
    assert "no wheel for torch" in text


def test_a_failed_verify_names_its_mismatches() -> None:
    record = VerifyRecord(ok=False, image="x", digest=DIGEST, verified_at=T0, mismatches=(
        Mismatch(check="torch", expected="2.9.1", found="2.9.0"),
        Mismatch(check="module tensorrt", expected="imports", found=None)))
    text = results_markdown([doc(TargetResult(id="a", status="ok", digest=DIGEST,
                                              verify=record))], {}, title="t")
    assert ("**failed**: torch: expected 2.9.1, found 2.9.0; module tensorrt: expected"
            " imports, found nothing") in text


def test_cells_cannot_break_the_table() -> None:
    assert cell("a|b\nc") == "a\\|b c"
    text = results_markdown([doc(TargetResult(
        id="a", status="failed", error=BuildError(step=None, message="x | y",
                                                  log_tail=("```", "z"))))], {}, title="t")
    assert len(table_rows(text)[0]) == 8
    assert "x \\| y" in text
    assert text.count("```") == 2  # the log's own fence is defused


@pytest.mark.parametrize(("size", "shown"), [(None, "-"), (999, "999 B"), (4_180_000_000,
                                                                          "4.18 GB")])
def test_sizes_are_human(size: int | None, shown: str) -> None:
    assert human_bytes(size) == shown


def test_the_command_names_the_public_names_of_each_target(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """With the shipped matrix: the names a target gets on promotion for the given ref."""
    target = "base_edge_node_amd64_cpu-py313"
    results = tmp_path / "results.json"
    results.write_text(doc(TargetResult(id=target, status="ok", digest=DIGEST,
                                        duration_s=5.0)).model_dump_json())
    out = run_cli(capsys, "summary", "--results", str(results), "--ref", "refs/tags/v1.3.0",
                  "--sha", "0123456789abcdef0123456789abcdef01234567",
                  "--matrix", str(ROOT / "matrix.toml"))
    assert out.code == 0, out.err
    assert out.out.startswith("### bakery: builds of refs/tags/v1.3.0 @ 0123456\n")
    names = table_rows(out.out)[0][-1].split("<br>")
    assert "`ratio1/base_edge_node_amd64_cpu:1.3.0`" in names
    assert "`ratio1/base_edge_node_amd64_cpu:latest`" in names


def test_a_missing_results_file_is_one_line(capsys: pytest.CaptureFixture[str],
                                            tmp_path: Path) -> None:
    out = run_cli(capsys, "summary", "--results", str(tmp_path / "none.json"),
                  "--ref", "refs/heads/main", "--matrix", str(ROOT / "matrix.toml"))
    assert out.code == 2
    assert out.err.startswith("bakery: error: ")
    assert len(out.err.splitlines()) == 1
    assert out.out == ""


def test_json_has_the_table_with_real_booleans_and_numbers(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = "base_edge_node_amd64_cpu-py313"
    record = VerifyRecord(ok=False, image="x", digest=DIGEST, verified_at=T0,
                          compressed_size=4_180_000_000, mismatches=(
                              Mismatch(check="torch", expected="2.9.1", found="2.9.0"),))
    results = tmp_path / "results.json"
    results.write_text(doc(
        TargetResult(id=target, status="ok", digest=DIGEST, duration_s=5.0, verify=record),
        TargetResult(id="gone", status="failed", error=BuildError(
            step="RUN uv", message="exit code: 1", log_tail=("no wheel",))),
    ).model_dump_json())
    out = run_cli(capsys, "summary", "--format", "json", "--results", str(results),
                  "--ref", "refs/tags/v1.3.0", "--sha", "0123456789abcdef0123456789abcdef01234567",
                  "--matrix", str(ROOT / "matrix.toml"))
    assert out.code == 0, out.err
    summary = json.loads(out.out)
    assert summary["schema_version"] == 1
    cpu, gone = summary["targets"]
    assert (cpu["id"], cpu["ok"], cpu["verified"], cpu["compressed_size"], cpu["duration_s"]) == (
        target, True, False, 4_180_000_000, 5.0)
    assert cpu["mismatches"] == [{"check": "torch", "expected": "2.9.1", "found": "2.9.0"}]
    assert "ratio1/base_edge_node_amd64_cpu:1.3.0" in cpu["names"]
    assert (gone["ok"], gone["verified"], gone["error"]) == (False, None, {
        "step": "RUN uv", "message": "exit code: 1", "log_tail": ["no wheel"]})
