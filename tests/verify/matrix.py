"""A matrix whose pins are what the stand-in images of tests/engine/standin.py hold."""

from __future__ import annotations

import json
from pathlib import Path

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


def write_matrix(directory: Path) -> Path:
    path = directory / "matrix.toml"
    path.write_text(STANDIN_MATRIX)
    return path


def write_results(path: Path, targets: dict[str, tuple[str, str]], output: str = "push") -> Path:
    """A bake results file: target id -> (pushed tag, digest), all ok."""
    doc = {
        "schema_version": 1, "bakery_version": "0.1.0", "matrix": "matrix.toml",
        "bake_file": "docker-bake.hcl", "builder": None, "output": output, "fail_fast": False,
        "jobs": 1, "git": {"ref": "refs/heads/main", "sha": "0" * 40, "source": "cli"},
        "started_at": "2026-11-28T10:00:00Z", "duration_s": 1.0, "ok": True,
        "targets": [
            {"id": target, "status": "ok", "platform": "linux/amd64", "digest": digest,
             "tags": [tag], "duration_s": 1.0, "started_at": "2026-11-28T10:00:00Z",
             "error": None, "command": [], "build_ref": None, "log_file": None}
            for target, (tag, digest) in targets.items()
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path
