"""Expansion: matrix (+ preflight decisions, + git context) -> targets and groups.

A pure function: no files, no environment, no subprocesses. Linear in the number of targets.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from packaging.version import Version

from bakery.errors import ConfigError
from bakery.matrix.checks import RESERVED_GROUPS
from bakery.matrix.models import Image, Matrix, ReleaseConfig
from bakery.plan.multiarch import multiarch_indexes
from bakery.plan.target import (
    FlagChoice,
    GitInfo,
    ImageChoice,
    MultiArchIndex,
    Plan,
    PythonChoice,
    StageTarget,
    TagSet,
    Target,
)
from bakery.suggest import did_you_mean
from bakery.tags.git import GitContext
from bakery.tags.refs import ImageRef, namespace_problem, normalize_version
from bakery.tags.release import edge_tags as _edge_tags
from bakery.tags.release import latest_moves as _latest_moves
from bakery.tags.release import release_tags as _release_tags
from bakery.tags.templates import fill, is_floating


# The release rules give the same tags to every target with the same variant suffix: computed
# once per plan and suffix, not once per target (a plan of 10,000 images has 30,000 targets).
@functools.lru_cache(maxsize=256)
def release_tags(config: ReleaseConfig, git: GitContext, variant_suffix: str) -> tuple[str, ...]:
    return tuple(_release_tags(config, git, variant_suffix=variant_suffix))


@functools.lru_cache(maxsize=256)
def edge_tags(config: ReleaseConfig, git: GitContext, variant_suffix: str) -> tuple[str, ...]:
    return tuple(_edge_tags(config, git, variant_suffix=variant_suffix))


@functools.lru_cache(maxsize=16)
def latest_moves(config: ReleaseConfig, git: GitContext) -> bool:
    return _latest_moves(config, git)


def arg_name(key: str) -> str:
    """`flash-attn` -> `FLASH_ATTN`: the build-arg spelling of a matrix key."""
    return key.upper().replace("-", "_")


def _short(version: str) -> str:
    release = Version(version).release
    return f"{release[0]}{release[1]}"


def _minor(version: str) -> str:
    release = Version(version).release
    return f"{release[0]}.{release[1]}"


def expand(
    matrix: Matrix,
    *,
    git: GitContext | None = None,
    decisions: Mapping[str, ImageChoice] | None = None,
    source: str = "matrix.toml",
    base_images: Mapping[str, str] | None = None,
    package_locks: Mapping[str, str] | None = None,
) -> Plan:
    """Expand the matrix into its plan. `decisions` come from the preflight lock, if any;
    `base_images` (platform -> pinned ref) and `package_locks` (`<image>-py<NN>` -> lock file)
    from the package locks (bakery.lockfile)."""
    locked = _Locked(base_images or {}, package_locks or {})
    git = git or GitContext()
    targets: list[Target] = []
    stages: dict[str, StageTarget] = {}
    for image_name, image in matrix.images.items():
        decision = (decisions or {}).get(image_name)
        for target, used_stages in _image_targets(
            matrix, image_name, image, decision, git, source, locked
        ):
            for stage in used_stages:
                stages.setdefault(stage.id, stage)
            targets.append(target)

    indexes = multiarch_indexes(matrix, targets, git, source) if matrix.multiarch else ()
    _check_unique(targets, matrix, indexes)
    groups = _groups(matrix, targets)
    return Plan(
        git=GitInfo(ref=git.ref, sha=git.sha, source=git.source),
        targets=tuple(targets),
        stages=tuple(stages.values()),
        groups=groups,
        multiarch=indexes,
    )


def _python_choices(
    matrix: Matrix, image_name: str, decision: ImageChoice | None, source: str
) -> tuple[str, list[PythonChoice]]:
    policy = matrix.python
    if decision is None:
        selected, reason = policy.primary, "primary python (matrix.toml; not checked by preflight)"
    else:
        selected, reason = decision.python, decision.python_reason
        if selected not in (policy.primary, policy.fallback):
            raise ConfigError(
                f"{source}: python: the lock selects python {selected!r} for {image_name!r},"
                " which is neither python.primary nor python.fallback; run `bakery preflight`"
            )
    choices = []
    if selected == policy.primary:
        choices.append(PythonChoice(version=policy.primary, role="primary", reason=reason))
        if policy.fallback:
            choices.append(
                PythonChoice(
                    version=policy.fallback,
                    role="fallback",
                    reason="fallback python variant (group 'fallback')",
                )
            )
    else:
        choices.append(PythonChoice(version=selected, role="fallback", reason=reason))
    return selected, choices


def _flags(
    matrix: Matrix, image: Image, decision: ImageChoice | None, image_name: str, source: str
) -> dict[str, FlagChoice]:
    flags: dict[str, FlagChoice] = {}
    for flag, feature in matrix.features.items():
        setting = image.features.get(flag)
        if setting is None:
            reason = (
                f"GPU-only; this is a {image.accelerator} image"
                if feature.gpu_only and image.accelerator != "cuda"
                else "not enabled for this image in matrix.toml"
            )
            flags[flag] = FlagChoice(setting="off", enabled=False, reason=reason)
        elif setting == "auto":
            decided = (decision.flags.get(flag) if decision else None)
            if decided is None:
                raise ConfigError(
                    f"{source}: images.{image_name}.features.{flag}: 'auto' is decided by"
                    " preflight, and the lock has no decision for it; run `bakery preflight`"
                    " (or set the flag to 'on' or 'off')"
                )
            flags[flag] = FlagChoice(setting="auto", enabled=decided.enabled,
                                       reason=decided.reason)
        else:
            flags[flag] = FlagChoice(
                setting=setting, enabled=setting == "on", reason=f"{setting} in matrix.toml"
            )
    return flags


def _image_targets(
    matrix: Matrix,
    image_name: str,
    image: Image,
    decision: ImageChoice | None,
    git: GitContext,
    source: str,
    locked: _Locked,
) -> list[tuple[Target, list[StageTarget]]]:
    selected, choices = _python_choices(matrix, image_name, decision, source)
    flags = _flags(matrix, image, decision, image_name, source)
    repo = ImageRef.parse(f"{matrix.namespace}/{image_name}", where=f"{source}: namespace"
                          ).repository
    staging = _staging_repository(matrix, image_name, source)
    transformers = matrix.versions.get("transformers", "")
    targets = []
    for choice in choices:
        is_selected = choice.version == selected
        variant_flags = flags if is_selected else _unchecked(flags, selected, choice.version)
        variants = ["default" if is_selected else "fallback"]
        if is_selected and image.dind:
            variants.append("dind")
        base_tag = (
            f"py{choice.version}-th{normalize_version(image.torch.torch)}"
            f"-tr{normalize_version(transformers)}"
        )
        for variant in variants:
            dind = variant == "dind"
            target_id = f"{image_name}-py{_short(choice.version)}" + ("-dind" if dind else "")
            primary_tag = base_tag + (matrix.dind.suffix if dind else "")
            values = {
                "namespace": matrix.namespace,
                "image": image_name,
                "repo": repo,
                "tag": base_tag,
                "arch": image.arch,
                "machine": image.machine,
                "python": choice.version,
                "python_minor": _minor(choice.version),
                "torch": normalize_version(image.torch.torch),
                "transformers": normalize_version(transformers),
                "accelerator": image.accelerator,
                "id": target_id,
            }
            cache_values = values
            variant_suffix = ("" if is_selected else f"-py{_short(choice.version)}") + (
                matrix.dind.suffix if dind else ""
            )
            where = f"{source}: images.{image_name}"
            # a name without {tag} floats (`...:latest`): it moves only when `latest` does
            floats = latest_moves(matrix.release, git)
            tags = TagSet(
                primary=(_ref(f"{repo}:{primary_tag}", f"{where} (primary tag)"),),
                legacy=tuple(
                    _ref(fill(t, values), f"{where}.legacy_tags[{i}]")
                    for i, t in enumerate(image.legacy_tags)
                    if floats or not is_floating(t)
                )
                if variant == "default"
                else (),
                compatibility=tuple(
                    _ref(fill(t, values), f"{where}.dind_tags[{i}]")
                    for i, t in enumerate(image.dind_tags)
                    if floats or not is_floating(t)
                )
                if dind
                else (),
                release=tuple(
                    _ref(f"{repo}:{tag}", f"{source}: release.rules (for git ref {git.ref!r})")
                    for tag in release_tags(matrix.release, git, variant_suffix)
                ),
                edge=tuple(
                    _ref(f"{repo}:{tag}", f"{source}: release.rules (for git ref {git.ref!r})")
                    for tag in edge_tags(matrix.release, git, variant_suffix)
                ),
            )
            args = _build_args(matrix, image, choice.version, flags, dind)
            args["BASE_IMAGE"] = locked.base_images.get(image.platform, matrix.base_image)
            args["PACKAGES_LOCK"] = locked.package_locks.get(
                f"{image_name}-py{_short(choice.version)}", ""
            )
            args = dict(sorted(args.items()))
            stages = _stages_for(matrix, image, args, source)
            parent = target_id.removesuffix("-dind") if dind else None
            contexts = ({"image": f"target:{parent}"} if parent
                        else {name: f"target:{st.id}" for name, st in stages.items()})
            targets.append((
                Target(
                    id=target_id,
                    image=image_name,
                    repository=repo,
                    variant=variant,
                    platform=image.platform,
                    arch=image.arch,
                    machine=image.machine,
                    accelerator=image.accelerator,
                    python=choice,
                    flags=variant_flags,
                    context=image.context,
                    dockerfile=(matrix.dind.dockerfile if dind
                                else image.dockerfile or f"images/{image_name}/Dockerfile"),
                    contexts=contexts,
                    args=args,
                    tags=tags,
                    candidate=_ref(f"{staging}:{primary_tag}", f"{source}: publish.staging"),
                    labels=_labels(matrix, image_name, image, choice.version, flags, primary_tag,
                                   target_id, args),
                    # a derived variant builds nothing of its own: no cache to read or write
                    cache_from=() if dind else tuple(fill(c, cache_values)
                                                     for c in matrix.cache.from_),
                    cache_to=() if dind else tuple(fill(c, cache_values) for c in matrix.cache.to),
                    derived_from=parent,
                    size_budget=image.budget_bytes,
                    attest=_attest(matrix),
                ),
                [] if dind else list(stages.values()),
            ))
    return targets


def _staging_repository(matrix: Matrix, image_name: str, source: str) -> str:
    """Where bake pushes the candidates of one image: `<publish.staging>/<image>`, else
    `<namespace>/<image>-staging` (a repository of its own, next to the product one)."""
    staging = matrix.publish.staging
    if staging is None:
        return f"{matrix.namespace}/{image_name}-staging"
    problem = namespace_problem(staging)
    if problem:
        raise ConfigError(f"{source}: publish.staging: {staging!r} is not a valid namespace:"
                          f" {problem}")
    return ImageRef.parse(f"{staging}/{image_name}", where=f"{source}: publish.staging"
                          ).repository


def _attest(matrix: Matrix) -> tuple[str, ...]:
    publish = matrix.publish
    out = [] if publish.provenance == "off" else [f"type=provenance,mode={publish.provenance}"]
    if publish.sbom:
        out.append("type=sbom")
    return tuple(out)


def _cache_ref(entry: str) -> ImageRef | None:
    """The image reference of a `type=registry,ref=...` cache entry, if it has one."""
    fields = dict(part.partition("=")[::2] for part in entry.split(","))
    if fields.get("type", "registry") != "registry" or "ref" not in fields:
        return None
    return ImageRef.parse(fields["ref"], where=f"cache: {entry!r}")


def _unchecked(
    flags: Mapping[str, FlagChoice], decided_for: str, python: str
) -> dict[str, FlagChoice]:
    """The flags of a variant on a python preflight did not decide for: `auto` flags follow
    the decision for the image's python, and their reason says so."""
    return {
        name: flag.model_copy(update={"reason": f"follows the decision for python {decided_for}"
                                      f" ({flag.reason}); not checked for python {python}"})
        if flag.setting == "auto" else flag
        for name, flag in flags.items()
    }


