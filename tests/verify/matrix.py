"""A matrix whose pins are what the stand-in images of tests/engine/standin.py hold."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

STANDIN_MATRIX = """\
schema_version = 1
namespace = "acme"

[python]
primary = "3.11.2"

[indexes]
pytorch-cpu = "https://download.pytorch.org/whl/cpu"

[versions]
transformers = "4.57.1"
tokenizers = "0.22.1"
docker = "20.10.24+dfsg1"

[artifacts.uv]
version = "0.9.11"
[artifacts.ffmpeg]
version = "7.1.5"
[artifacts.node]
version = "22.23.3"
[artifacts.npm]
version = "10.9.9"
[artifacts.ngrok]
version = "3.30.0"

[features.bitsandbytes]
package = "bitsandbytes"
version = "0.48.2"

[features.tensorrt]
package = "tensorrt-cu12-bindings"
version = "10.13.3.9"
gpu_only = true
module = "tensorrt"

[release]
rules = [{ type = "sha" }]

[images.edge_cpu]
arch = "amd64"
accelerator = "cpu"
aliases = ["cpu"]
torch = { index = "pytorch-cpu", torch = "2.9.1+cpu", torchvision = "0.24.1+cpu", torchaudio = "2.9.1+cpu" }
features = { bitsandbytes = "on" }
"""
TARGET = "edge_cpu-py311"

# STANDIN_MATRIX plus a CUDA image (tensorrt on, bitsandbytes off) and an arm64 one with PyPI's
# plain torch: several targets for the fake-docker tests of the command.
MULTI_MATRIX = STANDIN_MATRIX.replace(
    'pytorch-cpu = "https://download.pytorch.org/whl/cpu"',
    'pytorch-cpu = "https://download.pytorch.org/whl/cpu"\n'
    'pytorch-cu128 = "https://download.pytorch.org/whl/cu128"',
) + """
[images.edge_gpu]
arch = "amd64"
accelerator = "cuda"
aliases = ["gpu"]
torch = { index = "pytorch-cu128", torch = "2.9.1+cu128", torchvision = "0.24.1+cu128", \
torchaudio = "2.9.1+cu128" }
features = { tensorrt = "on", bitsandbytes = "off" }

[images.edge_arm]
arch = "arm64"
accelerator = "cpu"
torch = { torch = "2.9.1", torchvision = "0.24.1", torchaudio = "2.9.1" }
"""
GPU = "edge_gpu-py311"
ARM = "edge_arm-py311"


def write_matrix(directory: Path, text: str = STANDIN_MATRIX) -> Path:
    path = directory / "matrix.toml"
    path.write_text(text)
    return path


def write_results(
    path: Path, targets: dict[str, tuple[str, str | None]], output: str = "push",
    status: dict[str, str] | None = None, platform: dict[str, str] | None = None,
) -> Path:
    """A bake results file: target id -> (pushed tag, digest); ok unless `status` says."""
    status = status or {}
    platform = platform or {}
    doc = {
        "schema_version": 1, "bakery_version": "0.1.0", "matrix": "matrix.toml",
        "bake_file": "docker-bake.hcl", "builder": None, "output": output, "fail_fast": False,
        "jobs": 1, "git": {"ref": "refs/heads/main", "sha": "0" * 40, "source": "cli"},
        "started_at": "2026-11-28T10:00:00Z", "duration_s": 1.0, "ok": True,
        "targets": [
            {"id": target, "status": status.get(target, "ok"),
             "platform": platform.get(target, "linux/amd64"), "digest": digest,
             "tags": [tag], "duration_s": 1.0, "started_at": "2026-11-28T10:00:00Z",
             "error": None, "command": [], "build_ref": None, "log_file": None}
            for target, (tag, digest) in targets.items()
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


# What the probe prints for an image that matches TARGET's plan.
# What the stand-in ffmpeg lists: the full profile's promise (images/shared/ffmpeg/full.codecs).
STANDIN_ENCODERS = ("aac", "libaom-av1", "libmp3lame", "libopus", "libvorbis", "libvpx-vp9",
                    "libx264", "libx265")
STANDIN_DECODERS = ("aac", "h264", "hevc", "libdav1d", "mp3", "opus", "vp9")

GOOD_PROBE: dict[str, Any] = {
    "probe_version": 3, "arch": "x86_64", "python": "3.11.2",
    "packages": {"torch": "2.9.1+cpu", "torchvision": "0.24.1+cpu", "torchaudio": "2.9.1+cpu",
                 "transformers": "4.57.1", "tokenizers": "0.22.1", "bitsandbytes": "0.48.2",
                 "tensorrt-cu12-bindings": None},
    "imports": {"torch": None, "torchvision": None, "torchaudio": None, "transformers": None,
                "tokenizers": None, "bitsandbytes": None},
    "torch_cuda": None,
    "torch_op": "ok",
    "python_headers": "/usr/include/python3.11/Python.h",
    "ffmpeg_codecs": {"encoders": list(STANDIN_ENCODERS), "decoders": list(STANDIN_DECODERS)},
    "ee_dd": "false",
    "tools": {"ffmpeg": "7.1.5", "node": "22.23.3", "npm": "10.9.9",
              "docker": "20.10.24+dfsg1", "dockerd": "20.10.24+dfsg1", "ngrok": "3.30.0",
              "uv": "0.9.11"},
    "uv_pip_check": {"ok": True, "output": "All installed packages are compatible"},
    "errors": {},
}


def probe(base: dict[str, Any] | None = None, **changes: Any) -> dict[str, Any]:
    """A copy of `base` (GOOD_PROBE) with top-level keys replaced and, for `packages` and
    `tools`, entries merged in."""
    report = copy.deepcopy(base or GOOD_PROBE)
    for key, value in changes.items():
        if key in ("packages", "tools"):
            report[key].update(value)
        else:
            report[key] = value
    return report


GPU_PROBE = probe(packages={"torch": "2.9.1+cu128", "torchvision": "0.24.1+cu128",
                            "torchaudio": "2.9.1+cu128", "bitsandbytes": None,
                            "tensorrt-cu12-bindings": "10.13.3.9"}, torch_cuda="12.8",
                  imports={**GOOD_PROBE["imports"], "tensorrt": None})
# run as a Raspberry Pi 4's Cortex-A72 (the gate in force): no LSE atomics
ARM_PROBE = probe(arch="aarch64", packages={"torch": "2.9.1", "torchvision": "0.24.1",
                                            "torchaudio": "2.9.1", "bitsandbytes": None},
                  lse_atomics=False, emulated_cpu="cortex-a72")
