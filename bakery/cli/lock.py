"""`bakery lock`: resolve every package of each target (python x platform) with uv, pin the
base image by digest, show what changed; write all of it or nothing."""

from __future__ import annotations

from typing import Annotated

import typer

from bakery.cli.common import DEFAULT_MATRIX, FormatOption, MatrixOption, OutputFormat, TargetOption
from bakery.errors import BakeryError, ConfigError


def register(app: typer.Typer) -> None:
    app.command(name="lock")(lock)


def lock(
    target: TargetOption = None,
    upgrade_package: Annotated[
        list[str] | None,
        typer.Option("--upgrade-package", "-P", metavar="NAME",
                     help="Allow a newer version of this package only (e.g. numpy); the rest"
                     " keeps its locked versions. Repeatable."),
    ] = None,
    upgrade: Annotated[
        bool, typer.Option("--upgrade", "-U", help="Re-resolve every package from scratch.")
    ] = False,
    base: Annotated[
        bool, typer.Option("--base/--no-base", help="Also pin the base image by digest per"
                           " platform (default: on).")
    ] = True,
    base_only: Annotated[
        bool, typer.Option("--base-only", help="Refresh the base image digests only.")
    ] = False,
    check: Annotated[
        bool, typer.Option("--check", help="Resolve nothing: exit 1 when a selected target has"
                           " no lock or a stale one (for CI).")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Resolve and show the changes; write nothing.")
    ] = False,
    format: FormatOption = OutputFormat.table,
    matrix: MatrixOption = DEFAULT_MATRIX,
) -> None:
    """Lock every package each target installs (exact versions, index, sha256 of each file)
    into locks/<image>-py<NN>.txt, and the base image by digest, listed in locks/manifest.json.

    Exit 0 when everything selected was written (targets whose index or registry does not
    answer keep their committed lock, and are named); 1 when a target cannot be resolved
    (nothing is written) or, with --check, when a lock is missing or stale; 2 for bad input.
    """
    from rich.console import Console

    from bakery.lockfile.manifest import manifest_path, read_manifest, stale_reason
    from bakery.lockfile.refresh import refresh_locks
    from bakery.lockfile.spec import lock_specs
    from bakery.lockfile.targets import chosen, unlocked_plan
    from bakery.views import lock as views

    if upgrade and upgrade_package:
        raise ConfigError("--upgrade and --upgrade-package: give one or the other")
    loaded, plan = unlocked_plan(matrix)
    specs = lock_specs(loaded, chosen(plan, target))
    all_keys = [s.key for s in lock_specs(loaded, plan.targets)]
    if check:
        path = manifest_path(matrix)
        manifest = read_manifest(path)
        problems = [
            (s.key, why) for s in specs
            if (why := stale_reason(s, manifest.targets.get(s.key) if manifest else None,
                                    path.parent)) is not None
        ]
        for key, why in problems:
            typer.echo(f"{key}: {why}")
        if problems:
            keys = " ".join(f"--target {k}" for k, _ in problems)
            raise BakeryError(f"{path}: {len(problems)} lock(s) missing or stale; run"
                              f" `bakery lock {keys}`")
        typer.echo(f"{path}: {len(specs)} lock(s) up to date")
        return
    platforms = sorted({t.platform for t in plan.targets})
    err = Console(stderr=True, highlight=False)
    with err.status(f"bakery lock: resolving {0 if base_only else len(specs)} target(s)..."):
        result = refresh_locks(
            loaded, matrix, [] if base_only else specs, all_keys=all_keys,
            upgrade=True if upgrade else tuple(upgrade_package or ()),
            base=base or base_only, platforms=platforms, dry_run=dry_run,
        )
    if format is OutputFormat.json:
        typer.echo(views.lock_json(result), nl=False)
    else:
        views.lock_table(result)
        if dry_run:
            err.print("bakery lock: --dry-run, nothing written")
        elif result.written:
            err.print(f"bakery lock: written; manifest: {result.manifest}")
    if not result.ok:
        failed = ", ".join(o.key for o in result.outcomes if o.status == "failed")
        raise BakeryError(f"could not resolve {failed}; nothing was written")
