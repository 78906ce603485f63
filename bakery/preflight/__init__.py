"""Preflight (SPEC P1-P5): check on the package indexes that every pinned package has a wheel.

``index`` fetches project pages (PEP 691 / PEP 503, concurrent, cached), ``wheels`` decides
whether one package has an installable wheel, ``decide`` turns that into per-image decisions.
``run_preflight`` ties them together. httpx is imported only when a fetch really happens.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bakery.preflight.decide import (
    FeatureSpec,
    FlagDecision,
    ImageDecision,
    ImageSpec,
    PackageDecision,
    PackagePin,
    PreflightFailed,
    decide_images,
    decisions_to_json,
    needed_pages,
    raise_for_errors,
)
from bakery.preflight.index import (
    FetchOptions,
    IndexFile,
    IndexRequest,
    IndexUnavailable,
    OfflineCacheMiss,
    PackageIndexError,
    ProjectPage,
    fetch_many,
)
from bakery.preflight.wheels import Target, Verdict, WheelCheck, check_wheel

PYPI_SIMPLE = "https://pypi.org/simple/"

__all__ = [
    "PYPI_SIMPLE",
    "FeatureSpec",
    "FetchOptions",
    "FlagDecision",
    "ImageDecision",
    "ImageSpec",
    "IndexFile",
    "IndexRequest",
    "IndexUnavailable",
    "OfflineCacheMiss",
    "PackageDecision",
    "PackageIndexError",
    "PackagePin",
    "PreflightFailed",
    "ProjectPage",
    "Target",
    "UnknownIndex",
    "Verdict",
    "WheelCheck",
    "check_wheel",
    "decide_images",
    "decisions_to_json",
    "fetch_many",
    "raise_for_errors",
    "run_preflight",
]


class UnknownIndex(ValueError):
    """A package names an index that is not configured."""


def run_preflight(
    images: Sequence[ImageSpec],
    indexes: Mapping[str, str],
    options: FetchOptions | None = None,
) -> tuple[ImageDecision, ...]:
    """Fetch every page the images need (concurrently, once each) and decide every image.

    ``indexes`` maps index names to simple-API base URLs; "pypi" defaults to PyPI.
    Raises ``PackageIndexError`` when an index cannot answer and ``UnknownIndex`` for an
    unconfigured index name. Per-image problems are in ``ImageDecision.errors``
    (see ``raise_for_errors``).
    """
    urls = {"pypi": PYPI_SIMPLE, **indexes}
    requests: dict[tuple[str, str], IndexRequest] = {}
    for index_name, project in needed_pages(images):
        if index_name not in urls:
            known = ", ".join(sorted(urls))
            raise UnknownIndex(f"unknown index {index_name!r} for {project!r} (known: {known})")
        requests[(index_name, project)] = IndexRequest(urls[index_name], project)
    fetched = fetch_many(requests.values(), options)
    pages = {key: fetched[request] for key, request in requests.items()}
    return decide_images(images, pages)
