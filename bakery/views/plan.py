"""The three forms of `bakery plan`: a table for people, JSON for tools, a GitHub matrix for CI."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bakery.matrix.models import Matrix
from bakery.plan.target import Plan, Target

PLAN_SCHEMA_VERSION = 1
_TAG_KINDS = (("primary", "primary"), ("legacy", "legacy"), ("compatibility", "compat"),
              ("release", "release"))


def plan_document(plan: Plan, targets: Sequence[Target], *, matrix_path: str) -> dict[str, Any]:
    """The JSON document (schema in docs/plan.md), its git context,
    targets and stages still models: `plan_json` serializes them in one pass (dumping each
    to a dict first would build every target twice)."""
    ids = {t.id for t in targets}
    stage_ids = {ref.removeprefix("target:") for t in targets for ref in t.contexts.values()}
    groups = {name: [m for m in members if m in ids] for name, members in plan.groups.items()}
    return {
        "schema_version": PLAN_SCHEMA_VERSION,
        "matrix": matrix_path,
        "git": plan.git,
        "targets": list(targets),
        "stages": [s for s in plan.stages if s.id in stage_ids],
        "groups": {name: members for name, members in groups.items() if members},
        "multiarch": [
            {"id": index.id, "tags": list(index.tags),
             "members": [{"target": m, "platform": p}
                         for m, p in zip(index.members, index.platforms, strict=True)]}
            for index in plan.multiarch if ids & set(index.members)
        ],
    }


def plan_json(plan: Plan, targets: Sequence[Target], *, matrix_path: str) -> str:
    """The document as indented JSON (UTF-8, not \\u-escaped). pydantic-core's encoder: the
    standard library's indenting encoder is pure Python."""
    from pydantic_core import to_json

    document = plan_document(plan, targets, matrix_path=matrix_path)
    # field names as model_dump() writes them (to_json alone would prefer aliases)
    return to_json(document, indent=2, by_alias=False).decode() + "\n"


def gha_matrix(matrix: Matrix, targets: Sequence[Target]) -> str:
    """A `strategy.matrix` value: `{"include": [{target, platform, runner, ...}]}`, one job
    per family: an image target and its DinD variant are one job named by the image's group
    (`bake --target <image>` builds both in one invocation, so they share every layer; on two
    runners they would not)."""
    ids = {t.id for t in targets}
    include = [
        {
            "target": t.image if any(u.derived_from == t.id for u in targets) else t.id,
            "image": t.image,
            "platform": t.platform,
            "runner": matrix.runners[t.arch],  # type: ignore[index]
            "gpu": t.accelerator == "cuda",
        }
        for t in targets
        if t.derived_from not in ids
    ]
    return json.dumps({"include": include}, separators=(",", ":")) + "\n"


def plan_table(plan: Plan, targets: Sequence[Target]) -> None:
    """Print the plan for people: one block per target (full tags, never truncated), then groups."""
    from rich.console import Console
    from rich.text import Text

    console = Console(soft_wrap=True, highlight=False)
    git = plan.git
    where = f"{git.ref or 'no ref'} @ {git.sha[:7] if git.sha else 'no sha'} (from {git.source})"
    console.print(Text(f"bakery plan: {len(targets)} targets; release tags for {where}",
                       style="bold"))
    for target in targets:
        console.print()
        head = Text(target.id, style="bold cyan")
        head.append(f"  {target.platform}  python {target.python.version} ({target.python.role})")
        head.append(f"  {target.python.reason}", style="dim")
        console.print(head)
        _lock_lines(console, target)
        for name, flag in target.flags.items():
            line = Text("  flag     ", style="dim")
            line.append(f"{name} {'on' if flag.enabled else 'off'}",
                        style="green" if flag.enabled else "yellow")
            line.append(f"  {flag.reason}", style="dim")
            console.print(line)
        line = Text("  staged   ", style="dim")
        line.append(target.candidate)
        line.append("  bake --push; release copies every name below from its verified digest",
                    style="dim")
        console.print(line)
        for kind, label in _TAG_KINDS:
            for ref in getattr(target.tags, kind):
                line = Text(f"  {label:<9}", style="dim")
                line.append(ref, style="bold" if kind == "primary" else "")
                console.print(line)
    ids = {t.id for t in targets}
    shown_indexes = [i for i in plan.multiarch if ids & set(i.members)]
    if shown_indexes:
        console.print()
        console.print(Text("multi-arch names (release joins the members' verified candidates)",
                           style="bold"))
    for index in shown_indexes:
        joined = ", ".join(f"{m} ({p})" for m, p in zip(index.members, index.platforms,
                                                         strict=True))
        for tag in index.tags:
            line = Text(f"  {index.id:<12} ", style="cyan")
            line.append(tag)
            line.append(f"  <- {joined}", style="dim")
            console.print(line)
    staging = sorted({t.candidate.rpartition(":")[0] for t in targets})
    if staging:
        console.print()
        console.print(Text("staging repositories (keep them private: unverified candidates;"
                           " Docker Hub: create each private before the first push, GHCR: set"
                           " the package's visibility to private; docs/release.md)",
                           style="bold"))
        for repository in staging:
            console.print(Text(f"  {repository}"))
    console.print()
    console.print(Text("groups", style="bold"))
    for name, members in plan.groups.items():
        shown = [m for m in members if m in ids]
        if shown:
            line = Text(f"  {name:<26}", style="cyan")
            line.append(" ".join(shown))
            console.print(line)


def _lock_lines(console: Any, target: Target) -> None:
    """The base image (by digest once `bakery lock` pinned it) and the package lock."""
    from rich.text import Text

    base = target.args.get("BASE_IMAGE", "")
    line = Text("  base     ", style="dim")
    line.append(base, style="" if "@sha256:" in base else "yellow")
    if "@sha256:" not in base:
        line.append("  not pinned by digest (bakery lock --base-only)", style="dim")
    console.print(line)
    lock = target.args.get("PACKAGES_LOCK")
    if lock is not None:
        line = Text("  packages ", style="dim")
        if lock:
            line.append(lock)
        else:
            key = target.id.removesuffix("-dind")
            line.append(f"not locked (bakery lock --target {key})", style="yellow")
        console.print(line)
