"""What one `bakery bake` is asked to do, and everything it settles before Docker is asked.

`BakeRequest` holds the parsed command line; `prepare_bake` turns it into a `PreparedBake`:
the plan, the selected targets, the bake file to use, the invocations and the output paths.
It reads files and may write a temporary bake file (removed when the context ends), but it
runs nothing, so `--dry-run` and the real run print and run the very same commands.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bakery.bake.invocations import (
    BakeSettings,
    Invocation,
    bake_argv,
    default_jobs,
    default_overrides,
    parse_overrides,
    plan_invocations,
)
from bakery.bake.results import Output
from bakery.errors import StaleError
from bakery.lockfile.gate import refuse_unlocked, unlocked_note
from bakery.plan import select_targets
from bakery.plan.release import release_label, semver_of_ref
from bakery.plan.target import Target
from bakery.project import LoadedPlan, default_results, load_plan
from bakery.textfile import read_text

BAKE_FILE = "docker-bake.hcl"
TEMPLATE = "docker-bake.hcl.j2"


@dataclass(frozen=True, kw_only=True)
class BakeRequest:
    """The options of one `bakery bake` (see `bakery bake --help`)."""

    matrix: Path
    targets: tuple[str, ...] = ()
    output: Output = "cache"
    builder: str | None = None
    overrides: tuple[str, ...] = ()
    jobs: int | None = None
    fail_fast: bool = False
    render: bool = False
    results: Path | None = None


@dataclass(frozen=True, kw_only=True)
class OutputPaths:
    """Where one bake writes: the results file, and beside it the build logs and the metadata
    files buildx writes (one per invocation)."""

    results: Path
    logs: Path
    metadata: Path

    @classmethod
    def beside(cls, results: Path) -> OutputPaths:
        return cls(results=results, logs=results.parent / "logs",
                   metadata=results.parent / "metadata")


@dataclass(frozen=True, kw_only=True)
class PreparedBake:
    request: BakeRequest
    loaded: LoadedPlan
    selected: tuple[Target, ...]
    bake_file: Path
    notes: tuple[str, ...]
    settings: BakeSettings
    invocations: tuple[Invocation, ...]
    concurrency: int
    cwd: Path
    paths: OutputPaths

    def commands(self, docker: tuple[str, ...]) -> list[tuple[str, ...]]:
        """The command line of every invocation, after the `docker` prefix."""
        return [bake_argv(docker, i, self.settings) for i in self.invocations]


@contextlib.contextmanager
def prepare_bake(request: BakeRequest, *, keep_rendered: bool = False) -> Iterator[PreparedBake]:
    """Settle everything about a bake before anything runs. A bake file rendered for
    `--render` is removed when the context ends, unless `keep_rendered` (a dry run prints
    commands that refer to it)."""
    loaded = load_plan(request.matrix)
    selected = tuple(select_targets(loaded.plan, list(request.targets)))
    version = semver_of_ref(loaded.plan.git.ref)
    release = None if version is None else (release_label(loaded.matrix.label_prefix),
                                             version[0])
    # the committed bake file names each candidate without the commit and run that make it
    # this build's own (it must not change per commit): bake pushes to the plan's candidate
    # (a commit is known: the candidate carries it, see GitContext.candidate_suffix)
    candidates = ({f"{t.id}.tags": t.candidate for t in selected} if loaded.plan.git.sha
                  else {})
    overrides = {**candidates, **default_overrides(loaded.plan.git.sha, release=release),
                 **parse_overrides(request.overrides, plan=loaded.plan)}
    cwd = request.matrix.parent.resolve()
    paths = OutputPaths.beside(request.results or default_results(request.matrix))
    if request.output == "push":
        refuse_unlocked(selected, "bake --push")
    bake_file, temporary, notes = _bake_file(loaded, request.matrix, render=request.render)
    if request.output == "load" and (note := unlocked_note(selected)) is not None:
        notes.append(note)
    if temporary and keep_rendered:
        notes.append(f"the rendered bake file is kept at {bake_file}")
    try:
        invocations = tuple(plan_invocations(
            selected, fail_fast=request.fail_fast,
            metadata_dir=_relative(paths.metadata, cwd), overrides=overrides,
        ))
        settings = BakeSettings(
            bake_file=_relative(bake_file, cwd), load=request.output == "load",
            push=request.output == "push", builder=request.builder,
        )
        yield PreparedBake(
            request=request, loaded=loaded, selected=selected, bake_file=bake_file,
            notes=tuple(notes), settings=settings, invocations=invocations,
            concurrency=1 if request.fail_fast else request.jobs or default_jobs(
                len(invocations)),
            cwd=cwd, paths=paths,
        )
    finally:
        if temporary and not keep_rendered:
            bake_file.unlink(missing_ok=True)


def _relative(path: Path, base: Path) -> Path:
    """`path` relative to `base` when it lies inside it (shorter, copy-pasteable commands),
    else absolute."""
    absolute = path.resolve()
    try:
        return absolute.relative_to(base)
    except ValueError:
        return absolute


def _bake_file(loaded: LoadedPlan, matrix: Path, *, render: bool) -> tuple[Path, bool, list[str]]:
    """(bake file, whether it is a temporary one, notes): the committed file when it matches
    the plan; with `render`, a freshly rendered temporary file otherwise; else StaleError
    telling what to run. Building from a stale file would build something the plan, and so
    verify and release, do not describe."""
    from bakery.render import render_bake_file

    committed = matrix.parent / BAKE_FILE
    text = render_bake_file(loaded.plan, matrix.parent / TEMPLATE, matrix_name=matrix.name)
    try:
        current: str | None = read_text(committed, what="bake file")
    except FileNotFoundError:
        current = None
    if current == text:
        return committed, False, []
    state = "missing" if current is None else f"stale (it does not match {matrix})"
    if not render:
        raise StaleError(
            f"{committed} is {state}; run `bakery render` (and commit it), or pass --render"
            " to build from a freshly rendered temporary bake file"
        )
    fd, name = tempfile.mkstemp(prefix="bakery-", suffix=".hcl")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return Path(name), True, [f"{committed} is {state}; --render: using a freshly rendered"
                              " bake file"]