@dataclass(frozen=True)
class _Locked:
    base_images: Mapping[str, str]
    package_locks: Mapping[str, str]


def _ref(text: str, where: str) -> str:
    return str(ImageRef.parse(text, where=where, default_tag="latest"))


def _build_args(
    matrix: Matrix, image: Image, python: str, flags: Mapping[str, FlagChoice], dind: bool
) -> dict[str, str]:
    args = {"BASE_IMAGE": matrix.base_image, "PYTHON_VERSION": python}
    for name, version in matrix.versions.items():
        args[f"{arg_name(name)}_VERSION"] = version
    for name, artifact in matrix.artifacts.items():
        args[f"{arg_name(name)}_VERSION"] = artifact.version
        sha = artifact.sha256
        if sha is not None:
            args[f"{arg_name(name)}_SHA256"] = sha if isinstance(sha, str) else sha[image.arch]
        url = artifact.url
        if url is not None:
            args[f"{arg_name(name)}_URL"] = url if isinstance(url, str) else url[image.arch]
    args["FFMPEG_PROFILE"] = image.ffmpeg_profile
    torch = image.torch
    args["TORCH_VERSION"] = torch.torch
    args["TORCHVISION_VERSION"] = torch.torchvision
    args["TORCHAUDIO_VERSION"] = torch.torchaudio
    args["TORCH_INDEX_URL"] = "" if torch.index == "pypi" else matrix.index_url(torch.index)
    for flag, feature in matrix.features.items():
        args[arg_name(flag)] = "true" if flags[flag].enabled else "false"
        args[f"{arg_name(flag)}_VERSION"] = feature.version
        if feature.extra_index is not None:
            args[f"{arg_name(flag)}_INDEX_URL"] = matrix.index_url(feature.extra_index)
    args["EE_DD_DEFAULT"] = matrix.dind.ee_dd if dind else "false"
    return dict(sorted(args.items()))


