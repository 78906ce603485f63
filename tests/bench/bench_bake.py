"""Benchmarks (not tests) for `bakery bake`. Run:

    .venv/bin/python -m tests.bench.bench_bake [--runs 7]

Every figure is a median over `--runs` fresh processes, on the shipped matrix, `--target all`
(9 targets), against the fake docker (tests/fakes/docker; no sleeps, so the build itself costs
only the fake's own process start and output):

1. `bakery bake --dry-run`: load, plan, render check, print. No Docker, no python-on-whales.
2. by hand: the 9 `docker buildx bake` command lines that the dry run prints, run 4 at a time
   (like bakery's default `--jobs`), with the fake.
3. `bakery bake`: the same 9 invocations through bakery (tool checks, runner, log parsing,
   results file, summary), `--progress plain` into /dev/null.
4. `bakery bake --fail-fast` against one hand-run bake of all 9 targets.

bakery's overhead is (3) - (2) and (4) - its baseline; the import of python-on-whales, which
only `bake` pays, is measured on its own.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.support.repo import ROOT

FAKE = ROOT / "tests" / "fakes" / "docker"
BAKERY = Path(sys.executable).parent / "bakery"


def env() -> dict[str, str]:
    out = dict(os.environ)
    out["PATH"] = f"{Path(sys.executable).parent}:{out.get('PATH', '')}"
    out["BAKERY_DOCKER"] = str(FAKE)
    for name in list(out):
        if name.startswith("FAKE_DOCKER_"):
            del out[name]
    return out


def median_of(runs: int, fn: Callable[[], None]) -> tuple[float, float, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), max(times)


def bakery(args: Sequence[str], results: Path, *, expect: int = 0) -> Callable[[], None]:
    cmd = [str(BAKERY), "bake", "--target", "all", "--results", str(results), *args]

    def run() -> None:
        done = subprocess.run(cmd, cwd=ROOT, env=env(), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, check=False)
        if done.returncode != expect:
            raise SystemExit(f"{shlex.join(cmd)} exited {done.returncode}")

    return run


def dry_run_commands(results: Path, *args: str) -> list[list[str]]:
    done = subprocess.run(
        [str(BAKERY), "bake", "--target", "all", "--dry-run", "--results", str(results), *args],
        cwd=ROOT, env=env(), capture_output=True, text=True, check=True,
    )
    lines = [shlex.split(line) for line in done.stdout.splitlines() if not line.startswith("#")]
    return [argv for argv in lines if argv[1:3] == ["buildx", "bake"]]


def by_hand(commands: list[list[str]], jobs: int) -> Callable[[], None]:
    def one(argv: list[str]) -> None:
        subprocess.run(argv, cwd=ROOT, env=env(), stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=True)

    def run() -> None:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            list(pool.map(one, commands))

    return run


def import_whales() -> None:
    subprocess.run([sys.executable, "-c", "import python_on_whales"], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "results.json"
        (Path(tmp) / "metadata").mkdir()
        per_target = dry_run_commands(results)
        fail_fast = dry_run_commands(results, "--fail-fast")
        rows = [
            ("bakery bake --dry-run --target all", bakery(["--dry-run"], results)),
            ("python -c 'import python_on_whales'", import_whales),
            (f"by hand: {len(per_target)} fake bakes, 4 at a time", by_hand(per_target, 4)),
            ("bakery bake --target all (fake docker)",
             bakery(["--progress", "plain"], results)),
            ("by hand: 1 fake bake of all targets", by_hand(fail_fast, 1)),
            ("bakery bake --target all --fail-fast (fake docker)",
             bakery(["--fail-fast", "--progress", "plain"], results)),
        ]
        print(f"median of {runs} runs (min-max), shipped matrix, {len(per_target)} targets")
        for label, fn in rows:
            fn()  # warm the page cache
            med, low, high = median_of(runs, fn)
            print(f"  {label:<52} {med:6.3f} s  ({low:.3f}-{high:.3f})")


if __name__ == "__main__":
    main()
