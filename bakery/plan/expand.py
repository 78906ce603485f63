"""Expansion: matrix (+ preflight decisions, + git context) -> targets and groups.

A pure function: no files, no environment, no subprocesses. Linear in the number of targets,
and what the targets of a plan share (release tags, build-arg names, shared stages) is worked
out once per plan, not once per target (`bakery.plan.values`; the rest of what keeps the cost
per image flat is `bakery.plan.bulk`).
"""

from __future__ import annotations

from collections.abc import Mapping

from bakery.errors import ConfigError
from bakery.matrix.models import Image, Matrix
from bakery.plan.bulk import Repository, assemble
from bakery.plan.claims import check_unique
from bakery.plan.multiarch import multiarch_indexes
from bakery.plan.target import (
    FlagChoice,
    GitInfo,
    ImageChoice,
    Plan,
    PythonChoice,
    StageTarget,
    TagSet,
    Target,
)
from bakery.plan.values import PlanValues
from bakery.tags.git import GitContext
from bakery.tags.refs import ImageRef, namespace_problem, normalize_version
from bakery.tags.templates import fill, is_floating
from bakery.versions import parse_version


def _short(version: str) -> str:
    release = parse_version(version).release
    return f"{release[0]}{release[1]}"


def _minor(version: str) -> str:
    release = parse_version(version).release
    return f"{release[0]}.{release[1]}"


def expand(
    matrix: Matrix,
    *,
    git: GitContext | None = None,
    decisions: Mapping[str, ImageChoice] | None = None,
    source: str = "matrix.toml",
    base_images: Mapping[str, str] | None = None,
    package_locks: Mapping[str, str] | None = None,
    frontend: str | None = None,
) -> Plan:
    """Expand the matrix into its plan. `decisions` come from the preflight lock, if any;
    `base_images` (platform -> pinned ref) and `package_locks` (`<image>-py<NN>` -> lock file)
    from the package locks (bakery.lockfile), and `frontend`, the Dockerfile frontend pinned by
    digest there (every target's BUILDKIT_SYNTAX)."""
    git = git or GitContext()
    shared = PlanValues(matrix, git, source, base_images or {}, package_locks or {}, frontend)
    targets: list[Target] = []
    stages: dict[str, StageTarget] = {}
    for image_name, image in matrix.images.items():
        decision = (decisions or {}).get(image_name)
        for target, used_stages in _image_targets(shared, image_name, image, decision):
            for stage in used_stages:
                stages.setdefault(stage.id, stage)
            targets.append(target)

    indexes = multiarch_indexes(matrix, targets, git, source) if matrix.multiarch else ()
    check_unique(targets, matrix, indexes)
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
        choices.append(assemble(PythonChoice, version=policy.primary, role="primary",
                                             reason=reason))
        if policy.fallback:
            choices.append(
                assemble(PythonChoice,
                    version=policy.fallback,
                    role="fallback",
                    reason="fallback python variant (group 'fallback')",
                )
            )
    else:
        choices.append(assemble(PythonChoice, version=selected, role="fallback", reason=reason))
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
            flags[flag] = assemble(FlagChoice, setting="off", enabled=False, reason=reason)
        elif setting == "auto":
            decided = (decision.flags.get(flag) if decision else None)
            if decided is None:
                raise ConfigError(
                    f"{source}: images.{image_name}.features.{flag}: 'auto' is decided by"
                    " preflight, and the lock has no decision for it; run `bakery preflight`"
                    " (or set the flag to 'on' or 'off')"
                )
            flags[flag] = assemble(FlagChoice, setting="auto", enabled=decided.enabled,
                                       reason=decided.reason)
        else:
            flags[flag] = assemble(FlagChoice,
                setting=setting, enabled=setting == "on", reason=f"{setting} in matrix.toml"
            )
    return flags


