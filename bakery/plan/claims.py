"""The names a plan claims: each target id, tag and group name once, and the repositories
users pull from kept apart from staging and cache."""

from __future__ import annotations

from collections.abc import Iterable

from bakery.errors import ConfigError
from bakery.matrix.checks import RESERVED_GROUPS
from bakery.matrix.models import Matrix
from bakery.plan.target import MultiArchIndex, Plan, Target
from bakery.tags.refs import ImageRef, canonical_repository, name_part, parse_reference

# the kinds of tag a target claims (its `edge` tags are among its `release` ones)
_KINDS = ("primary", "legacy", "compatibility", "release")


def check_unique(targets: list[Target], matrix: Matrix,
                 indexes: tuple[MultiArchIndex, ...] = ()) -> None:
    """ConfigError for the first id, tag or group name claimed twice, and for a candidate or
    cache in a repository users pull from."""
    # A set or dict finds out whether any id or tag is claimed twice at C speed; only then
    # are they walked again to say which.
    by_id = {target.id: target for target in targets}
    if len(by_id) < len(targets):
        _check_ids_claimed_once(targets)
    tags = [ref for target in targets for kind in _KINDS for ref in getattr(target.tags, kind)]
    tags += [ref for index in indexes for ref in index.tags]
    if len(set(tags)) < len(tags):
        _check_tags_claimed_once(targets, indexes)
    _check_private(targets, _repositories(tags))
    group_names = dict.fromkeys(RESERVED_GROUPS, "a built-in group")
    for image_name, image in matrix.images.items():
        group_names[image_name] = f"images.{image_name} (the image's group)"
        for i, alias in enumerate(image.aliases):
            group_names[alias] = f"images.{image_name}.aliases[{i}]"
    for name, origin in group_names.items():
        if name in by_id:
            raise ConfigError(
                f"{origin}: {name!r} is also the id of a target of image {by_id[name].image!r};"
                " a group and a target cannot share a name (rename the alias or the image)"
            )


def _check_ids_claimed_once(targets: list[Target]) -> None:
    """ConfigError naming the first target id two images claim."""
    owners: dict[str, str] = {}
    for target in targets:
        if target.id in owners:
            raise ConfigError(
                f"two targets have the id {target.id!r} ({owners[target.id]} and image"
                f" {target.image!r}); rename one of the images"
            )
        owners[target.id] = f"image {target.image!r}"


def _check_tags_claimed_once(targets: list[Target],
                             indexes: tuple[MultiArchIndex, ...]) -> None:
    """ConfigError naming the first tag claimed twice and both claims."""
    claimed: dict[str, str] = {}
    for target in targets:
        for kind in _KINDS:
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


def _repositories(refs: Iterable[str]) -> set[str]:
    """The canonical repositories of references the plan made (so valid), parsing each name
    once: a repository has many tags, and which repository it is depends on its name alone."""
    return {canonical_repository(name) for name in {name_part(ref) for ref in refs}}


def _check_private(targets: list[Target], public: set[str]) -> None:
    """Candidates and caches stay out of the repositories users pull from."""
    caches: dict[str, ImageRef] = {}  # by reference: cache-from and cache-to name the same
    for target in targets:
        if canonical_repository(name_part(target.candidate)) in public:
            candidate = ImageRef.parse(target.candidate)
            raise ConfigError(
                f"publish.staging: {target.id}'s candidate {target.candidate} is in"
                f" {candidate.repository}, a repository users pull from; staging must be a"
                " repository of its own"
            )
        for entry in (*target.cache_from, *target.cache_to):
            cache = _cache_ref(entry, caches)
            if cache is not None and cache.canonical_repository in public:
                raise ConfigError(
                    f"cache: {target.id}'s cache {cache} is in {cache.repository}, a repository"
                    " users pull from; give the cache a repository of its own (e.g."
                    " ref={repo}-cache:{id})"
                )


def _cache_ref(entry: str, parsed: dict[str, ImageRef]) -> ImageRef | None:
    """The image reference of a `type=registry,ref=...` cache entry, if it has one (each
    distinct reference parsed once, remembered in `parsed`)."""
    fields = dict(part.partition("=")[::2] for part in entry.split(","))
    if fields.get("type", "registry") != "registry" or "ref" not in fields:
        return None
    ref = fields["ref"]
    if ref not in parsed:
        try:
            parsed[ref] = parse_reference(ref)
        except ValueError as exc:  # what ImageRef.parse says, its `where` made only if needed
            raise ConfigError(f"cache: {entry!r}: {exc}") from None
    return parsed[ref]


def foreign_names(plan: Plan, namespace: str) -> dict[str, tuple[str, ...]]:
    """The repositories outside `namespace` that each image (and each multi-arch index,
    `multiarch.<id>`) would publish to, by image: a name written with `ratio1/...` instead of
    `{namespace}/...` stays someone else's when a fork changes its namespace. Repositories are
    compared as Docker does (`ratio1/x` is `docker.io/ratio1/x`); images with none are left out."""
    own = canonical_repository(f"{namespace}/x").removesuffix("/x") + "/"
    found: dict[str, dict[str, None]] = {}
    for target in plan.targets:
        for kind in _KINDS:
            for ref in getattr(target.tags, kind):
                name = name_part(ref)
                if not canonical_repository(name).startswith(own):
                    found.setdefault(target.image, {})[name] = None
    for index in plan.multiarch:
        for ref in index.tags:
            name = name_part(ref)
            if not canonical_repository(name).startswith(own):
                found.setdefault(f"multiarch.{index.id}", {})[name] = None
    return {image: tuple(names) for image, names in found.items()}
