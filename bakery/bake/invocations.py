"""Which `docker buildx bake` invocations a build needs, and with which `--set` overrides.

Pure functions: targets in, invocations out. The docker module turns an invocation
into a command line; the runner runs them.

Why one invocation per target: plain bake cancels every target of an invocation at
the first error and then writes no metadata file at all, so one broken image would hide the
result of every other. Separate invocations on the same builder still share work: BuildKit
merges identical in-flight steps and caches finished ones, so a shared stage (python, ffmpeg)
is built once. `--fail-fast` asks for the plain behaviour: one invocation for everything.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal

from bakery.errors import ConfigError
from bakery.plan.target import Plan, Target
from bakery.suggest import did_you_mean

#: Upper bound of the default `--jobs`. BuildKit already runs the steps of one build in
#: parallel; several concurrent image builds mostly wait on the same shared stages, and more
#: than a few heavy ones (torch wheels, an ffmpeg compile) saturate a typical builder's CPU,
#: disk and network. A bigger or remote builder takes an explicit `--jobs`.
MAX_DEFAULT_JOBS = 4

#: The name of the single invocation `--fail-fast` uses (never a valid target id clash in
#: practice: target ids always carry a `-py3xx` suffix).
FAIL_FAST_NAME = "fail-fast"

REVISION_LABEL = "*.labels.org.opencontainers.image.revision"


@dataclass(frozen=True, kw_only=True)
class Invocation:
    """One `docker buildx bake` run: its name (a target id, or `fail-fast`), the targets it
    builds in plan order, the metadata file buildx writes, its `--set` overrides, and the
    `--set` pairs that adapt it to the builder (`bakery.bake.builder`; a key may repeat: buildx
    merges `attest` entries by type)."""

    name: str
    targets: tuple[str, ...]
    metadata_file: Path
    overrides: Mapping[str, str] = field(default_factory=dict)
    adjustments: tuple[tuple[str, str], ...] = ()
    # a variant built FROM an image target of this same invocation -> that image
    derived: Mapping[str, str] = field(default_factory=dict)
    # each target's Dockerfile, by base name (what buildx names after a failing step)
    dockerfiles: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class BakeSettings:
    """What every invocation of one `bakery bake` shares."""

    bake_file: Path
    load: bool = False
    push: bool = False
    builder: str | None = None

    @property
    def output(self) -> Literal["push", "load", "cache"]:
        return "push" if self.push else "load" if self.load else "cache"


def default_jobs(invocations: int) -> int:
    """`--jobs` when not given: min(MAX_DEFAULT_JOBS, number of invocations), at least 1."""
    return max(1, min(MAX_DEFAULT_JOBS, invocations))


def plan_invocations(
    targets: Sequence[Target],
    *,
    fail_fast: bool,
    metadata_dir: Path,
    overrides: Mapping[str, str] | None = None,
) -> list[Invocation]:
    """Group the selected targets into invocations: one per target, or one for all of them
    with `fail_fast`. Each invocation gets only the overrides whose target pattern matches
    something it builds (a target or a shared stage it uses), so a `--set gpu-x.args.A=1`
    never reaches a bake that does not know `gpu-x`."""
    if not targets:
        raise ConfigError("--target selects no targets; see `bakery plan --target all`")
    overrides = dict(overrides or {})
    groups: list[tuple[str, tuple[Target, ...]]] = (
        [(FAIL_FAST_NAME, tuple(targets))] if fail_fast else _families(targets)
    )
    out = []
    for name, members in groups:
        built = _built_names(members)
        ids = {t.id for t in members}
        out.append(
            Invocation(
                name=name,
                targets=tuple(t.id for t in members),
                metadata_file=metadata_dir / f"{name}.json",
                overrides={k: v for k, v in overrides.items() if _pattern_matches(k, built)},
                derived={t.id: t.derived_from for t in members
                         if t.derived_from is not None and t.derived_from in ids},
                dockerfiles={t.id: PurePosixPath(t.dockerfile).name for t in members},
            )
        )
    return out


def _families(targets: Sequence[Target]) -> list[tuple[str, tuple[Target, ...]]]:
    """One invocation per family: an image target and the variants derived from it are built
    together, so the variant's `FROM image` is that very build (the same layers); families
    stay isolated from each other."""
    families: dict[str, list[Target]] = {}
    for target in targets:
        families.setdefault(target.family, []).append(target)
    return [(name, tuple(members)) for name, members in families.items()]


def _built_names(members: Iterable[Target]) -> list[str]:
    names = []
    for target in members:
        names.append(target.id)
        names.extend(
            ref.removeprefix("target:")
            for ref in target.contexts.values()
            if ref.startswith("target:")
        )
    return names


def _pattern_matches(key: str, names: Sequence[str]) -> bool:
    pattern = key.partition(".")[0]
    return bool(fnmatch.filter(names, pattern))


def parse_overrides(values: Sequence[str], *, plan: Plan) -> dict[str, str]:
    """`--set target.key=value` pairs -> the dict python-on-whales passes as `--set`.

    The target part may be an id, a shared stage id, or a glob (`*`, `*-py312`); one that
    matches nothing in the plan is a usage error with a "did you mean", because buildx would
    fail the whole bake on it.
    """
    names = [t.id for t in plan.targets] + [s.id for s in plan.stages]
    out: dict[str, str] = {}
    for raw in values:
        key, sep, value = raw.partition("=")
        pattern, dot, attribute = key.partition(".")
        if not sep or not pattern or not dot or not attribute:
            raise ConfigError(
                f"--set {raw!r}: expected <target>.<key>=<value>,"
                " e.g. '*.args.UV_VERSION=0.9.11' or 'base_edge_node_amd64_gpu-py313.no-cache=true'"
            )
        if not fnmatch.filter(names, pattern):
            raise ConfigError(
                f"--set {raw!r}: {pattern!r} matches no target of the bake file"
                f"{did_you_mean(pattern, names)}; use a target id, a glob, or '*'"
            )
        out[key] = value
    return out


def default_overrides(sha: str | None, *, release: tuple[str, str] | None = None
                      ) -> dict[str, str]:
    """Overrides bakery adds unless the user sets the same key: the OCI revision label, when
    the commit is known (it is not in the committed bake file, which must not change per
    commit), and for a semver release tag `release` = (label, version): the label that
    records which release the build is for, which `bakery release` reads so that a floating
    name never moves back to an older release."""
    out = {REVISION_LABEL: sha} if sha else {}
    if release is not None:
        out[f"*.labels.{release[0]}"] = release[1]
    return out


def bake_argv(
    docker: Sequence[str], invocation: Invocation, settings: BakeSettings
) -> tuple[str, ...]:
    """The command line of one invocation: exactly what python-on-whales'
    `client.buildx.bake(targets, builder=, files=, load=, push=, progress="plain", set=,
    metadata_file=)` runs (same flags, same order; tests compare the two), after the client's
    `docker` prefix; the builder's adjustments follow the overrides as more `--set` pairs.
    Progress is always plain: bakery reads it for the live view and the failure report."""
    argv = [*docker, "buildx", "bake"]
    if settings.builder is not None:
        argv += ["--builder", settings.builder]
    if settings.load:
        argv.append("--load")
    if settings.push:
        argv.append("--push")
    argv += ["--progress", "plain", "--file", str(settings.bake_file)]
    for key, value in (*invocation.overrides.items(), *invocation.adjustments):
        argv += ["--set", f"{key}={value}"]
    argv += ["--metadata-file", str(invocation.metadata_file)]
    argv += invocation.targets
    return tuple(argv)
