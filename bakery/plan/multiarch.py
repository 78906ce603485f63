"""Multi-architecture names: `[multiarch.<id>]` in the matrix -> indexes joining the default
targets of images of different architectures (pure, like the rest of the plan)."""

from __future__ import annotations

from collections.abc import Sequence

from packaging.version import Version

from bakery.errors import ConfigError
from bakery.matrix.models import Matrix
from bakery.plan.release import latest_moves
from bakery.plan.target import MultiArchIndex, Target
from bakery.suggest import did_you_mean
from bakery.tags.git import GitContext
from bakery.tags.refs import ImageRef, normalize_version
from bakery.tags.templates import check_template, fill, is_floating

#: What a multi-arch tag template may use: the values every member shares.
FIELDS = ("namespace", "tag", "python", "python_minor", "torch", "transformers", "id")


def multiarch_indexes(matrix: Matrix, targets: Sequence[Target], git: GitContext,
                      source: str) -> tuple[MultiArchIndex, ...]:
    """Every `[multiarch.*]` entry as an index of its images' default targets. `{torch}` is
    the torch release without its local label (`2.9.1` for `2.9.1+cpu` and `2.9.1`), `{tag}`
    is `py{python}-th{torch}-tr{transformers}`."""
    defaults = {t.image: t for t in targets if t.variant == "default"}
    out = []
    for name, entry in matrix.multiarch.items():
        where = f"{source}: multiarch.{name}"
        members = [_member(matrix, defaults, image, f"{where}.images") for image in entry.images]
        if len(members) < 2:
            raise ConfigError(f"{where}.images: an index joins at least two images")
        arches = [m.arch for m in members]
        if len(set(arches)) != len(arches):
            raise ConfigError(f"{where}.images: two images of one architecture"
                              f" ({', '.join(arches)}); an index holds one image per platform")
        values = _shared(members, where)
        values["namespace"], values["id"] = matrix.namespace, name
        moves = latest_moves(matrix.release, git)
        tags = []
        for i, template in enumerate(entry.tags):
            check_template(template, where=f"{where}.tags[{i}]", fields=FIELDS)
            if moves or not is_floating(template):
                tags.append(str(ImageRef.parse(fill(template, values), where=f"{where}.tags[{i}]",
                                               default_tag="latest")))
        out.append(MultiArchIndex(id=name, tags=tuple(tags),
                                  members=tuple(m.id for m in members),
                                  platforms=tuple(m.platform for m in members)))
    return tuple(out)


def _member(matrix: Matrix, defaults: dict[str, Target], image: str, where: str) -> Target:
    if image not in matrix.images:
        raise ConfigError(f"{where}: unknown image {image!r}{did_you_mean(image, matrix.images)}")
    if image not in defaults:
        raise ConfigError(f"{where}: {image!r} has no default target")
    return defaults[image]


def _shared(members: Sequence[Target], where: str) -> dict[str, str]:
    def one(label: str, values: list[str]) -> str:
        if len(set(values)) != 1:
            pairs = ", ".join(f"{m.image} {v}" for m, v in zip(members, values, strict=True))
            raise ConfigError(f"{where}: the images differ in {label} ({pairs}); an index joins"
                              " images that hold the same versions")
        return values[0]

    python = one("python", [m.python.version for m in members])
    torch = one("torch", [Version(m.args["TORCH_VERSION"]).public for m in members])
    transformers = one("transformers", [m.args.get("TRANSFORMERS_VERSION", "") for m in members])
    release = Version(python).release
    return {"python": python, "python_minor": f"{release[0]}.{release[1]}",
            "torch": normalize_version(torch), "transformers": normalize_version(transformers),
            "tag": f"py{python}-th{normalize_version(torch)}-tr{normalize_version(transformers)}"}
