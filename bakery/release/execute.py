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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from python_on_whales import DockerClient

from bakery.docker.imagetools import (
    RegistryError,
    copy_to_tag,
    create_argv,
    manifest_info,
    registry_of,
    tag_digest,
)
from bakery.release.operations import TagOperation

State = Literal["created", "moved", "present", "would create", "would move", "failed"]
STATES: tuple[State, ...] = ("created", "moved", "present", "would create", "would move",
                             "failed")


@dataclass(frozen=True, kw_only=True)
class TagOutcome:
    operation: TagOperation
    state: State
    previous: str | None = None  # the digest the tag pointed at before (moved, would move)
    message: str | None = None  # why it failed
    command: str = ""  # the equivalent shell command, with the docker command bakery runs


Progress = Callable[[int, int, TagOperation], None]


def execute(
    client: DockerClient,
    operations: Sequence[TagOperation],
    *,
    dry_run: bool,
    progress: Progress | None = None,
) -> list[TagOutcome]:
    """Bring every tag of `operations` to its digest (dry_run: only read the tags and say what
    would change). Returns one outcome per operation, in order."""
    outcomes: list[TagOutcome] = []
    docker = [str(part) for part in client.client_config.client_call]
    for number, op in enumerate(operations, 1):
        if progress is not None:
            progress(number, len(operations), op)
        command = shlex.join(create_argv(docker, op.all_sources, op.tag))
        try:
            current, in_place = _current(client, op)
        except RegistryError as exc:
            outcomes.append(TagOutcome(operation=op, state="failed", message=str(exc),
                                       command=command))
            continue
        if in_place:
            outcomes.append(TagOutcome(operation=op, state="present", command=command))
            continue
        if dry_run:
            outcomes.append(TagOutcome(operation=op, previous=current, command=command,
                                       state="would create" if current is None else "would move"))
            continue
        try:
            copy_to_tag(client, op.all_sources, op.tag)
        except RegistryError as exc:
            outcomes.append(TagOutcome(operation=op, state="failed", previous=current,
                                       message=str(exc), command=command))
            continue
        outcomes.append(TagOutcome(operation=op, previous=current, command=command,
                                   state="created" if current is None else "moved"))
    return outcomes


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

