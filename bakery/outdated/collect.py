"""The upgrade view's data: one row per pin (python, the torch set of each torch index,
transformers, tokenizers, feature packages, uv), with the newest release and its wheels.

Index pages come through the preflight client (its cache makes a second run fast); wheel
availability is the preflight wheel check (manylinux up to glibc 2.39, cpXY/abi3/py3, yanked
files ignored). The torch set is offered only as a matching set: torchaudio carries torch's
version and torchvision is 0.(minor + 15).patch (PyTorch's release pairing since 2.0), and a
set is offered only when all three exist on the image's index with the same local tag.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from bakery.errors import BakeryError
from bakery.matrix.models import Matrix
from bakery.plan.target import Target
from bakery.preflight.index import (
    FetchOptions,
    IndexFile,
    IndexRequest,
    PackageIndexError,
    ProjectPage,
    fetch_many,
)
from bakery.preflight.wheels import Verdict, WheelTarget, check_wheel

TORCHVISION_MINOR_OFFSET = 15


@dataclass(frozen=True, slots=True, order=True)
class Column:
    """One build target kind: python x platform x accelerator."""

    python: str
    arch: str
    accelerator: str

    @property
    def label(self) -> str:
        minor = ".".join(self.python.split(".")[:2])
        return f"py{minor} {self.arch} {self.accelerator}"


@dataclass(frozen=True)
class Row:
    pin: str
    index: str
    current: str
    newest: str | None
    # per column label: "ok", a preflight verdict (e.g. no-wheel-for-python), or "-" (n/a)
    wheels: dict[str, str] = field(default_factory=dict)
    note: str = ""

    @property
    def outdated(self) -> bool:
        return self.newest is not None and self.newest != self.current


@dataclass(frozen=True)
class Report:
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]


def columns_of(targets: Iterable[Target]) -> tuple[Column, ...]:
    return tuple(sorted({Column(t.python.version, t.arch, t.accelerator) for t in targets}))


def release_versions(files: Iterable[IndexFile], project: str) -> list[Version]:
    """Every non-yanked, final version on a project page, newest first."""
    name = canonicalize_name(project)
    found: set[Version] = set()
    for f in files:
        if f.is_yanked:
            continue
        try:
            if f.filename.endswith(".whl"):
                file_name, version, _, _ = parse_wheel_filename(f.filename)
            else:
                file_name, version = parse_sdist_filename(f.filename)
        except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
            continue
        if file_name == name and not (version.is_prerelease or version.is_devrelease):
            found.add(version)
    return sorted(found, reverse=True)


def newest_like(versions: Sequence[Version], current: str) -> Version | None:
    """The newest version with the same local tag as `current` (`+cu128`, `+cpu` or none)."""
    local = Version(current).local
    return next((v for v in versions if v.local == local), None)


def matching_set(
    torch: Sequence[Version], vision: Sequence[Version], audio: Sequence[Version],
    current: str,
) -> tuple[Version, Version, Version] | None:
    """The newest torch with its torchvision and torchaudio on the index (same local tag)."""
    local = Version(current).local
    visions, audios = set(vision), set(audio)
    for t in torch:
        if t.local != local:
            continue
        major, minor, patch = (*t.release, 0, 0, 0)[:3]
        suffix = f"+{local}" if local else ""
        v = Version(f"0.{minor + TORCHVISION_MINOR_OFFSET}.{patch}{suffix}")
        a = Version(f"{major}.{minor}.{patch}{suffix}")
        if major >= 2 and v in visions and a in audios:
            return t, v, a
    return None


def _fetch(
    requests: dict[str, list[IndexRequest]], options: FetchOptions
) -> tuple[dict[tuple[str, str], ProjectPage], dict[str, str]]:
    def one(url: str) -> dict[IndexRequest, ProjectPage] | str:
        try:
            return fetch_many(requests[url], options)
        except PackageIndexError as exc:
            return str(exc)

    pages: dict[tuple[str, str], ProjectPage] = {}
    down: dict[str, str] = {}
    if not requests:
        return pages, down
    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        answers = dict(zip(requests, pool.map(one, requests), strict=True))
    for url, answer in answers.items():
        if isinstance(answer, str):
            down[url] = answer
        else:
            pages.update({(url, r.project): page for r, page in answer.items()})
    return pages, down


def newest_pythons(uv: str | None, *, timeout: float = 30.0) -> dict[str, str]:
    """{"3.13": "3.13.N"}: the newest CPython patch per minor that uv can install (uv's own
    download list; no network). Empty when uv is not there."""
    if uv is None:
        return {}
    command = [uv, "python", "list", "--all-versions", "--only-downloads", "--output-format",
               "json"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BakeryError(f"`{' '.join(command[:3])}` did not answer within {timeout:g}s"
                          ) from None
    if done.returncode != 0:
        return {}
    try:
        items = json.loads(done.stdout)
    except (ValueError, RecursionError):
        items = None
    if not isinstance(items, list):
        raise BakeryError(f"`{' '.join(command[:3])}` printed something other than its JSON"
                          f" list of pythons: {done.stdout[:60]!r}")
    newest: dict[str, Version] = {}
    for item in items:
        if not isinstance(item, dict) or item.get("implementation") != "cpython" \
                or item.get("variant") != "default":
            continue
        try:
            version = Version(str(item["version"]))
        except (InvalidVersion, KeyError):
            continue
        if version.is_prerelease:
            continue
        minor = f"{version.major}.{version.minor}"
        if minor not in newest or version > newest[minor]:
            newest[minor] = version
    return {k: str(v) for k, v in newest.items()}


@dataclass(frozen=True)
class _Pin:
    pin: str
    project: str
    index: str  # URL
    current: str
    columns: tuple[Column, ...]
    plain_linux: bool = False


def collect(
    matrix: Matrix, targets: Sequence[Target], options: FetchOptions, uv: str | None
) -> Report:
    columns = columns_of(targets)
    pypi = matrix.index_url("pypi")
    pins: list[_Pin] = []
    for name in ("transformers", "tokenizers"):
        if name in matrix.versions:
            pins.append(_Pin(name, name, pypi, matrix.versions[name], columns))
    for feature in matrix.features.values():
        cols = tuple(c for c in columns if not feature.gpu_only or c.accelerator == "cuda")
        pins.append(_Pin(feature.package, feature.package, pypi,
                         feature.version, cols))
    if "uv" in matrix.artifacts:
        pins.append(_Pin("uv", "uv", pypi, matrix.artifacts["uv"].version, columns))
    torch_sets: dict[tuple[str, str, str, str], tuple[Column, ...]] = {}
    for t in targets:
        image = matrix.images[t.image]
        key = (matrix.index_url(image.torch.index), image.torch.torch, image.torch.torchvision,
               image.torch.torchaudio)
        col = Column(t.python.version, t.arch, t.accelerator)
        torch_sets[key] = tuple(sorted({*torch_sets.get(key, ()), col}))

    requests: dict[str, list[IndexRequest]] = {}
    for p in pins:
        requests.setdefault(p.index, []).append(IndexRequest(p.index, p.project))
    for url, *_ in torch_sets:
        for project in ("torch", "torchvision", "torchaudio"):
            requests.setdefault(url, []).append(IndexRequest(url, project))
    with ThreadPoolExecutor(max_workers=1) as pool:
        pythons_future = pool.submit(newest_pythons, uv)
        pages, down = _fetch(requests, options)
        pythons = pythons_future.result()

    rows = [_python_row(role, version, pythons, columns)
            for role, version in (("primary", matrix.python.primary),
                                  ("fallback", matrix.python.fallback)) if version]
    for (url, torch, vision, audio), cols in torch_sets.items():
        names = [n for n in ("pypi", *matrix.indexes) if matrix.index_url(n) == url]
        rows.append(_torch_row(names[0] if names else url, url, (torch, vision, audio), cols,
                               columns, pages, down, pypi))
    for p in pins:
        rows.append(_pin_row(p, columns, pages, down))
    return Report(columns=columns, rows=tuple(rows))


def _python_row(role: str, version: str, pythons: dict[str, str],
                columns: tuple[Column, ...]) -> Row:
    minor = ".".join(version.split(".")[:2])
    newest = pythons.get(minor)
    note = "" if pythons else "uv not found: newest patch unknown"
    return Row(pin=f"python ({role})", index="uv python list", current=version, newest=newest,
               wheels={c.label: "-" for c in columns}, note=note)


def _check(files: Iterable[IndexFile], project: str, version: str, column: Column,
           plain: bool) -> str:
    target = WheelTarget(python=column.python, arch=column.arch,  # type: ignore[arg-type]
                         allow_plain_linux=plain)
    answer = check_wheel(files, project=project, version=version, target=target)
    return str(answer.verdict)  # Verdict.OK is "ok"


def _pin_row(p: _Pin, columns: tuple[Column, ...],
             pages: dict[tuple[str, str], ProjectPage], down: dict[str, str]) -> Row:
    project = str(canonicalize_name(p.project))
    page = pages.get((p.index, project))
    if page is None:
        return Row(p.pin, p.index, p.current, None, {}, down.get(p.index, "no answer"))
    newest = newest_like(release_versions(page.files, project), p.current)
    wheels = {
        c.label: _check(page.files, project, str(newest), c, p.plain_linux)
        if c in p.columns and newest is not None else "-"
        for c in columns
    }
    return Row(p.pin, p.index, p.current, str(newest) if newest else None, wheels,
               "" if page.found else "not on this index")


def _torch_row(name: str, url: str, current: tuple[str, str, str], cols: tuple[Column, ...],
               columns: tuple[Column, ...], pages: dict[tuple[str, str], ProjectPage],
               down: dict[str, str], pypi: str) -> Row:
    label = f"torch set ({name})"
    shown = " / ".join(current)
    if url in down:
        return Row(label, url, shown, None, {}, down[url])
    files = [pages[(url, name)].files for name in ("torch", "torchvision", "torchaudio")]
    versions = [release_versions(f, n) for f, n in zip(
        files, ("torch", "torchvision", "torchaudio"), strict=True)]
    found = matching_set(versions[0], versions[1], versions[2], current=current[0])
    if found is None:
        return Row(label, url, shown, None, {}, "no complete matching set on this index")
    plain = url != pypi
    wheels = {}
    for c in columns:
        if c not in cols:
            wheels[c.label] = "-"
            continue
        verdicts = [_check(f, n, str(v), c, plain) for f, n, v in zip(
            files, ("torch", "torchvision", "torchaudio"), found, strict=True)]
        bad = [f"{n} {v}" for n, v in zip(("torch", "torchvision", "torchaudio"), verdicts,
                                          strict=True) if v != Verdict.OK]
        wheels[c.label] = str(Verdict.OK) if not bad else ", ".join(bad)
    return Row(label, url, shown, " / ".join(str(v) for v in found), wheels)