def _image_targets(
    shared: PlanValues, image_name: str, image: Image, decision: ImageChoice | None
) -> list[tuple[Target, list[StageTarget]]]:
    matrix, git, source = shared.matrix, shared.git, shared.source
    selected, choices = _python_choices(matrix, image_name, decision, source)
    flags = _flags(matrix, image, decision, image_name, source)
    repo = ImageRef.parse(f"{matrix.namespace}/{image_name}", where=f"{source}: namespace"
                          ).repository
    # every tag of the image is `<repo>:<tag>` and every candidate `<staging>:<tag>`: each
    # repository is parsed once, then only the tags are checked
    repository = Repository.of(repo)
    staging = Repository.of(_staging_repository(matrix, image_name, source))
    # what every target of the image shares, and where its errors point (made once here)
    where = f"{source}: images.{image_name}"
    primary_where, staging_where = f"{where} (primary tag)", f"{source}: publish.staging"
    release_where = f"{source}: release.rules (for git ref {git.ref!r})"
    # a name without {tag} floats (`...:latest`): it moves only when `latest` does
    legacy_templates = [(t, f"{where}.legacy_tags[{i}]") for i, t in enumerate(image.legacy_tags)
                        if shared.floats or not is_floating(t)]
    dind_templates = [(t, f"{where}.dind_tags[{i}]") for i, t in enumerate(image.dind_tags)
                      if shared.floats or not is_floating(t)]
    # the floating names this ref does not move are still checked: a name that is invalid
    # must fail every plan, not only the release that would publish it
    resting = [] if shared.floats else [
        (t, f"{where}.{kind}[{i}]", kind == "dind_tags")
        for kind, templates in (("legacy_tags", image.legacy_tags),
                                ("dind_tags", image.dind_tags))
        for i, t in enumerate(templates) if is_floating(t)]
    torch = normalize_version(image.torch.torch)
    platform, machine, budget = image.platform, image.machine, image.budget_bytes
    dockerfile = image.dockerfile or f"images/{image_name}/Dockerfile"
    targets = []
    for choice in choices:
        is_selected = choice.version == selected
        variant_flags = flags if is_selected else _unchecked(flags, selected, choice.version)
        variants = ["default" if is_selected else "fallback"]
        if is_selected and image.dind:
            variants.append("dind")
        short, minor = _short(choice.version), _minor(choice.version)
        base_tag = f"py{choice.version}-th{torch}-tr{shared.transformers}"
        # made for the first variant, after its tags (as each target's were, so the first
        # error is the same); a DinD variant's args differ only in the EE_DD default
        image_args: dict[str, str] | None = None
        image_stages: dict[str, StageTarget] = {}
        for variant in variants:
            dind = variant == "dind"
            target_id = f"{image_name}-py{short}" + ("-dind" if dind else "")
            primary_tag = base_tag + (matrix.dind.suffix if dind else "")
            values = {
                "namespace": matrix.namespace,
                "image": image_name,
                "repo": repo,
                "tag": base_tag,
                "arch": image.arch,
                "machine": machine,
                "python": choice.version,
                "python_minor": minor,
                "torch": torch,
                "transformers": shared.transformers,
                "accelerator": image.accelerator,
                "id": target_id,
            }
            variant_suffix = ("" if is_selected else f"-py{short}") + (
                matrix.dind.suffix if dind else ""
            )
            tags = assemble(TagSet,
                primary=(repository.tagged(primary_tag, where=primary_where),),
                legacy=tuple(_ref(fill(t, values), at) for t, at in legacy_templates)
                if variant == "default"
                else (),
                compatibility=tuple(_ref(fill(t, values), at) for t, at in dind_templates)
                if dind
                else (),
                release=tuple(
                    repository.tagged(tag, where=release_where)
                    for tag in shared.release_tags(variant_suffix)
                ),
                edge=tuple(
                    repository.tagged(tag, where=release_where)
                    for tag in shared.edge_tags(variant_suffix)
                ),
            )
            for template, at, for_dind in resting:
                if (dind if for_dind else variant == "default"):
                    _ref(fill(template, values), at)
            if image_args is None:
                image_args = shared.build_args(image, choice.version, flags,
                                               f"{image_name}-py{short}")
                image_stages = shared.stages_for(image, image_args)
            args = ({**image_args, "EE_DD_DEFAULT": matrix.dind.ee_dd} if dind
                    else image_args)
            parent = target_id.removesuffix("-dind") if dind else None
            contexts = ({"image": f"target:{parent}"} if parent
                        else {name: f"target:{st.id}" for name, st in image_stages.items()})
            targets.append((
                assemble(Target,
                    id=target_id,
                    image=image_name,
                    repository=repo,
                    variant=variant,
                    platform=platform,
                    arch=image.arch,
                    machine=machine,
                    accelerator=image.accelerator,
                    python=choice,
                    flags=dict(variant_flags),
                    context=image.context,
                    dockerfile=matrix.dind.dockerfile if dind else dockerfile,
                    contexts=contexts,
                    args=args,
                    tags=tags,
                    candidate=staging.tagged(primary_tag + git.candidate_suffix,
                                             where=staging_where),
                    labels=shared.labels(image_name, image, choice.version, flags, primary_tag,
                                         target_id, args),
                    # a derived variant builds nothing of its own: no cache to read or write
                    cache_from=() if dind else tuple(fill(c, values) for c in matrix.cache.from_),
                    cache_to=() if dind else tuple(_ignoring_errors(fill(c, values))
                                                   for c in matrix.cache.to),
                    attest=shared.attest,
                    derived_from=parent,
                    size_budget=budget,
                    gpu_proof_waiver=image.release_without_gpu_proof,
                ),
                [] if dind else list(image_stages.values()),
            ))
    return targets


def _ignoring_errors(cache_to: str) -> str:
    """A cache export whose failure does not fail the build (`ignore-error=true`, unless the
    matrix says otherwise): the candidate is built and pushed, and publication must not wait
    on a cache registry that refused a write."""
    keys = {part.partition("=")[0].strip() for part in cache_to.split(",")}
    return cache_to if "ignore-error" in keys else f"{cache_to},ignore-error=true"


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


def _ref(text: str, where: str) -> str:
    return str(ImageRef.parse(text, where=where, default_tag="latest"))


def _groups(matrix: Matrix, targets: list[Target]) -> dict[str, tuple[str, ...]]:
    default: list[str] = []
    fallback: list[str] = []
    dind: list[str] = []
    by_image: dict[str, list[str]] = {name: [] for name in matrix.images}
    for t in targets:  # one pass: the plan stays linear in the number of images
        if t.variant == "default":
            default.append(t.id)
        elif t.variant == "dind":
            dind.append(t.id)
        if t.variant != "fallback":
            by_image[t.image].append(t.id)
        if t.python.role == "fallback":
            fallback.append(t.id)
    groups: dict[str, tuple[str, ...]] = {"default": tuple(default)}
    for image_name, image in matrix.images.items():
        members = tuple(by_image[image_name])
        groups[image_name] = members
        for alias in image.aliases:
            groups[alias] = members
    groups["fallback"] = tuple(fallback)
    groups["dind"] = tuple(dind)
    groups["all"] = tuple(t.id for t in targets)
    return groups
