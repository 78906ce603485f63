"""The bake file: HCL escaping, determinism, agreement with the plan, --check."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bakery.project import load_plan
from bakery.render import render_bake_file
from bakery.render.hcl import hcl_string
from tests import bakehcl
from tests.support.cli import MINIMAL_MATRIX, run_cli
from tests.support.repo import ROOT


def _parser_can_read(value: str) -> bool:
    # python-hcl2 (8.x) rejects an escaped `${`/`%{` whose braces do not close later in the
    # string ("%%{" alone), which HCL itself and buildx accept; those exact strings are pinned
    # by test_hcl_escapes_interpolation instead.
    for opener in ("${", "%{"):
        at = value.find(opener)
        while at != -1:
            if "}" not in value[at + 2:]:
                return False
            at = value.find(opener, at + 2)
    return True


@given(st.text(max_size=60).filter(_parser_can_read))
def test_hcl_strings_round_trip(value: str) -> None:
    text = f'target "t" {{\n  labels = {{ "k" = {hcl_string(value)} }}\n}}\n'
    assert bakehcl.parse(text)["target"]["t"]["labels"]["k"] == value


@pytest.mark.parametrize(("value", "escaped"), [
    ("${HOME}", '"$${HOME}"'), ("%{if x}", '"%%{if x}"'), ("%{", '"%%{"'), ("a${", '"a$${"'), ('say "hi"', '"say \\"hi\\""'),
    ("a\\b", '"a\\\\b"'), ("line\nnext", '"line\\nnext"'), ("$HOME", '"$HOME"'),
])
def test_hcl_escapes_interpolation(value: str, escaped: str) -> None:
    assert hcl_string(value) == escaped


def plan_json(capsys: pytest.CaptureFixture[str], matrix: Path) -> dict[str, object]:
    result = run_cli(capsys, "plan", "--format", "json", "--matrix", str(matrix), "--ref",
                     "refs/tags/v1.0.0", "--sha", "0" * 40)
    assert result.code == 0, result.err
    doc: dict[str, object] = json.loads(result.out)
    return doc


def assert_bake_matches_plan(bake_text: str, plan: dict[str, object]) -> None:
    resolved = bakehcl.resolve(bake_text)
    groups = {k: v["targets"] for k, v in bakehcl.parse(bake_text)["group"].items()}
    targets = plan["targets"]
    assert isinstance(targets, list)
    image_ids = {t["id"] for t in targets}
    stage_ids = {s["id"] for s in plan["stages"]}  # type: ignore[attr-defined]
    assert set(resolved) == image_ids | stage_ids
    for target in targets:
        bake = resolved[target["id"]]
        # candidates only: nothing a user pulls is written by bake --push. The plan's
        # candidate carries the commit (`-0000000`, this plan's --sha), the committed file
        # does not: bake names it with --set
        assert [t + "-0000000" for t in bake["tags"]] == [target["candidate"]], target["id"]
        assert target["candidate"] not in target["tags"]["primary"]
        parent = next((t for t in targets if t["id"] == target["derived_from"]), None)
        if parent is None:
            assert bake["args"] == target["args"], target["id"]
        else:  # a derived variant gets only the args in which it differs from its image
            assert bake["args"] == {k: v for k, v in target["args"].items()
                                    if parent["args"].get(k) != v}, target["id"]
        assert bake["platforms"] == [target["platform"]]
        assert bake["context"] == target["context"]
        assert bake["dockerfile"] == target["dockerfile"]
        assert bake["labels"] == target["labels"]
        assert bake.get("contexts", {}) == target["contexts"]
        assert bake.get("cache-from", []) == target["cache_from"]
        assert bake.get("cache-to", []) == target["cache_to"]
        assert bake.get("attest", []) == target["attest"]
    for stage in plan["stages"]:  # type: ignore[attr-defined]
        bake = resolved[stage["id"]]
        assert (bake["dockerfile"], bake["target"], bake["args"], bake["platforms"]) == (
            stage["dockerfile"], stage["target"], stage["args"], [stage["platform"]])
    assert groups == plan["groups"]


def test_shipped_bake_file_matches_the_plan(capsys: pytest.CaptureFixture[str]) -> None:
    plan = plan_json(capsys, ROOT / "matrix.toml")
    assert_bake_matches_plan((ROOT / "docker-bake.hcl").read_text(), plan)


def test_shipped_bake_file_is_up_to_date(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "render", "--check", "--matrix", str(ROOT / "matrix.toml"))
    assert result.code == 0, result.err


TRICKY = MINIMAL_MATRIX + """
[labels]
"org.opencontainers.image.description" = "costs ${PRICE} and %{if} \\"quoted\\" \\\\ end"

[stages.python]
dockerfile = "images/shared/Dockerfile"
target = "python"
args = ["PYTHON_VERSION", "UV_VERSION"]

