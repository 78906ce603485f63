"""What one bake target is: frozen values, the oracle every other command compares with
(docs/design.md, "One source, one oracle")."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from bakery.frozen import Frozen
from bakery.matrix.models import FlagSetting


class PythonChoice(Frozen):
    version: str
    role: Literal["primary", "fallback"]
    reason: str


class FlagChoice(Frozen):
    setting: FlagSetting
    enabled: bool
    reason: str


class ImageChoice(Frozen):
    """What preflight decided for one image (read from the lock)."""

    python: str
    python_reason: str
    flags: dict[str, FlagChoice] = Field(default_factory=dict)


class TagSet(Frozen):
    primary: tuple[str, ...]
    legacy: tuple[str, ...] = ()
    compatibility: tuple[str, ...] = ()
    release: tuple[str, ...] = ()
    # the release tags the `edge` rules produce (a subset of `release`)
    edge: tuple[str, ...] = ()


class Target(Frozen):
    id: str
    image: str
    repository: str
    variant: Literal["default", "fallback", "dind"]
    platform: str
    arch: str
    machine: str
    accelerator: str
    python: PythonChoice
    flags: dict[str, FlagChoice]
    context: str
    dockerfile: str
    contexts: dict[str, str]
    args: dict[str, str]
    tags: TagSet
    # what `bakery bake --push` publishes: the staging name every tag above is copied from
    candidate: str
    labels: dict[str, str]
    cache_from: tuple[str, ...]
    cache_to: tuple[str, ...]
    # bake `attest` entries: provenance (mode=min|max, or disabled=true) and SBOM attestations;
    # `attestations` are the ones made
    attest: tuple[str, ...] = ()
    # the image target this one is built FROM (named context `image`, same bake invocation):
    # a DinD variant shares every layer of its image
    derived_from: str | None = None
    # the compressed size the image may have at most (matrix `size_budget`), in bytes
    size_budget: int | None = None
    # why a release of this cuda target may go out without a GPU proof (matrix
    # `release_without_gpu_proof`); None: a release needs one (bakery/release/gpuproof.py)
    gpu_proof_waiver: str | None = None

    @property
    def family(self) -> str:
        """The image target whose bake invocation builds this target."""
        return self.derived_from or self.id


class StageTarget(Frozen):
    """A shared builder stage (python, ffmpeg, ...) that image targets use as a named context."""

    id: str
    stage: str
    context: str
    dockerfile: str
    target: str
    platform: str
    args: dict[str, str]


class GitInfo(Frozen):
    ref: str | None
    sha: str | None
    source: str


class MultiArchIndex(Frozen):
    """A name `bakery release` creates as an index of its members' verified candidates."""

    id: str
    tags: tuple[str, ...]
    members: tuple[str, ...]  # target ids, one per architecture
    platforms: tuple[str, ...]  # the members' platforms, in the same order


class Plan(Frozen):
    schema_version: Literal[1] = 1
    git: GitInfo
    targets: tuple[Target, ...]
    stages: tuple[StageTarget, ...]
    groups: dict[str, tuple[str, ...]]
    multiarch: tuple[MultiArchIndex, ...] = ()

    def target(self, target_id: str) -> Target:
        """The target with this id; KeyError (naming it) when the plan has none."""
        for target in self.targets:
            if target.id == target_id:
                return target
        raise KeyError(target_id)


def enabled_attestations(attest: tuple[str, ...]) -> tuple[str, ...]:
    """The `attest` entries that make an attestation (not `...,disabled=true`)."""
    return tuple(a for a in attest if "disabled=true" not in a.split(","))
