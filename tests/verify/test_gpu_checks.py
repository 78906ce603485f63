"""The GPU checks (bakery/verify/gpuprobe.py) judged against recorded reports (no GPU here)."""

from __future__ import annotations

from typing import Any

import pytest

from bakery.verify import gpuprobe
from tests.verify.gpu_reports import GOOD_GPU, GPU_FAILURES, gpu_report

BOTH = ["tensorrt", "bitsandbytes"]


def failed(report: dict[str, Any], wanted: list[str]) -> dict[str, str | None]:
    return {name: found for name, _, found, ok in gpuprobe.judge(report, wanted) if not ok}


def test_a_working_gpu_passes_and_says_which_device_driver_and_capability() -> None:
    checks = gpuprobe.judge(GOOD_GPU, BOTH)
    assert [(name, ok) for name, _, _, ok in checks] == [
        ("gpu device", True), ("gpu cudnn", True), ("gpu conv2d", True), ("gpu matmul", True),
        ("gpu tensorrt", True), ("gpu bitsandbytes", True)]
    assert checks[0][2] == ("NVIDIA A10G (compute capability 8.6), driver 570.133.20,"
                            " CUDA 12.8")
    assert checks[1][2] == "ok: 91002"  # the cuDNN version torch loaded


@pytest.mark.parametrize("case", GPU_FAILURES, ids=list(GPU_FAILURES))
def test_each_failure_fails_its_own_check_only(case: str) -> None:
    report, check, found = GPU_FAILURES[case]
    assert failed(report, BOTH) == {check: found}


def test_tensorrt_and_bitsandbytes_are_checked_only_where_their_feature_is_on() -> None:
    report = gpu_report(tensorrt=None, bitsandbytes=None)
    del report["checks"]["tensorrt"], report["checks"]["bitsandbytes"]
    assert failed(report, []) == {}
    # on, but the probe did not report them: a failure, not a pass
    assert failed(report, BOTH) == {"gpu tensorrt": None, "gpu bitsandbytes": None}


def test_every_check_is_python_the_image_can_run() -> None:
    for name, code in gpuprobe.CODE.items():
        compile(gpuprobe._PRELUDE + code + gpuprobe._EPILOGUE, f"<gpu check {name}>", "exec")


def test_a_check_runs_in_a_child_and_reports_why_it_failed(allow_subprocess: None) -> None:
    """Without torch (this host), each check answers with the import error, from a child."""
    try:
        import torch  # type: ignore[import-not-found,unused-ignore]  # noqa: F401
    except ImportError:
        assert gpuprobe.run_check("cudnn") == "ModuleNotFoundError: No module named 'torch'"
    else:  # pragma: no cover - a host with torch
        pytest.skip("torch is installed here: the check would really run")
