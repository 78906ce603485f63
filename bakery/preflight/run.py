"""Preflight of a matrix: fetch what the selected images need, index by index, and decide.

An index that cannot answer does not hide what the others say: its packages are left out, the
image is decided on the rest (so its flags and the other wheels still show), and the image gets
an error naming the index. Such an image is never locked; `bakery preflight` exits 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bakery.matrix import Matrix
from bakery.preflight.decide import (
    FeatureSpec,
    ImageSpec,
    PageKey,
    decide_image,
    needed_pages,
)
from bakery.preflight.decision import ImageDecision
from bakery.preflight.index import (
    FetchOptions,
    IndexRequest,
    PackageIndexError,
    ProjectPage,
    fetch_many,
)
from bakery.preflight.pool import map_daemon
from bakery.preflight.spec import image_spec


@dataclass(frozen=True)
class IndexProblem:
    name: str
    url: str
    message: str


def _fetch_index(
    requests: Sequence[tuple[PageKey, IndexRequest]], options: FetchOptions
) -> dict[PageKey, ProjectPage] | PackageIndexError:
    try:
        pages = fetch_many([r for _, r in requests], options)
    except PackageIndexError as exc:
        return exc
    return {key: pages[request] for key, request in requests}


def _describe(exc: PackageIndexError) -> str:
    notes = [n for n in getattr(exc, "__notes__", ()) if not n.startswith("also: ")]
    return "; ".join([str(exc), *notes])


def fetch_pages(
    specs: Sequence[ImageSpec], urls: Mapping[str, str], options: FetchOptions
) -> tuple[dict[PageKey, ProjectPage], dict[str, IndexProblem]]:
    """Every page the specs need, the indexes concurrently; failures per index name."""
    by_index: dict[str, list[tuple[PageKey, IndexRequest]]] = {}
    for key in needed_pages(specs):
        index, project = key
        by_index.setdefault(index, []).append((key, IndexRequest(urls[index], project)))
    pages: dict[PageKey, ProjectPage] = {}
    problems: dict[str, IndexProblem] = {}
    if not by_index:
        return pages, problems
    names = list(by_index)
    answers = dict(zip(
        names,
        map_daemon(lambda name: _fetch_index(by_index[name], options), names,
                   workers=len(names), name="bakery-idx"),
        strict=True,
    ))
    for index, answer in answers.items():
        if isinstance(answer, PackageIndexError):
            problems[index] = IndexProblem(index, urls[index], _describe(answer))
        else:
            pages.update(answer)
    return pages, problems


def _without(spec: ImageSpec, down: set[str]) -> tuple[ImageSpec, list[str]]:
    """The spec without the packages of the indexes in `down`, and those packages' names."""
    dropped = [pin.name for pin in spec.packages if pin.index in down]
    features: list[FeatureSpec] = []
    for feature in spec.features:
        if any(pin.index in down for pin in feature.packages):
            dropped += [f"{pin.name} (flag {feature.name})" for pin in feature.packages]
        else:
            features.append(feature)
    reduced = spec.model_copy(update={
        "packages": tuple(p for p in spec.packages if p.index not in down),
        "features": tuple(features),
    })
    return reduced, dropped


def preflight_matrix(
    matrix: Matrix,
    names: Sequence[str],
    options: FetchOptions,
    index_overrides: Mapping[str, str] | None = None,
) -> tuple[ImageDecision, ...]:
    """Decide the images `names` of `matrix` from the package indexes (see module doc)."""
    specs = [image_spec(matrix, name) for name in names]
    used = {pin.index for s in specs for pin in s.packages}
    used |= {pin.index for s in specs for f in s.features for pin in f.packages}
    urls = {name: matrix.index_url(name) for name in sorted(used)}
    urls.update({k: v for k, v in (index_overrides or {}).items() if k in urls})
    pages, problems = fetch_pages(specs, urls, options)
    decisions = []
    for spec in specs:
        spec_down = {
            pin.index for pin in spec.packages if pin.index in problems
        } | {
            pin.index for f in spec.features for pin in f.packages if pin.index in problems
        }
        if not spec_down:
            decisions.append(decide_image(spec, pages))
            continue
        reduced, dropped = _without(spec, spec_down)
        partial = decide_image(reduced, pages)
        errors = [
            f"not checked: {', '.join(dropped)}: {problems[index].message}"
            for index in sorted(spec_down)
        ]
        decisions.append(partial.model_copy(update={
            "errors": (*errors, *partial.errors),
            "python": None,
            "python_reason": f"undecided: index {', '.join(sorted(spec_down))} did not answer"
                             + (f" (as far as checked: {partial.python_reason})"
                                if reduced.packages else " (no package could be checked)"),
        }))
    return tuple(decisions)
