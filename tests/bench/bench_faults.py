"""Benchmarks (not tests) of how fast bakery lets go of a bad package index.

    .venv/bin/python -m tests.bench.bench_faults [--runs 5]

1. Ctrl-C latency: `bakery preflight` against an index on 127.0.0.1 that accepts and never
   answers; SIGINT once every request is in flight; seconds until the process has exited (130).
2. A silent index with the command's default bounds: seconds until the index client gives up.
3. A trickling index (one byte every 0.2 s) with the default bounds: seconds until it gives up.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bakery.preflight.index import FetchOptions, IndexRequest, IndexUnavailable, fetch_many
from tests.faults.servers import BEHAVIOURS, misbehaving_index
from tests.support.cli import MINIMAL_MATRIX


def ctrl_c_latency(runs: int) -> list[float]:
    asked = threading.Event()

    def stall(conn: object) -> None:
        asked.set()
        time.sleep(3600)

    times = []
    with misbehaving_index(stall) as url, tempfile.TemporaryDirectory() as tmp:  # type: ignore[arg-type]
        matrix = Path(tmp) / "matrix.toml"
        matrix.write_text(MINIMAL_MATRIX.replace(
            'pytorch-cpu = "https://download.pytorch.org/whl/cpu"',
            f'pytorch-cpu = "{url}"\npypi = "{url}"'))
        env = {**os.environ, "GITHUB_SHA": "0" * 40, "XDG_CACHE_HOME": tmp}
        for _ in range(runs):
            asked.clear()
            proc = subprocess.Popen([sys.executable, "-m", "bakery", "preflight", "--matrix",
                                     str(matrix)], env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, text=True)
            if not asked.wait(30):
                raise SystemExit("preflight never asked the index")
            time.sleep(0.3)  # let every worker get into its request
            start = time.perf_counter()
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=120)
            times.append(time.perf_counter() - start)
            if proc.returncode != 130 or "bakery: interrupted" not in err:
                raise SystemExit(f"unexpected end: exit {proc.returncode}: {err!r}")
    return times


def give_up(behaviour: str) -> tuple[float, str]:
    with misbehaving_index(BEHAVIOURS[behaviour]) as url:
        start = time.perf_counter()
        try:
            fetch_many([IndexRequest(url, "torch")], FetchOptions())
        except IndexUnavailable as exc:
            return time.perf_counter() - start, exc.cause
    raise SystemExit(f"{behaviour}: the index client accepted the answer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    latency = ctrl_c_latency(args.runs)
    print(f"preflight Ctrl-C against a silent index: median {statistics.median(latency):.3f} s"
          f" (max {max(latency):.3f} s, {args.runs} runs)")
    for behaviour in ("stall", "trickle"):
        seconds, cause = give_up(behaviour)
        print(f"index client, {behaviour} index, default bounds: gave up after {seconds:.2f} s"
              f" ({cause})")


if __name__ == "__main__":
    main()