[artifacts.node]
version = "20.19.5"
sha256.amd64 = "0000000000000000000000000000000000000000000000000000000000000000"
"""


def test_a_user_matrix_with_stages_and_interpolation_renders_exactly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    matrix = tmp_path / "matrix.toml"
    matrix.write_text(TRICKY)
    (tmp_path / "docker-bake.hcl.j2").write_text((ROOT / "docker-bake.hcl.j2").read_text())
    result = run_cli(capsys, "render", "--matrix", str(matrix))
    assert result.code == 0, result.err
    bake_text = (tmp_path / "docker-bake.hcl").read_text()
    assert "$${PRICE}" in bake_text and "%%{if}" in bake_text
    plan = plan_json(capsys, matrix)
    assert len(plan["stages"]) == 2  # type: ignore[arg-type]  # one per python version
    assert_bake_matches_plan(bake_text, plan)


def test_dind_variant_is_built_from_its_image_target(capsys: pytest.CaptureFixture[str]) -> None:
    parsed = bakehcl.parse((ROOT / "docker-bake.hcl").read_text())["target"]
    dind = parsed["base_edge_node_amd64_gpu-py313-dind"]
    assert dind["contexts"] == {"image": "target:base_edge_node_amd64_gpu-py313"}
    assert dind["dockerfile"] == "images/shared/Dockerfile.dind"
    assert dind["args"] == {"EE_DD_DEFAULT": "true"}
    assert "inherits" not in dind and "cache-to" not in dind and "cache-from" not in dind


def test_render_is_deterministic() -> None:
    loaded = load_plan(ROOT / "matrix.toml", use_git=False, env={})
    template = ROOT / "docker-bake.hcl.j2"
    assert render_bake_file(loaded.plan, template) == render_bake_file(loaded.plan, template)


def test_check_on_a_stale_file_exits_1_with_a_diff_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    matrix = tmp_path / "matrix.toml"
    matrix.write_text(MINIMAL_MATRIX)
    (tmp_path / "docker-bake.hcl.j2").write_text((ROOT / "docker-bake.hcl.j2").read_text())
    assert run_cli(capsys, "render", "--matrix", str(matrix)).code == 0
    matrix.write_text(MINIMAL_MATRIX.replace('transformers = "4.57.1"', 'transformers = "4.58.0"'))
    bake = tmp_path / "docker-bake.hcl"
    before = bake.read_bytes()
    result = run_cli(capsys, "render", "--check", "--matrix", str(matrix))
    assert result.code == 1
    assert "is stale; run `bakery render`" in result.err
    assert '-    TRANSFORMERS_VERSION = "4.57.1"' in result.err
    assert '+    TRANSFORMERS_VERSION = "4.58.0"' in result.err
    assert bake.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "docker-bake.hcl", "docker-bake.hcl.j2", "matrix.toml"]


def test_a_failing_render_leaves_the_old_file(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    matrix = tmp_path / "matrix.toml"
    matrix.write_text(MINIMAL_MATRIX)
    (tmp_path / "docker-bake.hcl.j2").write_text("{{ header }}\n{{ no_such_value }}\n")
    (tmp_path / "docker-bake.hcl").write_text("old\n")
    result = run_cli(capsys, "render", "--matrix", str(matrix))
    assert result.code == 2
    assert "'no_such_value' is undefined" in result.err
    assert (tmp_path / "docker-bake.hcl").read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "docker-bake.hcl", "docker-bake.hcl.j2", "matrix.toml"]


def test_bad_matrix_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    matrix = tmp_path / "matrix.toml"
    matrix.write_text(MINIMAL_MATRIX.replace('arch = "amd64"', 'arch = "x86"', 1))
    (tmp_path / "docker-bake.hcl.j2").write_text((ROOT / "docker-bake.hcl.j2").read_text())
    assert run_cli(capsys, "render", "--matrix", str(matrix)).code == 2
    assert not (tmp_path / "docker-bake.hcl").exists()


def test_render_reports_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    matrix = tmp_path / "matrix.toml"
    matrix.write_text(MINIMAL_MATRIX, encoding="utf-8")
    shutil.copy(ROOT / "docker-bake.hcl.j2", tmp_path / "docker-bake.hcl.j2")
    wrote = run_cli(capsys, "render", "--format", "json", "--matrix", str(matrix))
    assert wrote.code == 0, wrote.err
    report = json.loads(wrote.out)
    assert report == {"schema_version": 1, "file": str(tmp_path / "docker-bake.hcl"),
                      "check": False, "written": True, "up_to_date": True,
                      "targets": report["targets"], "stages": report["stages"]}
    assert report["targets"] > 0 and (tmp_path / "docker-bake.hcl").is_file()
    checked = json.loads(run_cli(capsys, "render", "--check", "-f", "json", "--matrix",
                                 str(matrix)).out)
    assert (checked["check"], checked["written"], checked["up_to_date"]) == (True, False, True)
