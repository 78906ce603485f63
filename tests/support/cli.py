"""Running `bakery` in-process and capturing exit code, stdout and stderr."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bakery.cli import main


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    capsys.readouterr()
    try:
        main(list(args))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    else:  # pragma: no cover - main always exits
        code = 0
    captured = capsys.readouterr()
    return Result(code=code, out=captured.out, err=captured.err)


MINIMAL_MATRIX = """\
schema_version = 1
namespace = "acme"

[python]
primary = "3.13.9"
fallback = "3.12.12"

[indexes]
pytorch-cpu = "https://download.pytorch.org/whl/cpu"

[versions]
uv = "0.9.11"
transformers = "4.57.1"
tokenizers = "0.22.1"

[features.tensorrt]
package = "tensorrt-cu12"
version = "10.13.3.9"
gpu_only = true
module = "tensorrt"

[features.bitsandbytes]
package = "bitsandbytes"
version = "0.48.2"

[release]
rules = [{ type = "semver", pattern = "{{version}}" }, { type = "sha" }]

[images.edge_cpu]
arch = "amd64"
accelerator = "cpu"
aliases = ["cpu"]
torch = { index = "pytorch-cpu", torch = "2.9.1+cpu", torchvision = "0.24.1+cpu", torchaudio = "2.9.1+cpu" }
features = { bitsandbytes = "on" }
legacy_tags = ["acme/edge:{machine}-{tag}"]
dind_tags = ["acme/edge_dind:{machine}-{tag}"]

[images.edge_gpu]
arch = "amd64"
accelerator = "cuda"
aliases = ["gpu"]
torch = { torch = "2.9.1", torchvision = "0.24.1", torchaudio = "2.9.1" }
features = { tensorrt = "on", bitsandbytes = "off" }
"""
