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

`--ablate` turns each piece of bakery/plan/bulk.py (and the release tags bakery/plan/values.py
shares) off in turn, to show each still earns its keep at a realistic size. Same machine,
median CPU time of 21 shuffled rounds, in-process (`--ablate --images 100 1000 --runs 21`):

                           100 images          1,000 images
    all pieces on           55.8 ms             555 ms
    without shared tags     70.1 ms (+26%)      721 ms (+30%)
    without tagged          61.5 ms (+10%)      626 ms (+13%)
    without assemble        60.0 ms  (+8%)      656 ms (+18%)
    without collector pause 58.1 ms  (+4%)      654 ms (+18%)

Earlier figures of the same pieces at 10,000 images, in-process: 6.9 s with collections as
usual, 6.0 s with the collector paused, 5.1 s paused and the result frozen; a target took
~3 us assembled and ~10 us validated (or through `model_construct`). Other figures of a
10,000-image plan that shaped the code: dumping each target to a dict before writing JSON took
a third of it and the standard library's indenting encoder half (bakery.views.plan writes the
models in one pass with pydantic-core); it names ~50,000 repositories (the size of the name
cache in bakery.tags.refs) and parsed the same torch versions 60,000 times (bakery.versions
remembers each text); saying which id or tag is claimed twice was a fifth of the uniqueness
check (bakery.plan.claims does it only when a set says one is).

The collector pause counts for more in a new process than these show: there, collections
also walk everything the imports made (pydantic, typer); a one-shot `bakery plan` of 100
images took 0.81 s of wall time without it against 0.61 s with it (median of 21 pairs on a
busy machine).
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


def _without(piece: str) -> contextlib.AbstractContextManager[None]:
    """The plan with one piece of bakery.plan.bulk / bakery.plan.values turned off (what the
    code would do without it: validate each model, parse each tag in full, leave the
    collector running, work out release tags per target)."""
    import importlib
    from unittest import mock

    # bakery.plan exports a function named `expand`, which hides the module of that name
    expand = importlib.import_module("bakery.plan.expand")
    load = importlib.import_module("bakery.project.load")
    from bakery.plan.bulk import Repository
    from bakery.plan.release import edge_tags, release_tags
    from bakery.plan.values import PlanValues
    from bakery.tags.refs import ImageRef

    if piece == "assemble":
        return mock.patch.object(expand, "assemble", lambda model, **values: model(**values))
    if piece == "collector-pause":
        return mock.patch.object(load, "collector_paused", contextlib.nullcontext)
    if piece == "repository-tagged":
        return mock.patch.object(Repository, "tagged", lambda self, tag, *, where: str(
            ImageRef.parse(f"{self.written}:{tag}", where=where, default_tag="latest")))
    if piece == "shared-tags":
        stack = contextlib.ExitStack()
        stack.enter_context(mock.patch.object(PlanValues, "release_tags", lambda self, s: tuple(
            release_tags(self.matrix.release, self.git, variant_suffix=s))))
        stack.enter_context(mock.patch.object(PlanValues, "edge_tags", lambda self, s: tuple(
            edge_tags(self.matrix.release, self.git, variant_suffix=s))))
        return stack
    return contextlib.nullcontext()


PIECES = ("none", "assemble", "collector-pause", "repository-tagged", "shared-tags")


def ablation(images: int, runs: int) -> None:
    """Each piece turned off in turn, in shuffled rounds, CPU time of the process (steadier
    than wall time on a shared machine); prints the median of each and the change."""
    import gc
    import random

    times: dict[str, list[float]] = {piece: [] for piece in PIECES}
    with tempfile.TemporaryDirectory() as tmp:
        matrix = Path(tmp) / "matrix.toml"
        matrix.write_text(synthetic_matrix(images), encoding="utf-8")
        plan_seconds(matrix)  # imports and schemas, once
        for _ in range(runs):
            for piece in random.sample(PIECES, len(PIECES)):
                gc.unfreeze()
                gc.collect()
                with _without(piece):
                    start = time.process_time()
                    plan_seconds(matrix)
                    times[piece].append(time.process_time() - start)
    base = statistics.median(times["none"])
    for piece, seconds in times.items():
        median = statistics.median(seconds)
        label = "all pieces on" if piece == "none" else f"without {piece}"
        print(f"{images:>6} images, {label:28}: median CPU {median * 1000:7.1f} ms"
              f" ({(median - base) / base * 100:+5.1f}%, {runs} runs)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, nargs="+", default=[1000, 2000, 5000, 10000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--ablate", action="store_true",
                        help="time the plan with each piece of bakery.plan.bulk turned off")
    args = parser.parse_args()
    if args.ablate:
        for images in args.images:
            ablation(images, args.runs)
        return
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
