"""One namespace makes every public name yours: the shipped matrix writes its legacy and
compatibility names with `{namespace}`, and the plan warns about any public name outside it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support.cli import MINIMAL_MATRIX, run_cli
from tests.support.repo import ROOT

SHA = "0123456789abcdef0123456789abcdef01234567"


def _fork(tmp_path: Path, namespace: str) -> Path:
    """A copy of the shipped matrix (with its locks) under another namespace."""
    for name in ("matrix.lock.json", "docker-bake.hcl.j2"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "locks", tmp_path / "locks")
    text = (ROOT / "matrix.toml").read_text(encoding="utf-8")
    assert 'namespace = "ratio1"\n' in text
    matrix = tmp_path / "matrix.toml"
    matrix.write_text(text.replace('namespace = "ratio1"\n', f'namespace = "{namespace}"\n'),
                      encoding="utf-8")
    return matrix


def _public_names(doc: dict[str, object]) -> list[str]:
    return [ref for target in doc["targets"]  # type: ignore[attr-defined]
            for kind in ("primary", "legacy", "compatibility", "release")
            for ref in target["tags"][kind]]


def test_a_fork_with_its_own_namespace_publishes_only_under_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    matrix = _fork(tmp_path, "localhost:5000/me")
    result = run_cli(capsys, "plan", "--format", "json", "--matrix", str(matrix),
                     "--ref", "refs/tags/v1.4.0", "--sha", SHA)
    assert result.code == 0, result.err
    assert result.err == ""  # no warning
    doc = json.loads(result.out)
    names = _public_names(doc)
    # the legacy and compatibility names moved too, not only the primary and release ones
    assert "localhost:5000/me/base_edge_node:x86_64-py3.13.9-th2.9.1.cu128-tr4.57.1" in names
    assert "localhost:5000/me/base_edge_node_dind:latest" in names
    assert all(name.startswith("localhost:5000/me/") for name in names), names
    assert all(t["candidate"].startswith("localhost:5000/me/") for t in doc["targets"])


def test_the_shipped_matrix_plans_without_a_warning(
        capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "plan", "--matrix", str(ROOT / "matrix.toml"),
                     "--ref", "refs/tags/v1.4.0", "--sha", SHA)
    assert result.code == 0, result.err
    assert "warning" not in result.err
    assert "ratio1/base_edge_node_dind:latest" in result.out


FOREIGN = MINIMAL_MATRIX + """\
legacy_tags = ["ratio1/base_edge_node:{machine}-{tag}", "{namespace}/edge:{tag}"]
dind_tags = ["ratio1/base_edge_node_dind:{machine}-{tag}", "docker.io/ratio1/x:{tag}-d"]

[images.edge_arm]
arch = "arm64"
accelerator = "cpu"
torch = { index = "pypi", torch = "2.9.1", torchvision = "0.24.1", torchaudio = "2.9.1" }
legacy_tags = ["ratio1/base_edge_node:{machine}-{tag}"]

[images.edge_own]
arch = "amd64"
accelerator = "cpu"
torch = { index = "pytorch-cpu", torch = "2.9.1+cpu", torchvision = "0.24.1+cpu", torchaudio = "2.9.1+cpu" }
legacy_tags = ["docker.io/acme/own:{machine}-{tag}"]

[multiarch.edge]
images = ["edge_own", "edge_arm"]
tags = ["ratio1/edge_multi:{tag}", "{namespace}/edge_multi:latest"]
"""


def test_a_hard_coded_foreign_repository_warns_once_per_image(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    matrix = tmp_path / "matrix.toml"
    matrix.write_text(FOREIGN, encoding="utf-8")
    result = run_cli(capsys, "plan", "--matrix", str(matrix), "--ref", "refs/heads/main",
                     "--sha", SHA)
    assert result.code == 0, result.err
    lines = result.err.splitlines()
    # edge_gpu (two targets), edge_arm and the multi-arch name; not edge_own
    assert len(lines) == 3, result.err
    cpu, arm, multi = lines
    assert cpu.startswith("bakery: warning: edge_gpu: publishes to ratio1/base_edge_node,"
                          " ratio1/base_edge_node_dind, ratio1/x, outside the"
                          " namespace 'acme'")
    assert arm.startswith("bakery: warning: edge_arm: publishes to ratio1/base_edge_node,")
    assert multi.startswith("bakery: warning: multiarch.edge: publishes to ratio1/edge_multi,"
                            " outside the namespace 'acme'")
    # the warning goes to stderr: what a program reads on stdout stays the plan
    json_run = run_cli(capsys, "plan", "--format", "json", "--matrix", str(matrix),
                       "--ref", "refs/heads/main", "--sha", SHA)
    json.loads(json_run.out)
    assert json_run.err.count("bakery: warning:") == 3
