"""Benchmark (not a test): `bakery outdated` on the shipped matrix against the live indexes,
cold (empty cache) and warm (cache filled by the first run). Budget: under 5 s warm.

    .venv/bin/python -m tests.bench.bench_outdated
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(cache: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "bakery", "outdated", "--format", "json", "--cache-dir", cache,
         "--matrix", str(ROOT / "matrix.toml")],
        check=True, capture_output=True, cwd=ROOT,
    )
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as cache:
        cold = run(cache)
        warm = min(run(cache) for _ in range(3))
    print(f"bakery outdated, shipped matrix: cold {cold:.2f} s, warm {warm:.2f} s (budget 5 s)")


if __name__ == "__main__":
    main()
