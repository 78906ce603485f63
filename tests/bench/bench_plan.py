"""Benchmarks (not tests): plan cold start and plan+render scaling. Run: .venv/bin/python -m tests.bench.bench_plan

1. `bakery plan --format json` cold start on the shipped matrix (a new process each run).
2. plan + render of a generated matrix with ~1,000 targets, in-process.
Prints medians; targets on the 2-core dev machine: <= 0.35 s and < 1 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.repo import ROOT


def synthetic_matrix(images: int) -> str:
    """A matrix whose images each expand to 3 targets (python, fallback python, DinD)."""
    head = (ROOT / "matrix.toml").read_text().split("[images.", 1)[0]
    blocks = []
    for i in range(images):
        arch = "amd64" if i % 2 else "arm64"
        blocks.append(
            f"[images.img{i:04d}]\narch = \"{arch}\"\naccelerator = \"cpu\"\n"
            f"torch = {{ index = \"pypi\", torch = \"2.9.1\", torchvision = \"0.24.1\","
            f" torchaudio = \"2.9.1\" }}\nfeatures = {{ bitsandbytes = \"on\" }}\n"
            f"legacy_tags = [\"ratio1/legacy{i:04d}:{{machine}}-{{tag}}\"]\n"
            f"dind_tags = [\"ratio1/legacy{i:04d}_dind:{{machine}}-{{tag}}\"]\n"
        )
    return head + "\n".join(blocks)


def cold_start(runs: int) -> list[float]:
    exe = Path(sys.executable).parent / "bakery"
    cmd = [str(exe), "plan", "--format", "json", "--ref", "refs/heads/main", "--sha", "0" * 40]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return times


def big_matrix(runs: int, images: int) -> tuple[int, list[float]]:
    from bakery.matrix import parse_matrix
    from bakery.plan import expand
    from bakery.render import render_bake_file
    from bakery.tags.git import GitContext
    from bakery.views.plan import plan_json

    text = synthetic_matrix(images)
    template = ROOT / "docker-bake.hcl.j2"
    git = GitContext(ref="refs/tags/v1.2.3", sha="0" * 40, source="cli")
    times = []
    count = 0
    with tempfile.TemporaryDirectory():
        for _ in range(runs):
            start = time.perf_counter()
            plan = expand(parse_matrix(text), git=git)
            plan_json(plan, plan.targets, matrix_path="synthetic.toml")
            render_bake_file(plan, template)
            times.append(time.perf_counter() - start)
            count = len(plan.targets)
    return count, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--images", type=int, default=334)
    args = parser.parse_args()
    cold = cold_start(args.runs)
    print(f"plan --format json cold start: median {statistics.median(cold):.3f} s "
          f"(min {min(cold):.3f}, max {max(cold):.3f}, {args.runs} runs)")
    count, big = big_matrix(max(3, args.runs // 3), args.images)
    print(f"plan+render of {count} targets: median {statistics.median(big):.3f} s "
          f"(min {min(big):.3f}, max {max(big):.3f})")


if __name__ == "__main__":
    main()
