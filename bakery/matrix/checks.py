"""Rules that relate several parts of the matrix; each error names the exact key path."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from packaging.version import Version

from bakery.errors import ConfigError
from bakery.suggest import did_you_mean, known
from bakery.tags.refs import namespace_problem, repository_problem
from bakery.tags.templates import check_template

if TYPE_CHECKING:
    from bakery.matrix.models import Matrix

# the groups every plan has (bakery.plan.expand makes them); no image or alias may take a name
RESERVED_GROUPS = ("default", "all", "fallback", "dind")
_ID = re.compile(r"^[a-zA-Z0-9_-]+$")
_SEMVER_FIELDS = ("version", "major", "minor", "patch", "raw")
_VERSION_KEY = re.compile(r"^[a-z][a-z0-9_-]*$")


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
        if not url.startswith(("https://", "http://")):
            fail(f"indexes.{name}", f"{url!r} is not an http(s) URL")

    for name in [*matrix.versions, *matrix.artifacts, *matrix.features]:
        if not _VERSION_KEY.match(name):
            fail(name, "names must be lowercase letters, digits, '-' and '_' (build arg names)")

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
        locals_ = {Version(v).local for v in (image.torch.torch, image.torch.torchvision,
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

        for art_name, artifact in matrix.artifacts.items():
            if isinstance(artifact.sha256, dict) and image.arch not in artifact.sha256:
                fail(f"artifacts.{art_name}.sha256", f"no checksum for {image.arch!r}, which"
                     f" the image {image_name!r} needs")

        for field in ("legacy_tags", "dind_tags"):
            for i, template in enumerate(getattr(image, field)):
                check_template(template, where=f"{source}: {where}.{field}[{i}]")
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
