"""Benchmark (not a test): `bakery plan` must stay linear in the number of images.

    .venv/bin/python -m tests.bench.bench_plan_scale [--images 1000 2000 10000]

Runs the command itself (in-process, through bakery.cli.main) on generated matrices of each
size and prints the time per run and per image; the per-image time should stay flat (10,000
images in a few seconds on the 2-core dev machine).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import time
from pathlib import Path

from tests.bench.bench_plan import synthetic_matrix


def plan_seconds(images: int, fmt: str = "json") -> float:
    from bakery.cli import main

    with tempfile.TemporaryDirectory() as tmp:
        matrix = Path(tmp) / "matrix.toml"
        matrix.write_text(synthetic_matrix(images), encoding="utf-8")
        out = io.StringIO()
        start = time.perf_counter()
        with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
            main(["plan", "--matrix", str(matrix), "--format", fmt,
                  "--ref", "refs/heads/main", "--sha", "0" * 40])
        elapsed = time.perf_counter() - start
        if '"targets"' not in out.getvalue():
            raise SystemExit(f"plan of {images} images printed no plan")
        return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, nargs="+", default=[1000, 2000, 10000])
    args = parser.parse_args()
    for images in args.images:
        seconds = plan_seconds(images)
        print(f"bakery plan, {images:>6} images ({images * 3} targets): {seconds:6.2f} s"
              f" ({seconds / images * 1000:.2f} ms per image)")


if __name__ == "__main__":
    main()
