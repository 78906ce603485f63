"""GPU reports as bakery/verify/gpuprobe.py prints them, recorded shapes of real outcomes: an
A10G runner where everything works, and each way a GPU image fails on a GPU (no GPU has run
them here: these are what the judgement is tested against)."""

from __future__ import annotations

import copy
from typing import Any

GOOD_GPU: dict[str, Any] = {
    "gpu_probe_version": 1,
    "driver": "570.133.20",
    "device": {"cuda_available": True, "torch_cuda": "12.8",
               "devices": [{"name": "NVIDIA A10G", "capability": "8.6"}]},
    "checks": {"cudnn": "ok: 91002", "conv2d": "ok", "matmul": "ok",
               "tensorrt": "ok: serialized engine of 15620 bytes", "bitsandbytes": "ok"},
}


def gpu_report(**checks: Any) -> dict[str, Any]:
    """GOOD_GPU with some checks' answers replaced (`device=` replaces the device)."""
    report = copy.deepcopy(GOOD_GPU)
    if "device" in checks:
        report["device"] = checks.pop("device")
    report["checks"].update(checks)
    return report


# each failure: (report, the check that fails, what it found)
GPU_FAILURES: dict[str, tuple[dict[str, Any], str, str]] = {
    "no device visible to torch (driver too old for cu128)": (
        gpu_report(device={"cuda_available": False, "torch_cuda": "12.8", "devices": []}),
        "gpu device", "torch.cuda.is_available() is False"),
    "torch itself does not import": (
        gpu_report(device="ImportError: libcudart.so.12: cannot open shared object file"),
        "gpu device", "ImportError: libcudart.so.12: cannot open shared object file"),
    "cuDNN missing (loaded lazily, import torch passes)": (
        gpu_report(cudnn="cuDNN is not available to torch"), "gpu cudnn",
        "cuDNN is not available to torch"),
    "cuDNN broken": (
        gpu_report(conv2d="RuntimeError: cuDNN error: CUDNN_STATUS_NOT_INITIALIZED"),
        "gpu conv2d", "RuntimeError: cuDNN error: CUDNN_STATUS_NOT_INITIALIZED"),
    "conv2d computes wrong": (
        gpu_report(conv2d="differs from the CPU result by 0.0412"), "gpu conv2d",
        "differs from the CPU result by 0.0412"),
    "no kernel for this GPU (Pascal dropped from cu128)": (
        gpu_report(matmul="RuntimeError: CUDA error: no kernel image is available for execution"
                          " on the device"),
        "gpu matmul", "RuntimeError: CUDA error: no kernel image is available for execution on"
        " the device"),
    "TensorRT runtime missing": (
        gpu_report(tensorrt="ImportError: libnvinfer.so.10: cannot open shared object file: No"
                            " such file or directory"),
        "gpu tensorrt", "ImportError: libnvinfer.so.10: cannot open shared object file: No such"
        " file or directory"),
    "TensorRT builds nothing": (
        gpu_report(tensorrt="build_serialized_network returned None"), "gpu tensorrt",
        "build_serialized_network returned None"),
    "bitsandbytes without its CUDA library": (
        gpu_report(bitsandbytes="RuntimeError: Configured CUDA binary not found at"
                                " libbitsandbytes_cuda128.so"),
        "gpu bitsandbytes", "RuntimeError: Configured CUDA binary not found at"
        " libbitsandbytes_cuda128.so"),
    "bitsandbytes crashes": (
        gpu_report(bitsandbytes="killed by signal 11"), "gpu bitsandbytes",
        "killed by signal 11"),
}
