"""Preflight: check on the package indexes that every pinned package has a wheel.

``index`` fetches project pages (PEP 691 / PEP 503, concurrent, cached), ``wheels`` decides
whether one package has an installable wheel, ``decide`` turns that into per-image decisions.
``run_preflight`` ties them together. Every name here is imported on first use, so reading the
lock (plan, render, bake) does not pay for the index client; httpx only when a fetch happens.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bakery.matrix.models import PYPI_SIMPLE
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
    from bakery.preflight.run import UnknownIndex, run_preflight
    from bakery.preflight.wheels import Verdict, WheelCheck, WheelTarget, check_wheel

_HOME = {
    **dict.fromkeys(
        ("FeatureSpec", "FlagDecision", "ImageDecision", "ImageSpec", "PackageDecision",
         "PackagePin", "PreflightFailed", "decide_images", "decisions_to_json", "needed_pages",
         "raise_for_errors"),
        "bakery.preflight.decide",
    ),
    **dict.fromkeys(
        ("FetchOptions", "IndexFile", "IndexRequest", "IndexUnavailable", "OfflineCacheMiss",
         "PackageIndexError", "ProjectPage", "fetch_many"),
        "bakery.preflight.index",
    ),
    "PYPI_SIMPLE": "bakery.matrix.models",
    **dict.fromkeys(("UnknownIndex", "run_preflight"), "bakery.preflight.run"),
    **dict.fromkeys(("WheelTarget", "Verdict", "WheelCheck", "check_wheel"),
                    "bakery.preflight.wheels"),
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'bakery.preflight' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


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
    "UnknownIndex",
    "Verdict",
    "WheelCheck",
    "WheelTarget",
    "check_wheel",
    "decide_images",
    "decisions_to_json",
    "fetch_many",
    "needed_pages",
    "raise_for_errors",
    "run_preflight",
]
