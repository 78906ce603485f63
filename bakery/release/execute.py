"""Carrying out a release: inspect each tag, leave the ones already in place, create or move
the others one tag at a time, so a failure says exactly what was and was not done."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from python_on_whales import DockerClient

from bakery.docker.imagetools import RegistryError, copy_to_tag, tag_digest
from bakery.release.operations import TagOperation

State = Literal["created", "moved", "present", "would create", "would move", "failed"]


@dataclass(frozen=True)
class TagOutcome:
    operation: TagOperation
    state: State
    previous: str | None = None  # the digest a moved tag pointed at
    message: str | None = None


def execute(
    client: DockerClient,
    operations: Sequence[TagOperation],
    *,
    dry_run: bool,
    progress: Callable[[int, int, TagOperation], None] | None = None,
) -> list[TagOutcome]:
    outcomes: list[TagOutcome] = []
    for number, op in enumerate(operations, 1):
        if progress is not None:
            progress(number, len(operations), op)
        try:
            current = tag_digest(client, op.tag)
        except RegistryError as exc:
            outcomes.append(TagOutcome(op, "failed", message=f"cannot read the tag: {exc}"))
            continue
        if current == op.digest:
            outcomes.append(TagOutcome(op, "present"))
            continue
        if dry_run:
            outcomes.append(TagOutcome(op, "would create" if current is None else "would move",
                                       previous=current))
            continue
        try:
            copy_to_tag(client, op.source, op.tag)
        except RegistryError as exc:
            outcomes.append(TagOutcome(op, "failed", previous=current, message=str(exc)))
            continue
        outcomes.append(TagOutcome(op, "created" if current is None else "moved",
                                   previous=current))
    return outcomes


def command_line(op: TagOperation) -> str:
    return f"docker buildx imagetools create --tag {op.tag} {op.source}"
