"""Benchmarks (not tests): plan cold start and plan+render scaling. Run: .venv/bin/python -m tests.bench.bench_plan

1. `bakery plan --format json` cold start on the shipped matrix, as a ratio to a real
   `docker buildx bake -f docker-bake.hcl --print all` of the bake file rendered from it: both
   run as new processes in interleaved pairs (plan, buildx, plan, buildx, ...), so a busy
   machine slows both alike; prints both medians and the ratio. The budget is 2.0x. Without a
   working `docker buildx` it says so and prints the plan's median alone. One warm-up run of
   each comes first, with the bytecode cache allowed (an installed bakery has its .pyc files;
   compiling the sources is not start-up).
2. plan + render of a generated matrix with ~1,000 targets, in-process (target: < 1 s).

Figures on the 2-core dev machine shared with three other builds (buildx 0.13.1; medians of
21 rounds, each running the old code, the new code and buildx; the load moves the medians by
half from one minute to the next, the ratio less):

    before (every model's schema built at import)    plan 0.52 s   buildx 0.17 s   3.0x
    after (schemas built on first use)               plan 0.49 s   buildx 0.17 s   2.9x

On the same machine quiet, before: plan 0.40 s, buildx 0.121 s (3.3x). What remains is
mostly not bakery's: importing typer and pydantic alone is 1.2x buildx, typer builds a
pydantic TypeAdapter for every option it parses, and pydantic loads importlib.metadata for
its plugins when the first validator is made. bakery's own part is building the schemas of
the models a plan reads (matrix.toml, matrix.lock.json, locks/manifest.json) and writes
(targets, stages), creating its ~45 model classes, and the expansion.
"""

from __future__ import annotations

import argparse
import os
import shutil
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


PLAN = ["plan", "--format", "json", "--ref", "refs/heads/main", "--sha", "0" * 40]
BUILDX = ["docker", "buildx", "bake", "-f", "docker-bake.hcl", "--print", "all"]


def _seconds(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def real_buildx(env: dict[str, str]) -> bool:
    """Whether `docker buildx bake --print` works here (a docker CLI with the buildx plugin)."""
    if shutil.which("docker") is None:
        return False
    try:
        _seconds(BUILDX, env)
    except (OSError, subprocess.CalledProcessError):
        return False
    return True


def cold_start(runs: int) -> tuple[list[float], list[float] | None]:
    """(plan times, buildx times or None without a real buildx), measured in interleaved
    pairs after one warm-up run of each."""
    plan = [str(Path(sys.executable).parent / "bakery"), *PLAN]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    _seconds(plan, env)
    buildx = real_buildx(env)
    plan_times: list[float] = []
    buildx_times: list[float] = []
    for _ in range(runs):
        plan_times.append(_seconds(plan, env))
        if buildx:
            buildx_times.append(_seconds(BUILDX, env))
    return plan_times, buildx_times if buildx else None


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
    plan, buildx = cold_start(args.runs)
    plan_median = statistics.median(plan)
    print(f"plan --format json cold start: median {plan_median:.3f} s"
          f" (min {min(plan):.3f}, max {max(plan):.3f}, {args.runs} runs)")
    if buildx is None:
        print("no real buildx (`docker buildx bake --print` did not run): no ratio")
    else:
        buildx_median = statistics.median(buildx)
        print(f"docker buildx bake --print all, interleaved: median {buildx_median:.3f} s"
              f" (min {min(buildx):.3f}, max {max(buildx):.3f})")
        print(f"ratio of the medians: {plan_median / buildx_median:.2f}x (budget 2.0x)")
    count, big = big_matrix(max(3, args.runs // 3), args.images)
    print(f"plan+render of {count} targets: median {statistics.median(big):.3f} s "
          f"(min {min(big):.3f}, max {max(big):.3f})")


if __name__ == "__main__":
    main()
