"""One release, start to end: which names, refusals, every operation attempted, the verdict.

The command (`bakery/cli/release.py`) only parses options, calls `run_release` and shows the
report; everything a release decides is here and is tested directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from python_on_whales import DockerClient

from bakery.bake.results import Results
from bakery.plan.release import PublishNames, semver_of_ref
from bakery.plan.target import Plan, Target
from bakery.progress import SILENT, Progress
from bakery.release.execute import TagOutcome, VersionGuard, execute
from bakery.release.operations import (
    Found,
    Refusal,
    TagOperation,
    index_operations,
    release_operations,
)


@dataclass(frozen=True, kw_only=True)
class ReleaseReport:
    """What a release did (or, dry run, would do): every operation's outcome, in plan order."""

    selected: int
    operations: tuple[TagOperation, ...]
    refusals: tuple[Refusal, ...]
    outcomes: tuple[TagOutcome, ...]
    dry_run: bool

    @property
    def failed(self) -> tuple[TagOutcome, ...]:
        return tuple(o for o in self.outcomes if o.state == "failed")

    @property
    def ok(self) -> bool:
        return not self.refusals and not self.failed

    def error(self, *, named: bool) -> str | None:
        """The one-line error for a release that is not ok (`named`: --target was given)."""
        if self.refusals:
            blocking = "; ".join(f"{r.target}: {r.reason}" for r in self.refusals)
            hint = ("every target named with --target must be releasable" if named
                    else "release the others by naming them with --target")
            return (f"release refused {len(self.refusals)} of {self.selected} target(s), so"
                    f" nothing was created ({hint}): {blocking}")
        if self.failed:
            done = [o.operation.tag for o in self.outcomes if o.state in ("created", "moved")]
            return (f"release: {len(self.failed)} of {len(self.outcomes)} tag(s) failed and are"
                    f" not in place: {', '.join(o.operation.tag for o in self.failed)}; created"
                    f" or moved: {', '.join(done) or 'none'}; run it again to retry (tags in"
                    " place are skipped)")
        return None


def run_release(
    client: DockerClient,
    targets: Sequence[Target],
    results: Results | Found,
    *,
    dry_run: bool,
    plan: Plan | None = None,
    progress: Progress = SILENT,
    names: PublishNames = "all",
    release_label: str | None = None,
    force: bool = False,
) -> ReleaseReport:
    """Release `targets` (and the multi-architecture names of `plan` they are members of):
    refuse them all when any is not releasable (nothing is created and Docker is not even
    asked: `client` is checked and used only when there is work), else attempt every
    operation, a
    failed one never stopping the others. `names` other than `all` (a branch push, an
    edge-only rebuild) create only the release-rule or edge tags, no multi-arch names; so
    does a pre-release (`plan`'s ref `refs/tags/v1.3.0-rc.1`): its own release tags only, never
    a primary, legacy, compatibility or multi-arch name that devices pull.

    On a semver release with `release_label` (the image label recording the release each
    build was made for), a name that holds an image of a newer release stays where it is
    (`kept`), so a backport or a late run never moves `latest` backwards; `force` moves it
    anyway (a deliberate rollback)."""
    version = semver_of_ref(plan.git.ref) if plan is not None else None
    if version is not None and version[1] and names == "all":
        names = "branch"
    operations, refusals = release_operations(targets, results, names)
    if plan is not None and plan.multiarch and names == "all":
        more, refused = index_operations(plan.multiarch, plan.targets, targets, results)
        operations += more
        refusals += refused
    guard = (VersionGuard(version=version[0], label=release_label, force=force)
             if version is not None and release_label else None)
    outcomes: list[TagOutcome] = []
    if not refusals and operations:
        from bakery.docker.buildx import check_tools

        check_tools(client, None)  # missing docker / buildx / engine: one line, exit 2
        outcomes = execute(client, operations, dry_run=dry_run, progress=progress,
                           guard=guard)
    return ReleaseReport(selected=len(targets), operations=tuple(operations),
                         refusals=tuple(refusals), outcomes=tuple(outcomes), dry_run=dry_run)