def _labels(
    matrix: Matrix,
    image_name: str,
    image: Image,
    python: str,
    flags: Mapping[str, FlagChoice],
    primary_tag: str,
    target_id: str,
    args: Mapping[str, str],
) -> dict[str, str]:
    oci = "org.opencontainers.image"
    labels = {
        f"{oci}.title": image_name,
        f"{oci}.description": image.description,
        f"{oci}.version": primary_tag,
        f"{oci}.base.name": matrix.base_image,
    }
    labels.update(matrix.labels)
    prefix = matrix.label_prefix
    labels[f"{prefix}.target"] = target_id
    labels[f"{prefix}.python"] = python
    for key in ("torch", "torchvision", "torchaudio"):
        labels[f"{prefix}.{key}"] = getattr(image.torch, key)
    for name, version in matrix.versions.items():
        labels[f"{prefix}.{name}"] = version
    for name, artifact in matrix.artifacts.items():
        labels[f"{prefix}.{name}"] = artifact.version
    enabled = [f"{matrix.features[f].package}=={matrix.features[f].version}"
               for f, d in flags.items() if d.enabled]
    labels[f"{prefix}.features"] = ",".join(enabled)
    labels[f"{prefix}.ee_dd"] = args["EE_DD_DEFAULT"]
    return dict(sorted(labels.items()))


