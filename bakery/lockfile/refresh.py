"""`bakery lock`: resolve the package locks of the selected targets and pin the base image,
then write everything, or nothing.

* A target that cannot be resolved (a pin without a wheel for its python and platform, a
  conflict) fails the run: no file is written, and the target is named with uv's reason.
* A target whose index does not answer (or a base image whose registry does not) is *kept*:
  its committed lock stays as it is, the index is named, the other targets are refreshed.
* Otherwise every lock file and then the manifest are written atomically; unchanged files are
  not touched. Packages keep their locked versions unless named with `--upgrade-package`
  (or `--upgrade` for all), as long as the pins allow them.

Each lock is written as its layer groups (`locks/<key>/1-cuda.txt`, `2-torch.txt`,
`3-rest.txt`, bakery.lockfile.groups); the outcome names, per package, the layer it is in and,
per target, the layers whose files changed: what a device downloads again.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from bakery.errors import BakeryError, ConfigError
from bakery.lockfile.groups import GROUPS, Group, blocks, group_of, joined, split
from bakery.lockfile.manifest import (
    BaseLock,
    FrontendLock,
    LockedGroup,
    LockedTarget,
    Manifest,
    file_sha256,
    locks_dir,
    manifest_json,
    manifest_path,
    read_manifest_to_refresh,
    stale_reason,
)
from bakery.lockfile.requirements import LockedPackage, parse_lock
from bakery.lockfile.spec import LockSpec, lock_dir_name
from bakery.lockfile.uv import Resolved, find_uv, resolve
from bakery.matrix.models import Matrix
from bakery.progress import SILENT, Progress

LockStatus = Literal["new", "updated", "unchanged", "kept", "failed"]


@dataclass(frozen=True, slots=True)
class Change:
    package: str
    old: str | None
    new: str | None
    index: str
    layer: str = ""  # the group file it is in (1-cuda.txt, ...): the image layer it moves


@dataclass(frozen=True)
class Outcome:
    key: str
    platform: str
    python: str
    status: LockStatus
    reason: str = ""
    changes: tuple[Change, ...] = ()
    packages: int = 0
    # the group files whose bytes this refresh changes: the image layers it re-ships
    layers: tuple[str, ...] = ()


@dataclass(frozen=True)
class BaseOutcome:
    image: str
    status: LockStatus
    reason: str = ""
    changes: tuple[Change, ...] = ()
    digests: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LockResult:
    outcomes: tuple[Outcome, ...]
    base: BaseOutcome | None
    written: bool
    manifest: Path
    # selected lock keys left without a current lock (their index did not answer and there
    # was no committed lock, or only a stale one), and whether the base stayed unpinned
    unlocked: tuple[str, ...] = ()
    base_unpinned: bool = False
    # the Dockerfile frontend (`# syntax=`), pinned with the base image
    frontend: BaseOutcome | None = None

    @property
    def complete(self) -> bool:
        """Every selected target (and the base, when asked) ends with a current lock."""
        return self.ok and not self.unlocked and not self.base_unpinned

    @property
    def ok(self) -> bool:
        return all(o.status != "failed" for o in self.outcomes) and (
            self.base is None or self.base.status != "failed"
        )

    @property
    def changed(self) -> bool:
        statuses = [o.status for o in self.outcomes]
        if self.base is not None:
            statuses.append(self.base.status)
        return any(s in ("new", "updated") for s in statuses)


def changes(old: dict[str, LockedPackage], new: dict[str, LockedPackage],
            groups: tuple[Group, ...]) -> tuple[Change, ...]:
    """Per package: added (old None), removed (new None), another version or index; each with
    the layer group (of `groups`) it belongs to."""
    files = {group.name: group.file(i) for i, group in enumerate(GROUPS, start=1)}
    out = []
    for name in sorted(set(old) | set(new)):
        before, after = old.get(name), new.get(name)
        if before is not None and after is not None and (
            before.version == after.version and before.hashes == after.hashes
        ):
            continue
        out.append(Change(
            package=name,
            old=before.version if before else None,
            new=after.version if after else None,
            index=(after or before).index if (after or before) else "",  # type: ignore[union-attr]
            layer=files[group_of(name, groups).name],
        ))
    return tuple(out)


def unreachable_indexes(specs: Sequence[LockSpec], timeout: float = 15.0, *,
                        progress: Progress = SILENT) -> dict[str, str]:
    """{index URL: why} for every index of `specs` that does not answer (any HTTP answer,
    a 404 included, counts as an answer). Asked through the preflight index client."""
    from bakery.preflight.index import FetchOptions, IndexRequest, PackageIndexError, fetch_many

    probes: dict[str, IndexRequest] = {}
    for spec in specs:
        project = spec.requirements[0].split("==", 1)[0]
        for url in spec.indexes:
            probes.setdefault(url, IndexRequest(url, project))
    options = FetchOptions(cache_dir=None, retries=0, timeout=timeout, progress=progress)

    def probe(request: IndexRequest) -> str | None:
        try:
            fetch_many([request], options)
        except PackageIndexError as exc:
            return str(exc)
        return None

    with ThreadPoolExecutor(max_workers=max(1, len(probes))) as pool:
        answers = dict(zip(probes, pool.map(probe, probes.values()), strict=True))
    return {url: why for url, why in answers.items() if why is not None}


def refresh_locks(
    matrix: Matrix,
    matrix_path: Path,
    specs: Sequence[LockSpec],
    *,
    all_keys: Sequence[str],
    upgrade: tuple[str, ...] | bool = (),
    base: bool = True,
    platforms: Sequence[str] = (),
    dry_run: bool = False,
    uv_env: dict[str, str] | None = None,
    jobs: int = 3,
    progress: Progress = SILENT,
) -> LockResult:
    """Resolve `specs`, pin the base for `platforms` (when `base`), write all or nothing.
    `progress` hears of each index probed and each target resolved."""
    path = manifest_path(matrix_path)
    directory = locks_dir(matrix_path)
    found, legacy = read_manifest_to_refresh(path)
    manifest = found or Manifest()
    uv = find_uv() if specs else ""
    down = unreachable_indexes(specs, progress=progress) if specs else {}

    def committed(key: str) -> dict[str, str] | None:
        """{group file name: text} of the committed lock of `key` (a version-1 lock: its one
        file under the name ""), None when there is none."""
        entry = manifest.targets.get(key)
        try:
            if entry is not None:
                return {g.file.rsplit("/", 1)[-1]: (directory / g.file).read_text(encoding="utf-8")
                        for g in entry.groups}
            if key in legacy:
                return {"": (directory / legacy[key]).read_text(encoding="utf-8")}
        except FileNotFoundError:
            return None
        return None

    def previous(spec: LockSpec) -> str | None:
        texts = committed(spec.key)
        return joined(list(texts.values())) if texts and upgrade is not True else None

    outcomes: list[Outcome] = []
    unlocked: list[str] = []
    new_groups: dict[str, dict[str, str]] = {}
    entries = {k: v for k, v in manifest.targets.items() if k in all_keys}
    reachable = [s for s in specs if not any(url in down for url in s.indexes)]
    with (
        tempfile.TemporaryDirectory(prefix="bakery-lock-") as tmp,
        ThreadPoolExecutor(max_workers=max(1, jobs)) as pool,
    ):
        def run(spec: LockSpec) -> Resolved:
            try:
                return resolve(spec, previous(spec), Path(tmp), upgrade=upgrade, uv=uv,
                               env=uv_env)
            finally:
                progress.done(spec.key)

        for spec in reachable:
            progress.expect(spec.key)
        resolved: list[Resolved] = list(pool.map(run, reachable))
    by_key = {r.spec.key: r for r in resolved}
    for spec in specs:
        old_entry = manifest.targets.get(spec.key)
        old_texts = committed(spec.key)
        result = by_key.get(spec.key)
        if result is None:
            urls = [url for url in spec.indexes if url in down]
            kept = ("no lock yet" if not old_texts else
                    "the committed lock is kept" if old_entry is not None else
                    f"its lock {legacy[spec.key]} is in the old one-file layout, which this"
                    " bakery does not install: the target builds unlocked until `bakery lock`"
                    " reaches the index")
            outcomes.append(Outcome(
                spec.key, spec.platform, spec.python, "kept",
                f"{'; '.join(down[u] for u in urls)}; {kept}",
            ))
            if stale_reason(spec, old_entry, directory) is not None:
                unlocked.append(spec.key)
            continue
        if result.text is None:
            outcomes.append(Outcome(spec.key, spec.platform, spec.python, "failed",
                                    result.error or "uv failed"))
            continue
        new = parse_lock(result.text)
        texts = split(result.text, spec.groups, key=spec.key, python=spec.python,
                      platform=spec.uv_platform)
        old_all = joined(list(old_texts.values())) if old_texts else ""
        diff = changes(parse_lock(old_all) if old_all else {}, new, spec.groups)
        moved = tuple(name for name, text in texts.items()
                      if (old_texts or {}).get(name) != text)
        fresh = stale_reason(spec, old_entry, directory) is None
        status: LockStatus = "new" if old_texts is None else (
            "unchanged" if fresh and not moved else "updated"
        )
        outcomes.append(Outcome(spec.key, spec.platform, spec.python, status, "", diff,
                                len(new), moved))
        new_groups[spec.key] = texts
        folder = lock_dir_name(spec.key)
        entries[spec.key] = LockedTarget(
            inputs=spec.fingerprint(),
            dir=folder,
            python=spec.python,
            platform=spec.uv_platform,
            requirements=spec.requirements,
            indexes=spec.indexes,
            packages=len(new),
            groups=tuple(
                LockedGroup(name=group.name, file=f"{folder}/{name}",
                            packages=len(blocks(text)[1]), sha256=file_sha256(text))
                for group, (name, text) in zip(GROUPS, texts.items(), strict=True)
            ),
        )

    base_outcome, base_lock = (None, manifest.base)
    frontend_outcome, frontend_lock = (None, manifest.frontend)
    if base:
        base_outcome, base_lock = _refresh_base(matrix.base_image, manifest.base, platforms)
        frontend_outcome, frontend_lock = _refresh_frontend(matrix.frontend, manifest.frontend)

    failed = any(o.status == "failed" for o in outcomes)
    new_manifest = Manifest(base=base_lock, frontend=frontend_lock,
                            targets=dict(sorted(entries.items())))
    written = False
    if not failed and not dry_run:
        written = _write_lock(path, new_groups, manifest_json(new_manifest))
        obsolete = [directory / group.file for key, old in manifest.targets.items()
                    if key not in entries for group in old.groups]
        obsolete += [directory / old_file for key, old_file in legacy.items()
                     if key in new_groups or key not in all_keys]
        for file in obsolete:
            if file.exists():
                file.unlink()
                written = True
        for old_key, old in manifest.targets.items():
            if old_key not in entries:
                with contextlib.suppress(OSError):
                    (directory / old.dir).rmdir()
    unpinned = base and (base_lock is None or base_lock.image != matrix.base_image
                         or any(p not in base_lock.digests for p in platforms))
    return LockResult(tuple(outcomes), base_outcome, written, path, tuple(unlocked), unpinned,
                      frontend_outcome)


def _refresh_frontend(
    frontend: str, old: FrontendLock | None
) -> tuple[BaseOutcome, FrontendLock | None]:
    """The Dockerfile frontend's tag resolved to its index digest (manifest.FrontendLock);
    a registry that does not answer keeps the committed pin."""
    from bakery.registry.errors import RegistryError
    from bakery.registry.read import resolve_digest

    try:
        digest = resolve_digest(frontend)
    except RegistryError as exc:
        kept = "the committed pin is kept" if old else "the frontend stays unpinned"
        return BaseOutcome(frontend, "kept", f"{exc}; {kept}"), old
    before = old.digest if old is not None and old.image == frontend else None
    diff = () if before == digest else (Change("frontend", before, digest, frontend),)
    status: LockStatus = "new" if old is None else ("updated" if diff else "unchanged")
    return (BaseOutcome(frontend, status, "", diff, {"index": digest}),
            FrontendLock(image=frontend, digest=digest))


def _write_lock(path: Path, groups: Mapping[str, Mapping[str, str]], manifest: str) -> bool:
    """Every changed layer file and the manifest, all or none (`write_all_atomic`): a failure
    leaves locks/ exactly as it was, directories made for new locks removed again. False when
    every file already held what it would be written."""
    from bakery.textfile import write_all_atomic

    directory = path.parent
    files: dict[Path, str] = {}
    for key, texts in groups.items():
        for name, text in texts.items():
            files[directory / lock_dir_name(key) / name] = text
    files[path] = manifest
    changed = {p: text for p, text in files.items()
               if not p.exists() or p.read_text(encoding="utf-8") != text}
    made: list[Path] = []
    try:
        for folder in [directory, *(directory / lock_dir_name(key) for key in groups)]:
            if not folder.is_dir():
                folder.mkdir()
                made.append(folder)
        write_all_atomic(changed, what="locks/")
    except (OSError, BakeryError) as exc:
        for folder in reversed(made):
            with contextlib.suppress(OSError):
                folder.rmdir()
        if isinstance(exc, BakeryError):
            raise
        raise ConfigError(f"{directory}: cannot write: {exc.strerror or exc}; locks/ left"
                          " unchanged") from None
    return bool(changed)


def _refresh_base(
    image: str, old: BaseLock | None, platforms: Sequence[str]
) -> tuple[BaseOutcome, BaseLock | None]:
    from bakery.registry.errors import RegistryError
    from bakery.registry.read import resolve_platform_digests

    try:
        digests = resolve_platform_digests(image, platforms)
    except RegistryError as exc:
        kept = "the committed pin is kept" if old else "the base stays unpinned"
        return BaseOutcome(image, "kept", f"{exc}; {kept}"), old
    before = old.digests if old is not None and old.image == image else {}
    diff = tuple(
        Change(platform, before.get(platform), digests.get(platform), image)
        for platform in sorted(set(before) | set(digests))
        if before.get(platform) != digests.get(platform)
    )
    status: LockStatus = "new" if old is None else ("updated" if diff else "unchanged")
    return BaseOutcome(image, status, "", diff, digests), BaseLock(image=image, digests=digests)
