"""Bad command-line input and environment: one line, exit 2, saying what is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bakery.cli.common import docker_call
from bakery.errors import ConfigError
from tests.faults.conftest import one_line_error
from tests.support.cli import MINIMAL_MATRIX, run_cli

REF_RULES = MINIMAL_MATRIX.replace(
    '{ type = "sha" }', '{ type = "sha" }, { type = "ref", event = "branch" }'
)


@pytest.fixture
def matrix(tmp_path: Path) -> Path:
    path = tmp_path / "matrix.toml"
    path.write_text(REF_RULES, encoding="utf-8")
    return path


def _release_tags(capsys: pytest.CaptureFixture[str], matrix: Path, ref: str) -> list[str]:
    done = run_cli(capsys, "plan", "--matrix", str(matrix), "--format", "json", "--ref", ref,
                   "--sha", "0" * 40)
    assert done.code == 0, done.err
    return [tag for t in json.loads(done.out)["targets"] for tag in t["tags"]["release"]]


def test_a_long_branch_name_becomes_a_tag_of_at_most_128_characters(
    matrix: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tags = _release_tags(capsys, matrix, "refs/heads/" + "a" * 200)
    branch_tags = [t.split(":", 1)[1] for t in tags if t.split(":", 1)[1].startswith("a")]
    assert branch_tags and all(len(tag) <= 128 for tag in branch_tags)


def test_a_branch_name_is_sanitized_like_metadata_action(
    matrix: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tags = _release_tags(capsys, matrix, "refs/heads/über/feature")
    assert "acme/edge_cpu:ber-feature" in tags


def test_a_branch_that_cannot_become_a_tag_names_the_ref(
    matrix: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    done = run_cli(capsys, "plan", "--matrix", str(matrix), "--ref", "refs/heads/日本",
                   "--sha", "0" * 40)
    line = one_line_error(done.code, done.err)
    assert "release.rules (for git ref 'refs/heads/日本')" in line


def test_fail_fast_takes_no_jobs(matrix: Path, capsys: pytest.CaptureFixture[str]) -> None:
    done = run_cli(capsys, "bake", "--matrix", str(matrix), "--fail-fast", "--jobs", "2")
    assert one_line_error(done.code, done.err) == (
        "bakery: error: --fail-fast runs one bake for every target; it takes no --jobs"
    )


def test_bakery_docker_that_cannot_run(tmp_path: Path) -> None:
    plain = tmp_path / "docker"
    plain.write_text("#!/bin/sh\n")
    with pytest.raises(ConfigError, match=r"BAKERY_DOCKER: '.*/docker' is not an executable"):
        docker_call({"BAKERY_DOCKER": str(plain)})
    with pytest.raises(ConfigError, match=r"BAKERY_DOCKER: '.*/missing' does not exist"):
        docker_call({"BAKERY_DOCKER": str(tmp_path / "missing")})
    with pytest.raises(ConfigError, match=r"BAKERY_DOCKER: '.*' is not an executable"):
        docker_call({"BAKERY_DOCKER": str(tmp_path)})
    assert docker_call({"BAKERY_DOCKER": "docker --context x"}) == ["docker", "--context", "x"]


@pytest.mark.parametrize("option", ["--matrix", "--results"])
def test_a_fifo_is_refused_not_waited_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    import os

    matrix = tmp_path / "matrix.toml"
    matrix.write_text(MINIMAL_MATRIX, encoding="utf-8")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    args = ["--matrix", str(fifo)] if option == "--matrix" else [
        "--matrix", str(matrix), "--results", str(fifo)]
    done = run_cli(capsys, "release", "--dry-run", *args)
    assert one_line_error(done.code, done.err) == (
        f"bakery: error: {fifo}: is a FIFO, not a regular file"
        f" (the {'matrix file' if option == '--matrix' else 'build results'})"
    )


def test_a_malformed_digest_in_the_results_is_reported_as_such(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.release.data import entry, results_doc

    matrix = tmp_path / "matrix.toml"
    matrix.write_text(MINIMAL_MATRIX, encoding="utf-8")
    doc = results_doc([entry("edge_cpu-py313", digest="sha256:not-a-digest")])
    results = tmp_path / "results.json"
    results.write_text(json.dumps(doc), encoding="utf-8")
    done = run_cli(capsys, "release", "--dry-run", "--matrix", str(matrix),
                   "--results", str(results))
    line = one_line_error(done.code, done.err)
    assert line.startswith(f"bakery: error: {results}: targets.0.digest: String should match")


@pytest.mark.parametrize("ref", ["refs/heads/main", "refs/tags/v1.2.3", "refs/pull/1/merge"])
@pytest.mark.parametrize("field", ["legacy_tags", "dind_tags"])
def test_an_invalid_floating_name_fails_every_plan_not_only_a_release(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        ref: str, field: str) -> None:
    """`ACME/Edge:latest` moves only with a final release, but is wrong on any ref."""
    monkeypatch.setenv("GITHUB_REF", ref)
    text = MINIMAL_MATRIX.replace(f'{field} = ["acme/edge', f'{field} = ["ACME/Edge:latest", "acme/edge')
    matrix = tmp_path / "matrix.toml"
    matrix.write_text(text, encoding="utf-8")
    done = run_cli(capsys, "plan", "--matrix", str(matrix))
    line = one_line_error(done.code, done.err)
    assert f"images.edge_cpu.{field}[0]: " in line and "'ACME/Edge:latest'" in line, line


@pytest.mark.parametrize("script,message", [
    ("exec sleep 30", "`{uv} python list` did not answer within 0.5s"),
    ("echo '<html>'", "`{uv} python list` printed something other than its JSON list"),
    ("echo '{\"a\": 1}'", "`{uv} python list` printed something other than its JSON list"),
])
def test_a_uv_that_misbehaves_is_named(tmp_path: Path, allow_subprocess: None, script: str,
                                       message: str) -> None:
    from bakery.errors import BakeryError
    from bakery.outdated.collect import newest_pythons

    uv = tmp_path / "uv"
    uv.write_text(f"#!/bin/sh\n{script}\n")
    uv.chmod(0o755)
    with pytest.raises(BakeryError) as info:
        newest_pythons(str(uv), timeout=0.5)
    assert str(info.value).startswith(message.format(uv=uv)), str(info.value)
    assert info.value.exit_code == 1