def _stages_for(
    matrix: Matrix, image: Image, target_args: Mapping[str, str], source: str
) -> dict[str, StageTarget]:
    """The shared stages an image target uses, identified by everything that shapes them, so
    targets that need the same stage (same args, same platform) share one bake target."""
    out = {}
    for name, stage in matrix.stages.items():
        args = {}
        for arg in stage.args:
            if arg not in target_args:
                raise ConfigError(
                    f"{source}: stages.{name}.args: {arg!r} is not a build arg bakery sets"
                    f"{did_you_mean(arg, target_args)}"
                )
            args[arg] = target_args[arg]
        key = "\0".join([name, stage.dockerfile, stage.target, image.platform,
                         *(f"{k}={v}" for k, v in args.items())])
        digest = hashlib.sha256(key.encode()).hexdigest()[:10]
        out[name] = StageTarget(
            id=f"stage-{name}-{image.arch}-{digest}",
            stage=name,
            context=image.context,
            dockerfile=stage.dockerfile,
            target=stage.target,
            platform=image.platform,
            args=args,
        )
    return out


def _check_unique(targets: list[Target], matrix: Matrix,
                  indexes: tuple[MultiArchIndex, ...] = ()) -> None:
    owners: dict[str, str] = {}
    for target in targets:
        if target.id in owners:
            raise ConfigError(
                f"two targets have the id {target.id!r} ({owners[target.id]} and image"
                f" {target.image!r}); rename one of the images"
            )
        owners[target.id] = f"image {target.image!r}"
    claimed: dict[str, str] = {}
    for target in targets:
        for kind in ("primary", "legacy", "compatibility", "release"):
            for ref in getattr(target.tags, kind):
                if ref in claimed:
                    raise ConfigError(
                        f"tag {ref!r} is claimed by two targets: {claimed[ref]} and"
                        f" {target.id} ({kind}); make the templates in matrix.toml distinct"
                    )
                claimed[ref] = f"{target.id} ({kind})"
    for index in indexes:
        for ref in index.tags:
            if ref in claimed:
                raise ConfigError(
                    f"tag {ref!r} is claimed twice: by {claimed[ref]} and by multiarch"
                    f".{index.id}; make the templates in matrix.toml distinct"
                )
            claimed[ref] = f"multiarch.{index.id}"
    public = {ImageRef.parse(ref).canonical_repository for ref in claimed}
    for target in targets:
        candidate = ImageRef.parse(target.candidate)
        if candidate.canonical_repository in public:
            raise ConfigError(
                f"publish.staging: {target.id}'s candidate {target.candidate} is in"
                f" {candidate.repository}, a repository users pull from; staging must be a"
                " repository of its own"
            )
        for entry in (*target.cache_from, *target.cache_to):
            cache = _cache_ref(entry)
            if cache is not None and cache.canonical_repository in public:
                raise ConfigError(
                    f"cache: {target.id}'s cache {cache} is in {cache.repository}, a repository"
                    " users pull from; give the cache a repository of its own (e.g."
                    " ref={repo}-cache:{id})"
                )
    group_names = dict.fromkeys(RESERVED_GROUPS, "a built-in group")
    for image_name, image in matrix.images.items():
        group_names[image_name] = f"images.{image_name} (the image's group)"
        for i, alias in enumerate(image.aliases):
            group_names[alias] = f"images.{image_name}.aliases[{i}]"
    for name, origin in group_names.items():
        if name in owners:
            raise ConfigError(
                f"{origin}: {name!r} is also the id of a target of {owners[name]}; a group and"
                " a target cannot share a name (rename the alias or the image)"
            )


def _groups(matrix: Matrix, targets: list[Target]) -> dict[str, tuple[str, ...]]:
    groups: dict[str, tuple[str, ...]] = {
        "default": tuple(t.id for t in targets if t.variant == "default"),
    }
    by_image: dict[str, list[str]] = {name: [] for name in matrix.images}
    for t in targets:  # one pass: the plan stays linear in the number of images
        if t.variant != "fallback":
            by_image[t.image].append(t.id)
    for image_name, image in matrix.images.items():
        members = tuple(by_image[image_name])
        groups[image_name] = members
        for alias in image.aliases:
            groups[alias] = members
    groups["fallback"] = tuple(t.id for t in targets if t.python.role == "fallback")
    groups["dind"] = tuple(t.id for t in targets if t.variant == "dind")
    groups["all"] = tuple(t.id for t in targets)
    return groups
