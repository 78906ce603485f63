"""A matrix whose pins are what tests/engine/standin.py's stand-ins hold (MATCHING_PACKAGES,
MATCHING_TOOLS, Debian's python 3.11.2 and docker.io 20.10.24+dfsg1), plus an arm64 image so
that `bakery test` has a target this amd64 host must skip."""

from __future__ import annotations

from pathlib import Path

from tests.support.repo import ROOT
from tests.verify.matrix import STANDIN_MATRIX

SCRIPT = ROOT / "images" / "test_image.sh"

MATRIX = STANDIN_MATRIX + """
[images.edge_arm]
arch = "arm64"
accelerator = "cpu"
torch = { torch = "2.9.1", torchvision = "0.24.1", torchaudio = "2.9.1" }
features = { bitsandbytes = "off" }
"""
CPU_TARGET = "edge_cpu-py311"
ARM_TARGET = "edge_arm-py311"
# the name bake gives the image (its candidate, in staging): what `bakery test` runs by default
CPU_CANDIDATE = "acme/edge_cpu-staging:py3.11.2-th2.9.1.cpu-tr4.57.1"


def write_project(directory: Path) -> Path:
    (directory / "images").mkdir(parents=True)
    (directory / "matrix.toml").write_text(MATRIX)
    (directory / "images" / "test_image.sh").symlink_to(SCRIPT)
    return directory
