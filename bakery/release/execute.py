"""Carrying out a release: inspect each tag, leave the ones already in place, create or move
the others.

One `imagetools create` per tag, although the tool accepts several `--tag`s for one source:
a tag may be new, may have to move, or may already be in place, and a call for several tags
that fails midway cannot tell which of them it wrote. One call per tag makes every outcome,
and every failure, exact; a retry then only does what is still missing. After a failed tag the
others are still attempted (they are independent copies), and each one reports its own state.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

from python_on_whales import DockerClient

from bakery.docker.imagetools import (
    RegistryError,
    copy_to_tag,
    create_argv,
    image_labels,
    knows_prefer_index,
    manifest_info,
    registry_of,
    tag_digest,
)
from bakery.progress import SILENT, Progress
from bakery.release.operations import TagOperation

# what became of one tag: release's status vocabulary (the `state` of its JSON outcome)
ReleaseState = Literal["created", "moved", "present", "would create", "would move", "kept",
                       "failed"]
STATES: tuple[ReleaseState, ...] = get_args(ReleaseState)


@dataclass(frozen=True, kw_only=True)
class VersionGuard:
    """What keeps names from moving backwards: the release's version (`1.2.3`, from its semver
    tag ref) and the image label that records, in each image, the release it was built for.
    A name that holds an image of a newer release is `kept`, unless `force`."""

    version: str
    label: str
    force: bool = False


@dataclass(frozen=True, kw_only=True)
class TagOutcome:
    operation: TagOperation
    state: ReleaseState
    previous: str | None = None  # the digest the tag pointed at before (moved, would move)
    message: str | None = None  # why it failed, or why it was kept
    command: str = ""  # the equivalent shell command, with the docker command bakery runs


def execute(
    client: DockerClient,
    operations: Sequence[TagOperation],
    *,
    dry_run: bool,
    progress: Progress = SILENT,
    guard: VersionGuard | None = None,
) -> list[TagOutcome]:
    """Bring every tag of `operations` to its digest (dry_run: only read the tags and say what
    would change). With `guard`, a tag that would move off an image of a newer release than
    the guard's is kept where it is. Returns one outcome per operation, in order."""
    outcomes: list[TagOutcome] = []
    docker = [str(part) for part in client.client_config.client_call]
    creator = _Creator(client)
    for number, op in enumerate(operations, 1):
        with progress.busy(f"release: [{number}/{len(operations)}] {op.tag} <- {op.source}"):
            outcomes.append(_outcome(creator, docker, op, dry_run=dry_run, guard=guard))
    return outcomes


def _outcome(creator: _Creator, docker: Sequence[str], op: TagOperation, *, dry_run: bool,
             guard: VersionGuard | None) -> TagOutcome:
    """What becomes of one tag: read where it points, then leave, keep, or create it."""
    client = creator.client
    command = creator.command(docker, op, ask=False)
    try:
        current, in_place = _current(client, op)
        held = (_newer_release(client, op.tag, guard)
                if current is not None and not in_place and guard is not None else None)
    except RegistryError as exc:
        return TagOutcome(operation=op, state="failed", message=str(exc), command=command)
    if in_place:
        return TagOutcome(operation=op, state="present", command=command)
    if held is not None and guard is not None:
        return TagOutcome(operation=op, state="kept", previous=current, command=command,
                          message=(f"holds {held}, newer than {guard.version}: not moved back"
                                   " (--force moves it)"))
    command = creator.command(docker, op, ask=True)
    if dry_run:
        return TagOutcome(operation=op, previous=current, command=command,
                          state="would create" if current is None else "would move")
    try:
        creator.create(op)
    except RegistryError as exc:
        return TagOutcome(operation=op, state="failed", previous=current, message=str(exc),
                          command=command)
    return TagOutcome(operation=op, previous=current, command=command,
                      state="created" if current is None else "moved")


@dataclass
class _Creator:
    """`imagetools create` for one release: asks buildx once whether it knows
    `--prefer-index` (only when something is to be written), and checks that every name it
    writes resolves to what was verified."""

    client: DockerClient
    _prefer_index: bool | None = field(default=None, init=False)

    def prefer_index(self, *, ask: bool = True) -> bool:
        """Whether `--prefer-index=false` goes on the command (buildx is asked once, the
        first time a name is to be written, or would be in a dry run)."""
        if self._prefer_index is None and ask:
            self._prefer_index = knows_prefer_index(self.client)
        return bool(self._prefer_index)

    def command(self, docker: Sequence[str], op: TagOperation, *, ask: bool) -> str:
        """The equivalent shell command of `op`'s copy (with the client's docker command)."""
        return shlex.join(create_argv(docker, op.all_sources, op.tag,
                                      prefer_index=self.prefer_index(ask=ask)))

    def create(self, op: TagOperation) -> None:
        prefer_index = self.prefer_index()
        if not prefer_index and not op.sources:
            # buildx before 0.15 always wraps one single-manifest source in a new index (it
            # has no --prefer-index=false): refuse before writing a name that could never
            # carry the verified digest
            found = manifest_info(self.client, op.source)
            if found is not None and found[1] == (found[0],):
                raise RegistryError(
                    f"registry {registry_of(op.tag)}: not creating {op.tag}: {op.source} is a"
                    " single image manifest, which this buildx (before 0.15, no"
                    " --prefer-index) would wrap in a new index with another digest; use"
                    " buildx 0.15 or later, or push candidates as an index (attestations on)")
        copy_to_tag(self.client, op.all_sources, op.tag, prefer_index=prefer_index)
        current, in_place = _current(self.client, op)
        if not in_place:
            wanted = op.digest or "an index of " + ", ".join(op.all_sources)
            raise RegistryError(
                f"registry {registry_of(op.tag)}: {op.tag} resolves to {current or 'nothing'}"
                f" after the copy, not the verified {wanted}")


def _newer_release(client: DockerClient, tag: str, guard: VersionGuard) -> str | None:
    """The release of the image `tag` holds when it is newer than the guard's version (read
    from the image's release label), else None: no label (an image built before bakery
    recorded it, or not for a release), an older or the same release, or a version that
    cannot be compared."""
    from packaging.version import InvalidVersion, Version

    if guard.force:
        return None
    held = image_labels(client, tag).get(guard.label)
    if not held:
        return None
    try:
        newer = Version(held) > Version(guard.version)
    except InvalidVersion:
        return None
    return held if newer else None


def _current(client: DockerClient, op: TagOperation) -> tuple[str | None, bool]:
    """(the digest the tag points at now, whether it already holds what `op` would write).
    A multi-architecture name is in place when its index holds exactly the manifests of the
    members' candidates (an index made again from the same sources has the same content)."""
    if not op.sources:
        digest = tag_digest(client, op.tag)
        return digest, digest == op.digest
    found = manifest_info(client, op.tag)
    if found is None:
        return None, False
    wanted: set[str] = set()
    for source in op.sources:
        member = manifest_info(client, source)
        if member is None:
            raise RegistryError(f"registry {registry_of(source)}: {source} is gone")
        wanted.update(member[1])
    return found[0], set(found[1]) == wanted

