"""A fully locked stand-in of the shipped project: matrix.toml and matrix.lock.json copied as
they are, with locks/ holding a current lock for every target (one stand-in package per
layer, with a hash) and the base image pinned by digest per platform. The commands that
publish (`bake --push`, `release`, `ci` on a publishing run) refuse anything less, so the
tests of their other behaviour run on this copy; no uv and no registry are needed."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from bakery.lockfile.groups import GROUPS
from bakery.lockfile.manifest import (
    BaseLock,
    LockedGroup,
    LockedTarget,
    Manifest,
    file_sha256,
    manifest_json,
)
from bakery.lockfile.spec import lock_specs
from bakery.project import load_plan
from tests.support.repo import ROOT

COPIED = ("matrix.toml", "matrix.lock.json", "docker-bake.hcl.j2")


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def write_locks(matrix: Path) -> None:
    """Give every target of `matrix` a current lock and pin its base image (stand-in values)."""
    unlocked = load_plan(matrix, mode="unlocked")
    loaded, plan = unlocked.matrix, unlocked.plan
    directory = matrix.parent / "locks"
    targets: dict[str, LockedTarget] = {}
    for spec in lock_specs(loaded, plan.targets):
        folder = directory / spec.key
        folder.mkdir(parents=True, exist_ok=True)
        groups = []
        for position, group in enumerate(GROUPS, start=1):
            name = group.file(position)
            text = (f"# stand-in lock of {spec.key}, layer {group.name}\n"
                    f"standin-{group.name}==1.0 \\\n"
                    f"    --hash={_digest(spec.key + group.name)}\n")
            (folder / name).write_text(text, encoding="utf-8")
            groups.append(LockedGroup(name=group.name, file=f"{spec.key}/{name}", packages=1,
                                      sha256=file_sha256(text)))
        targets[spec.key] = LockedTarget(
            inputs=spec.fingerprint(), dir=spec.key, python=spec.python,
            platform=spec.uv_platform, requirements=spec.requirements, indexes=spec.indexes,
            packages=len(groups), groups=tuple(groups),
        )
    platforms = sorted({t.platform for t in plan.targets})
    base = BaseLock(image=loaded.base_image,
                    digests={p: _digest(loaded.base_image + p) for p in platforms})
    (directory / "manifest.json").write_text(
        manifest_json(Manifest(base=base, targets=dict(sorted(targets.items())))),
        encoding="utf-8")


def locked_project(root: Path) -> Path:
    """A copy of the shipped matrix under `root`, fully locked; returns its matrix.toml."""
    root.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        shutil.copy(ROOT / name, root / name)
    matrix = root / "matrix.toml"
    write_locks(matrix)
    render(matrix)
    return matrix


def render(matrix: Path) -> None:
    """docker-bake.hcl next to `matrix`, as `bakery render` writes it."""
    from bakery.project import load_plan
    from bakery.render import render_bake_file

    text = render_bake_file(load_plan(matrix).plan, matrix.parent / "docker-bake.hcl.j2",
                            matrix_name=matrix.name)
    (matrix.parent / "docker-bake.hcl").write_text(text, encoding="utf-8")
