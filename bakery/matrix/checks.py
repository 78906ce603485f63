"""Rules that relate several parts of the matrix; each error names the exact key path."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from packaging.version import Version

from bakery.errors import ConfigError
from bakery.suggest import did_you_mean, known
from bakery.tags.refs import namespace_problem, repository_problem
from bakery.tags.templates import check_template
from bakery.versions import parse_version

if TYPE_CHECKING:
    from bakery.matrix.models import Matrix

# the groups every plan has (bakery.plan.expand makes them); no image or alias may take a name
RESERVED_GROUPS = ("default", "all", "fallback", "dind")
_ID = re.compile(r"^[a-zA-Z0-9_-]+\Z")
_SEMVER_FIELDS = ("version", "major", "minor", "patch", "raw")
_VERSION_KEY = re.compile(r"^[a-z][a-z0-9_-]*\Z")
_TAG_PART = re.compile(r"^[A-Za-z0-9_.-]+\Z")


def check_matrix(matrix: Matrix, *, source: str) -> None:
    """Raise ConfigError for the first contradiction in an otherwise well-formed matrix."""

    def fail(path: str, message: str) -> None:
        raise ConfigError(f"{source}: {path}: {message}")

    problem = namespace_problem(matrix.namespace)
    if problem:
        fail("namespace", f"{matrix.namespace!r} is not a valid namespace: {problem}")

    python = matrix.python
    if python.fallback is not None and Version(python.fallback) >= Version(python.primary):
        fail(
            "python.fallback",
            f"{python.fallback!r} is not older than the primary {python.primary!r}"
            " (the fallback must be an older Python)",
        )

    for flag, feature in matrix.features.items():
        extra = feature.extra_index
        if extra is not None and extra not in matrix.indexes:
            fail(
                f"features.{flag}.extra_index",
                f"unknown index {extra!r}{did_you_mean(extra, matrix.indexes)};"
                f" {known(list(matrix.indexes))}",
            )
    for name, url in matrix.indexes.items():
        url_problem = index_url_problem(url)
        if url_problem:
            fail(f"indexes.{name}", f"{url!r}: {url_problem}")

    for section in ("versions", "artifacts", "features"):
        for name in getattr(matrix, section):
            if not _VERSION_KEY.match(name):
                fail(f"{section}.{name}",
                     "names must be lowercase letters, digits, '-' and '_' (build arg names)")
    _check_build_args(matrix, fail)

    if python.fallback is not None and _minor(python.fallback) == _minor(python.primary):
        fail(
            "python.fallback",
            f"{python.fallback!r} has the primary's minor version ({_minor(python.primary)});"
            " the fallback must be an older minor (its targets are named by minor, e.g. py312)",
        )
    for field in ("prefix", "suffix"):
        value = getattr(matrix.release, field)
        if value and not _TAG_PART.match(value):
            fail(f"release.{field}", f"{value!r} cannot be part of a tag (allowed: letters,"
                 " digits, '_', '.', '-')")
    for i, rule in enumerate(matrix.release.rules):
        prefix = getattr(rule, "prefix", None)
        if prefix and not _TAG_PART.match(prefix):
            fail(f"release.rules[{i}].prefix", f"{prefix!r} cannot be part of a tag (allowed:"
                 " letters, digits, '_', '.', '-')")
    for i, template in enumerate(matrix.cache.from_):
        check_template(template, where=f"{source}: cache.from[{i}]")
    for i, template in enumerate(matrix.cache.to):
        check_template(template, where=f"{source}: cache.to[{i}]")

    if not matrix.images:
        fail("images", "no images defined")

    groups: dict[str, str] = dict.fromkeys(RESERVED_GROUPS, "a built-in group")
    for image_name, image in matrix.images.items():
        where = f"images.{image_name}"
        if not _ID.match(image_name) or repository_problem(image_name):
            fail(where, f"{image_name!r} must be a lowercase repository name ([a-z0-9_-])")
        problem = repository_problem(f"{matrix.namespace}/{image_name}")
        if problem:
            fail(where, problem)
        if image_name in groups:
            fail(where, f"{image_name!r} is already {groups[image_name]}")
        groups[image_name] = f"the image {image_name!r}"

        index = image.torch.index
        if index != "pypi" and index not in matrix.indexes:
            fail(
                f"{where}.torch.index",
                f"unknown index {index!r}{did_you_mean(index, matrix.indexes)};"
                f" {known(['pypi', *matrix.indexes])}",
            )
        locals_ = {parse_version(v).local for v in (image.torch.torch, image.torch.torchvision,
                                               image.torch.torchaudio)}
        if len(locals_) > 1:
            fail(
                f"{where}.torch",
                "torch, torchvision and torchaudio must share one local tag (e.g. all '+cu128'),"
                f" got {sorted(str(x) for x in locals_)}",
            )

        for flag, setting in image.features.items():
            fpath = f"{where}.features.{flag}"
            if flag not in matrix.features:
                fail(fpath, f"unknown feature {flag!r}{did_you_mean(flag, matrix.features)};"
                     f" {known(matrix.features)}")
            feature = matrix.features[flag]
            if feature.gpu_only and image.accelerator != "cuda" and setting != "off":
                fail(
                    fpath,
                    f"{setting!r} but {flag!r} is GPU-only and this image's accelerator is"
                    f" {image.accelerator!r} (set it to 'off' or remove it)",
                )

        if image.gpu is not None and image.accelerator != "cuda":
            fail(f"{where}.gpu", "the driver and compute capability a GPU needs are stated for"
                 f" a CUDA image only; this image's accelerator is {image.accelerator!r}")

        for art_name, artifact in matrix.artifacts.items():
            if isinstance(artifact.sha256, dict) and image.arch not in artifact.sha256:
                fail(f"artifacts.{art_name}.sha256", f"no checksum for {image.arch!r}, which"
                     f" the image {image_name!r} needs")
            if isinstance(artifact.url, dict) and image.arch not in artifact.url:
                fail(f"artifacts.{art_name}.url", f"no url for {image.arch!r}, which"
                     f" the image {image_name!r} needs")

        for field in ("legacy_tags", "dind_tags"):
            for i, template in enumerate(getattr(image, field)):
                check_template(template, where=f"{source}: {where}.{field}[{i}]")
                if ":" not in template.rsplit("/", 1)[-1]:
                    fail(f"{where}.{field}[{i}]", f"{template!r} has no tag part (REPO:TAG);"
                         " without one docker would push it as :latest")
        if image.arch not in matrix.runners:
            fail("runners", f"no runner for {image.arch!r}, which {where} uses;"
                 f" {known(list(matrix.runners))}")
        if image.dind_tags and not image.dind:
            fail(f"{where}.dind_tags", "set, but dind = false for this image")

    for image_name, image in matrix.images.items():
        for i, alias in enumerate(image.aliases):
            if not _ID.match(alias):
                fail(f"images.{image_name}.aliases[{i}]", f"{alias!r} must match [a-zA-Z0-9_-]+")
            if alias in groups:
                fail(f"images.{image_name}.aliases[{i}]", f"{alias!r} is already {groups[alias]}")
            groups[alias] = f"an alias of {image_name!r}"

    for name, stage in matrix.stages.items():
        if not _ID.match(name):
            fail(f"stages.{name}", "stage names must match [a-zA-Z0-9_-]+")
        del stage

    for i, rule in enumerate(matrix.release.rules):
        if rule.type == "semver":
            _check_semver_pattern(rule.pattern, where=f"{source}: release.rules[{i}].pattern")
    if matrix.dind.suffix and not re.match(r"^[A-Za-z0-9_.-]+$", matrix.dind.suffix):
        fail("dind.suffix", f"{matrix.dind.suffix!r} cannot be part of a tag")


def index_url_problem(url: str) -> str | None:
    """Why `url` cannot be a package index URL, or None when it can."""
    from urllib.parse import urlsplit

    if any(c.isspace() for c in url) or not url.isprintable():
        return "not a URL (it contains spaces or control characters)"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as exc:
        return f"not a URL ({exc})"
    if parts.scheme not in ("http", "https"):
        return "not an http(s) URL"
    if not parts.hostname:
        return "an http(s) URL needs a host"
    if parts.query or parts.fragment:
        return "an index URL takes no query or fragment"
    return None


def _minor(version: str) -> tuple[int, ...]:
    return Version(version).release[:2]


# Where each build arg bakery sets comes from: the fixed ones, then each matrix section.
_FIXED_ARGS = {
    "BASE_IMAGE": "base_image",
    "PYTHON_VERSION": "python",
    "FFMPEG_PROFILE": "images.*.ffmpeg_profile",
    "TORCH_VERSION": "images.*.torch.torch",
    "TORCHVISION_VERSION": "images.*.torch.torchvision",
    "TORCHAUDIO_VERSION": "images.*.torch.torchaudio",
    "TORCH_INDEX_URL": "images.*.torch.index",
    "EE_DD_DEFAULT": "dind.ee_dd",
    # every feature reaches the Dockerfiles through these two, whatever its name
    "FEATURE_PACKAGES": "features",
    "FEATURE_INDEX_URLS": "features.*.extra_index",
}


def arg_name(key: str) -> str:
    """`flash-attn` -> `FLASH_ATTN`: the build-arg spelling of a matrix key."""
    return key.upper().replace("-", "_")


def _check_build_args(matrix: Matrix, fail: Callable[[str, str], None]) -> None:
    """Two keys that become one build arg would silently overwrite each other (an image whose
    PYTHON_VERSION is not the python its tags name): refuse, naming both keys."""
    sources: dict[str, str] = dict(_FIXED_ARGS)

    def claim(arg: str, key: str) -> None:
        if arg in sources:
            fail(key, f"sets the build arg {arg}, which {sources[arg]} already sets;"
                 " rename one of them")
        sources[arg] = key

    for name in matrix.versions:
        claim(f"{arg_name(name)}_VERSION", f"versions.{name}")
    for name, artifact in matrix.artifacts.items():
        claim(f"{arg_name(name)}_VERSION", f"artifacts.{name}")
        if artifact.sha256 is not None:
            claim(f"{arg_name(name)}_SHA256", f"artifacts.{name}.sha256")
        if artifact.url is not None:
            claim(f"{arg_name(name)}_URL", f"artifacts.{name}.url")


def _check_semver_pattern(pattern: str, *, where: str) -> None:
    names = re.findall(r"\{\{\s*([a-z_]+)\s*\}\}", pattern)
    if not names:
        raise ConfigError(f"{where}: {pattern!r} has no {{{{version}}}}-style placeholder")
    for name in names:
        if name not in _SEMVER_FIELDS:
            raise ConfigError(
                f"{where}: unknown placeholder {{{{{name}}}}}{did_you_mean(name, _SEMVER_FIELDS)};"
                f" {known(_SEMVER_FIELDS)}"
            )
