"""What verify expects of a target, and how it judges a probe report (pure)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bakery.matrix import parse_matrix
from bakery.plan import expand
from bakery.plan.target import Target
from bakery.tags.git import GitContext
from bakery.verify.compare import compare, expectations, expected_cuda
from tests.verify.matrix import STANDIN_MATRIX, TARGET

GOOD: dict[str, Any] = {
    "probe_version": 1, "arch": "x86_64", "python": "3.11.2",
    "packages": {"torch": "2.9.1+cpu", "torchvision": "0.24.1+cpu", "torchaudio": "2.9.1+cpu",
                 "transformers": "4.57.1", "tokenizers": "0.22.1", "bitsandbytes": "0.48.2",
                 "tensorrt-cu12-bindings": None},
    "torch_cuda": None,
    "tools": {"ffmpeg": "7.1.5", "node": "22.23.3", "npm": "10.9.9",
              "docker": "20.10.24+dfsg1", "dockerd": "20.10.24+dfsg1", "ngrok": "3.30.0",
              "uv": "0.9.11"},
    "uv_pip_check": {"ok": True, "output": "All installed packages are compatible"},
    "errors": {},
}


@pytest.fixture(scope="module")
def target() -> tuple[Target, Any]:
    matrix = parse_matrix(STANDIN_MATRIX, source="matrix.toml")
    plan = expand(matrix, git=GitContext(), source="matrix.toml")
    return plan.target(TARGET), matrix


def failures(target: tuple[Target, Any], probe: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    checks = compare(expectations(*target), probe)
    return {c.name: (c.expected, c.found) for c in checks if not c.ok}


def changed(**edits: Any) -> dict[str, Any]:
    probe = copy.deepcopy(GOOD)
    for path, value in edits.items():
        node = probe
        *parents, last = path.split("__")
        for part in parents:
            node = node[part]
        node[last.replace("_dash_", "-")] = value
    return probe


def test_a_matching_report_passes_every_check(target: tuple[Target, Any]) -> None:
    checks = compare(expectations(*target), GOOD)
    assert [c.name for c in checks] == [
        "python", "arch", "torch", "torchvision", "torchaudio", "transformers", "tokenizers",
        "torch cuda", "bitsandbytes", "tensorrt-cu12-bindings", "ffmpeg", "node", "npm",
        "docker", "dockerd", "ngrok", "uv", "uv pip check"]
    assert all(c.ok for c in checks)


@pytest.mark.parametrize(("probe", "expected"), [
    (changed(packages__torch="2.9.1+cu128"), {"torch": ("2.9.1+cpu", "2.9.1+cu128")}),
    (changed(packages__torch="2.9.1"), {"torch": ("2.9.1+cpu", "2.9.1")}),
    (changed(python="3.12.12"), {"python": ("3.11.2", "3.12.12")}),
    (changed(arch="aarch64"), {"arch": ("x86_64", "aarch64")}),
    (changed(torch_cuda="12.8"), {"torch cuda": ("none", "12.8")}),
    (changed(packages__bitsandbytes=None), {"bitsandbytes": ("0.48.2", None)}),
    (changed(packages__tensorrt_dash_cu12_dash_bindings="10.13.3.9"),
     {"tensorrt-cu12-bindings": ("absent", "10.13.3.9")}),
    (changed(tools__ngrok=None), {"ngrok": ("3.30.0", None)}),
    (changed(tools__dockerd="28.5.2"), {"dockerd": ("20.10.24+dfsg1", "28.5.2")}),
    (changed(uv_pip_check={"ok": False, "output": "torchvision requires torch==2.9.0"}),
     {"uv pip check": ("ok", "failed: torchvision requires torch==2.9.0")}),
    (changed(uv_pip_check=None, tools__uv=None),
     {"uv": ("0.9.11", None), "uv pip check": ("ok", None)}),
    (changed(errors={"torch_cuda": "ImportError: libcudart.so.12"}),
     {"torch cuda": ("none", "import torch failed: ImportError: libcudart.so.12")}),
])
def test_each_difference_is_named(
    target: tuple[Target, Any], probe: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert failures(target, probe) == expected


@pytest.mark.parametrize(("torch", "arch", "cuda"), [
    ("2.9.1+cu128", "amd64", "12.8"), ("2.6.0+cu124", "amd64", "12.4"),
    ("2.9.1+cpu", "amd64", "none"), ("2.9.1", "arm64", "none"), ("2.9.1", "amd64", None),
])
def test_cuda_comes_from_the_local_tag(torch: str, arch: str, cuda: str | None) -> None:
    assert expected_cuda(torch, arch) == cuda
