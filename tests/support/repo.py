"""The repository under test: where it is, and the targets of its `default` group."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# the `default` group of the shipped matrix.toml, in plan order
DEFAULT_IDS = ["base_edge_node_amd64_gpu-py313", "base_edge_node_amd64_cpu-py313",
               "base_edge_node_arm64_cpu-py313"]
GPU, CPU, ARM = DEFAULT_IDS
