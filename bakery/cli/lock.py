"""`bakery lock`: resolve every package of each target (python x platform) with uv, pin the
base image by digest, show what changed; write all of it or nothing."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bakery.cli.common import DEFAULT_MATRIX, FormatOption, MatrixOption, OutputFormat, TargetOption
from bakery.errors import BakeryError, ConfigError

if TYPE_CHECKING:
    from rich.console import Console

    from bakery.lockfile.refresh import LockResult
    from bakery.lockfile.spec import LockSpec


UpgradePackageOption = Annotated[
    list[str] | None,
    typer.Option("--upgrade-package", "-P", metavar="NAME",
                 help="Allow a newer version of this package only (e.g. numpy); the rest keeps"
                 " its locked versions. Repeatable."),
]
UpgradeOption = Annotated[
    bool, typer.Option("--upgrade", "-U", help="Re-resolve every package from scratch.")
]
BaseOption = Annotated[
    bool, typer.Option("--base/--no-base", help="Also pin the base image by digest per platform"
                       " (default: on).")
]
BaseOnlyOption = Annotated[
    bool, typer.Option("--base-only", help="Refresh the base image digests only.")
]
CheckOption = Annotated[
    bool, typer.Option("--check", help="Resolve nothing: exit 1 when a selected target has no"
                       " lock or a stale one (for CI).")
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Resolve and show the changes; write nothing.")
]


def register(app: typer.Typer) -> None:
    app.command(name="lock")(lock)


def lock(
    target: TargetOption = None,
    upgrade_package: UpgradePackageOption = None,
    upgrade: UpgradeOption = False,
    base: BaseOption = True,
    base_only: BaseOnlyOption = False,
    check: CheckOption = False,
    dry_run: DryRunOption = False,
    format: FormatOption = OutputFormat.table,
    matrix: MatrixOption = DEFAULT_MATRIX,
) -> None:
    """Lock every package each target installs (exact versions, index, sha256 of each file)
    into locks/<image>-py<NN>/, one file per image layer (1-cuda.txt, 2-torch.txt,
    3-rest.txt), and the base image by digest, listed in locks/manifest.json.

    Exit 0 when every selected target (and the base) ends with a current lock (targets whose
    index or registry does not answer keep their committed lock, and are named); 1 when a
    target cannot be resolved (nothing is written), when one is left without a current lock
    (its index did not answer: the others are written, it is named) or, with --check, when a
    lock is missing or stale; 2 for bad input.
    """
    from rich.console import Console

    from bakery.lockfile.refresh import refresh_locks
    from bakery.lockfile.spec import lock_specs
    from bakery.lockfile.targets import chosen
    from bakery.project import load_plan
    from bakery.views.progress import network_progress

    if upgrade and upgrade_package:
        raise ConfigError("--upgrade and --upgrade-package: give one or the other")
    unlocked = load_plan(matrix, mode="unlocked")
    loaded, plan = unlocked.matrix, unlocked.plan
    specs = lock_specs(loaded, chosen(plan, target))
    if check:
        _check(matrix, specs)
        return
    err = Console(stderr=True, highlight=False)
    title = f"bakery lock: resolving {0 if base_only else len(specs)} target(s)"
    with network_progress(err, title, "") as lines:
        result = refresh_locks(
            loaded, matrix, [] if base_only else specs,
            all_keys=[s.key for s in lock_specs(loaded, plan.targets)],
            upgrade=True if upgrade else tuple(upgrade_package or ()),
            base=base or base_only, platforms=sorted({t.platform for t in plan.targets}),
            dry_run=dry_run, progress=lines,
        )
    _show(result, format, err, dry_run=dry_run)


def _check(matrix: Path, specs: Sequence[LockSpec]) -> None:
    """--check: every selected lock present and fresh, else exit 1 naming them."""
    from bakery.lockfile.manifest import lock_problems, manifest_path

    problems = lock_problems(matrix, specs)
    for key, why in problems:
        typer.echo(f"{key}: {why}")
    path = manifest_path(matrix)
    if problems:
        keys = " ".join(f"--target {k}" for k, _ in problems)
        raise BakeryError(f"{path}: {len(problems)} lock(s) missing or stale; run"
                          f" `bakery lock {keys}`")
    typer.echo(f"{path}: {len(specs)} lock(s) up to date")


def _show(result: LockResult, format: OutputFormat, err: Console, *, dry_run: bool) -> None:
    from bakery.views import lock as views

    if format is OutputFormat.json:
        typer.echo(views.lock_json(result), nl=False)
    else:
        views.lock_table(result)
        if dry_run:
            err.print("bakery lock: --dry-run, nothing written")
        elif result.written:
            err.print(f"bakery lock: written; manifest: {result.manifest}")
        elif result.ok:
            err.print(f"bakery lock: nothing written, every file is as it was; manifest:"
                      f" {result.manifest}")
    if not result.ok:
        failed = ", ".join(o.key for o in result.outcomes if o.status == "failed")
        raise BakeryError(f"could not resolve {failed}; nothing was written")
    missing = [f"{key} (`bakery lock --target {key}` once its index answers)"
               for key in result.unlocked]
    if result.base_unpinned:
        missing.append("the base image (`bakery lock --base-only` once its registry answers)")
    if missing:
        done = "the others were written" if result.written else "nothing was written"
        raise BakeryError(f"{len(missing)} lock(s) could not be made, so these targets cannot"
                          f" be published: {', '.join(missing)}; {done}")
