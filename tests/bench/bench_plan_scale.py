"""Benchmark (not a test): `bakery plan` must stay linear in the number of images.

    .venv/bin/python -m tests.bench.bench_plan_scale [--images 1000 2000 5000 10000] [--runs 5]

Runs the command itself (in-process, through bakery.cli.main, `--format json`) on generated
matrices of each size (3 targets per image) and prints the median time of the runs and the
time per image; the time per image should stay flat.

On the 2-core dev machine (shared, so figures move by a quarter from one hour to the next),
medians of 5 runs, before and after the plan was made cheap per target (old code run in the
same minutes for comparison):

    images     before     after
     1,000     1.59 s     0.54 s
     2,000     3.03 s     1.03 s
     5,000     7.93 s     2.56 s
    10,000    17.52 s     5.82 s    (4.05 s in a quieter hour; 10,000 images: ~1.0 s reading
                                     the TOML, ~0.9 s writing 126 MB of JSON)
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import tempfile
import time
from pathlib import Path

from tests.bench.bench_plan import synthetic_matrix


def plan_seconds(matrix: Path, fmt: str = "json") -> float:
    from bakery.cli import main

    out = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        main(["plan", "--matrix", str(matrix), "--format", fmt,
              "--ref", "refs/heads/main", "--sha", "0" * 40])
    elapsed = time.perf_counter() - start
    if '"targets"' not in out.getvalue():
        raise SystemExit(f"plan of {matrix} printed no plan")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, nargs="+", default=[1000, 2000, 5000, 10000])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    for images in args.images:
        with tempfile.TemporaryDirectory() as tmp:
            matrix = Path(tmp) / "matrix.toml"
            matrix.write_text(synthetic_matrix(images), encoding="utf-8")
            times = [plan_seconds(matrix) for _ in range(args.runs)]
        median = statistics.median(times)
        print(f"bakery plan, {images:>6} images ({images * 3} targets): median {median:6.2f} s"
              f" ({median / images * 1000:.2f} ms per image; min {min(times):.2f},"
              f" max {max(times):.2f}, {args.runs} runs)", flush=True)


if __name__ == "__main__":
    main()
