"""Benchmark and manual check (not tests) of the preflight engine.

    .venv/bin/python -m tests.bench.bench_preflight            # fixture index on 127.0.0.1
    .venv/bin/python -m tests.bench.bench_preflight --live     # the real PyPI (opt-in)
    .venv/bin/python -m tests.bench.bench_preflight --shipped  # matrix.toml, its real indexes

Local: fetches every fixture project under many namespaces (distinct URLs, so no dedupe),
cold (empty cache) and warm (cache fresh), and prints the timings.
Live: asks PyPI about the packages of the edge-node images, prints what preflight decides per
package for python 3.13 / 3.12 on amd64 / arm64, and the cold and warm timings.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from packaging.version import Version

from bakery.matrix.models import PYPI_SIMPLE
from bakery.preflight.decide import FeatureSpec, ImageSpec, PackagePin, decide_image
from bakery.preflight.index import FetchOptions, IndexRequest, ProjectPage, fetch_many
from bakery.preflight.run import fetch_pages
from bakery.preflight.wheels import WheelTarget, check_wheel

PYTHONS = ("3.13.9", "3.12.12")
ARCHES = ("amd64", "arm64")
LIVE_PINS = [
    ("torch", "2.9.1"),
    ("torchvision", "0.24.1"),
    ("torchaudio", "2.9.1"),
    ("transformers", "4.57.1"),
    ("tokenizers", "0.22.1"),
    ("bitsandbytes", "0.48.2"),
    ("flash-attn", "2.8.3"),
    ("tensorrt-cu12", None),
    ("tensorrt-cu12-bindings", None),
]


def timed(label: str, requests: Sequence[IndexRequest], options: FetchOptions) -> float:
    started = time.perf_counter()
    pages = fetch_many(requests, options)
    elapsed = time.perf_counter() - started
    cached = sum(page.from_cache for page in pages.values())
    print(f"{label:<6} {len(pages):>4} pages ({cached} from cache) in {elapsed:.3f} s")
    return elapsed


def local(namespaces: int) -> None:
    from tests.support.index_server import FIXTURES, start_index_server

    server = start_index_server()
    try:
        projects = sorted(p.name for p in FIXTURES.iterdir())
        requests = [
            IndexRequest(server.url("simple", ns=f"n{i}"), p)
            for i in range(namespaces)
            for p in projects
        ]
        with tempfile.TemporaryDirectory() as cache:
            options = FetchOptions(cache_dir=Path(cache), max_workers=16)
            timed("cold", requests, options)
            timed("warm", requests, options)
    finally:
        server.stop()


def newest_10x_with_cp313(page: ProjectPage) -> str | None:
    """The newest 10.x version of the TensorRT bindings with a cp313 linux x86_64 wheel."""
    versions = set()
    for f in page.files:
        parts = f.filename.split("-")
        if f.filename.endswith(".whl") and len(parts) >= 2:
            versions.add(parts[1])
    target = WheelTarget(python="3.13.9", arch="amd64")
    for version in sorted(versions, key=Version, reverse=True):
        if Version(version).major != 10:
            continue
        if check_wheel(page.files, project=page.project, version=version, target=target).ok:
            return version
    return None


def live() -> None:
    with tempfile.TemporaryDirectory() as cache:
        options = FetchOptions(cache_dir=Path(cache), max_workers=16, timeout=30)
        requests = [IndexRequest(PYPI_SIMPLE, name) for name, _ in LIVE_PINS]
        timed("cold", requests, options)
        timed("warm", requests, options)
        pages = fetch_many(requests, options)
        by_name = {request.project: page for request, page in pages.items()}
        trt = newest_10x_with_cp313(by_name["tensorrt-cu12-bindings"])
        print(f"newest tensorrt-cu12-bindings 10.x with a cp313 wheel: {trt}")
        pins = [(name, version or trt or "0") for name, version in LIVE_PINS]
        print(f"\n| package | version | python | arch | ok | wheel or reason |\n|{'---|' * 6}")
        for name, version in pins:
            for python in PYTHONS:
                for arch in ARCHES:
                    target = WheelTarget(python=python, arch=arch)  # type: ignore[arg-type]
                    result = check_wheel(
                        by_name[name].files, project=name, version=version, target=target
                    )
                    shown = result.wheel if result.ok else f"{result.verdict}: {result.reason}"
                    print(f"| {name} | {version} | {python} | {arch} | {result.ok} | {shown} |")

        def pin(name: str, version: str) -> PackagePin:
            return PackagePin(name=name, version=version)

        torch = (pin("torch", "2.9.1"), pin("torchvision", "0.24.1"), pin("torchaudio", "2.9.1"))
        common = (pin("transformers", "4.57.1"), pin("tokenizers", "0.22.1"))
        features = (
            FeatureSpec(name="flash-attn", setting="auto", packages=(pin("flash-attn", "2.8.3"),)),
            FeatureSpec(
                name="bitsandbytes", setting="auto", packages=(pin("bitsandbytes", "0.48.2"),)
            ),
            FeatureSpec(
                name="tensorrt",
                setting="auto",
                packages=(pin("tensorrt-cu12-bindings", trt or "0"),),
            ),
        )
        images = [
            ImageSpec(
                name=f"pypi_{arch}",
                arch=arch,
                primary_python="3.13.9",
                fallback_python="3.12.12",
                packages=torch + common,
                features=features,
            )
            for arch in ARCHES
        ]
        started = time.perf_counter()
        pages, problems = fetch_pages(images, {"pypi": PYPI_SIMPLE}, options)
        decisions = [decide_image(image, pages) for image in images]
        print(f"\nfetch_pages + decide_image (warm cache): {time.perf_counter() - started:.3f} s")
        for problem in problems.values():
            print(f"index problem: {problem.message}")
        for decision in decisions:
            print(decision.model_dump_json(indent=2))


def shipped(runs: int) -> None:
    """`bakery preflight` of the shipped matrix.toml (the real indexes), cold and warm."""
    from bakery.matrix import load_matrix
    from bakery.preflight.run import preflight_matrix

    matrix = load_matrix(Path("matrix.toml"))
    for label, names in (("all images", list(matrix.images)),
                         ("arm64 image (PyPI only)", ["base_edge_node_arm64_cpu"])):
        cold, warm = [], []
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as tmp:
                options = FetchOptions(cache_dir=Path(tmp))
                start = time.perf_counter()
                decisions = preflight_matrix(matrix, names, options)
                cold.append(time.perf_counter() - start)
                start = time.perf_counter()
                preflight_matrix(matrix, names, options)
                warm.append(time.perf_counter() - start)
        ok = sum(d.ok for d in decisions)
        print(f"shipped matrix, {label}: {ok}/{len(decisions)} decided;"
              f" cold median {sorted(cold)[len(cold) // 2]:.3f}s (min {min(cold):.3f}s),"
              f" warm median {sorted(warm)[len(warm) // 2]:.3f}s over {runs} runs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--live", action="store_true", help="ask the real PyPI (opt-in)")
    parser.add_argument("--shipped", action="store_true",
                        help="the shipped matrix.toml against its real indexes (opt-in)")
    parser.add_argument("--runs", type=int, default=5, help="--shipped: repetitions")
    parser.add_argument("--namespaces", type=int, default=30, help="local: copies of the index")
    args = parser.parse_args()
    if args.shipped:
        shipped(args.runs)
    elif args.live:
        live()
    else:
        local(args.namespaces)


if __name__ == "__main__":
    main()
