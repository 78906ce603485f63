"""The results file: what `bakery bake` built, read by `bakery verify` and `bakery release`.

Schema (documented in docs/building.md; `schema_version` changes on any incompatible edit):

    {
      "schema_version": 1,
      "bakery_version": "0.1.0",
      "matrix": "matrix.toml",
      "bake_file": "docker-bake.hcl",
      "builder": null,                       # --builder, null = the current builder
      "output": "push" | "load" | "cache",   # --push, --load, or neither
      "fail_fast": false,
      "jobs": 3,
      "git": {"ref": "refs/heads/main", "sha": "...", "source": "git"},
      "started_at": "2026-11-28T10:00:00Z",
      "duration_s": 812.4,
      "ok": false,                            # every target ok
      "targets": [
        {"id": "...", "status": "ok" | "failed" | "cancelled" | "skipped",
         "platform": "linux/amd64", "digest": "sha256:..." | null, "tags": ["repo:tag"],
         "media_type": "application/vnd.oci.image.index.v1+json" | null,   # what digest names
         "duration_s": 801.2 | null, "started_at": "..." | null,
         "error": null | {"step": "[builder 3/7] RUN make" | null, "message": "...",
                          "log_tail": ["..."]},
         "command": ["docker", "buildx", "bake", ...], "build_ref": "..." | null,
         "log_file": ".bakery/logs/<id>.log" | null,
         "verify": null | {"ok": true, "image": "repo@sha256:...", "digest": "sha256:...",
                           "verified_at": "...",
                           "mismatches": [{"check": "torch", "expected": "2.9.1+cu128",
                                           "found": "2.9.0+cu128"}],
                           "probe": {...},
                           "compressed_size": 4180000000 | null,   # bytes, registry
                           "size": 7380000000 | null,              # bytes, unpacked
                           "update_cost": 310000000 | null}}       # bytes a device pulls
      ]
    }
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import AwareDatetime, Field, StringConstraints

from bakery.bake.buildlog import BuildLog, Failure, strip_owner
from bakery.bake.invocations import FAIL_FAST_NAME, Invocation
from bakery.frozen import Frozen
from bakery.jsonfile import read_versioned
from bakery.plan.target import GitInfo

RESULTS_SCHEMA_VERSION = 1

BakeStatus = Literal["ok", "failed", "cancelled", "skipped"]
BAKE_STATUSES: tuple[BakeStatus, ...] = get_args(BakeStatus)
Output = Literal["push", "load", "cache"]


class BuildError(Frozen, strict=True):
    """Why a target is not ok. `step` is the buildx step that failed, when the log names one."""

    step: str | None
    message: str
    log_tail: tuple[str, ...] = ()


class Mismatch(Frozen, strict=True):
    """One check where the image does not hold what the plan says; found None = absent."""

    check: str
    expected: str
    found: str | None


# A content digest as buildx and registries write it; anything else in a results file is
# damage to report as such (not as a registry that cannot find the image).
DIGEST_PATTERN = r"^sha256:[0-9a-f]{64}$"
Digest = Annotated[str, StringConstraints(pattern=DIGEST_PATTERN)]
# seconds and bytes: finite and never negative (a NaN or a negative size is damage, refused
# when the file is read, not shown or judged)
Seconds = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Bytes = Annotated[int, Field(ge=0)]


class VerifyRecord(Frozen, strict=True):
    """`bakery verify`'s verdict on one target's built image, kept in the results file so
    `bakery release` publishes only verified digests."""

    ok: bool
    image: str
    digest: Digest | None
    verified_at: AwareDatetime
    mismatches: tuple[Mismatch, ...] = ()
    probe: dict[str, Any] = Field(default_factory=dict)
    # what the candidate weighs: compressed in the registry (what a pull downloads) and
    # unpacked in the engine that ran it; null where it could not be read
    compressed_size: Bytes | None = None
    size: Bytes | None = None
    # compressed bytes a device holding the released image (the primary name) downloads
    update_cost: Bytes | None = None


class TargetResult(Frozen, strict=True):
    id: str
    status: BakeStatus
    platform: str | None = None
    # what was built: with attestations an index (the image manifest and its attestation
    # manifest), else an image manifest; `bakery release` copies exactly this digest
    digest: Digest | None = None
    media_type: str | None = None
    tags: tuple[str, ...] = ()
    duration_s: Seconds | None = None
    started_at: AwareDatetime | None = None
    error: BuildError | None = None
    command: tuple[str, ...] = ()
    build_ref: str | None = None
    log_file: str | None = None
    verify: VerifyRecord | None = None


class Results(Frozen, strict=True):
    schema_version: Literal[1] = 1
    bakery_version: str
    matrix: str
    bake_file: str
    builder: str | None
    output: Output
    fail_fast: bool
    jobs: Annotated[int, Field(ge=1)]
    git: GitInfo
    started_at: AwareDatetime
    duration_s: Seconds
    ok: bool
    targets: tuple[TargetResult, ...]

    def target(self, target_id: str) -> TargetResult:
        for result in self.targets:
            if result.id == target_id:
                return result
        raise KeyError(target_id)

    def with_status(self, status: BakeStatus) -> tuple[TargetResult, ...]:
        return tuple(r for r in self.targets if r.status == status)


def load_results(path: Path) -> Results:
    """Read and validate a results file; ConfigError (exit 2) with what to do otherwise."""
    results = read_versioned(
        path, Results, version=RESULTS_SCHEMA_VERSION, what="the build results",
        fix="run `bakery bake` again",
        missing="no build results; run `bakery bake` first (or pass --results)",
    )
    assert results is not None  # `missing` is set: a missing file raises
    return results


def results_json(results: Results) -> str:
    return json.dumps(results.model_dump(mode="json"), indent=2) + "\n"


def with_verify(results: Results, records: Mapping[str, VerifyRecord]) -> Results:
    """The results with `verify` set on the targets in `records` (others unchanged)."""
    unknown = sorted(set(records) - {r.id for r in results.targets})
    if unknown:
        raise KeyError(", ".join(unknown))
    targets = tuple(
        r.model_copy(update={"verify": records[r.id]}) if r.id in records else r
        for r in results.targets
    )
    return results.model_copy(update={"targets": targets})


def overall_ok(targets: Sequence[TargetResult]) -> bool:
    return bool(targets) and all(r.status == "ok" for r in targets)


def exit_code(targets: Sequence[TargetResult]) -> int:
    """0 only when every requested target is ok."""
    return 0 if overall_ok(targets) else 1


# -- from one invocation to per-target results (pure) -----------------------------------


def read_metadata(path: Path) -> dict[str, Any] | None:
    """The metadata file buildx wrote, or None when there is none (a failed bake writes
    none) or it is not a JSON object."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _target_metadata(metadata: Mapping[str, Any], target: str) -> Mapping[str, Any] | None:
    entry = metadata.get(target)
    if isinstance(entry, dict):
        return entry
    if "containerimage.digest" in metadata or "image.name" in metadata:
        return metadata  # `docker buildx build` style, unkeyed
    return None


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _error(failure: Failure) -> BuildError:
    return BuildError(step=failure.step, message=failure.message, log_tail=failure.log_tail)


def _built(
    invocation: Invocation, target: str, metadata: Mapping[str, Any] | None,
    platforms: Mapping[str, str], require_image: bool, common: Mapping[str, Any],
) -> TargetResult:
    """The result of a target whose bake exited 0, from the metadata buildx wrote."""
    meta = _target_metadata(metadata or {}, target) or {}
    # the descriptor of what was exported: with attestations buildx writes an index there
    # (and the same digest as containerimage.digest); a classic-store --load writes none, and
    # its containerimage.digest is the image id
    descriptor = meta.get("containerimage.descriptor")
    descriptor = descriptor if isinstance(descriptor, dict) else {}
    digest = (_str_or_none(descriptor.get("digest"))
              or _str_or_none(meta.get("containerimage.digest")))
    media_type = _str_or_none(descriptor.get("mediaType"))
    names = tuple(n for n in (_str_or_none(meta.get("image.name")) or "").split(",") if n)
    if digest is not None and not re.match(DIGEST_PATTERN, digest):
        return TargetResult(
            id=target, status="failed", platform=platforms.get(target), error=BuildError(
                step=None, message=f"buildx exited 0 but its metadata ({invocation.metadata_file})"
                f" names a malformed digest {digest[:80]!r} for this target",
            ), **common,
        )
    if require_image and digest is None and not names:
        return TargetResult(
            id=target, status="failed", platform=platforms.get(target), error=BuildError(
                step=None, message="buildx exited 0 but its metadata"
                f" ({invocation.metadata_file}) names no digest and no image for this target:"
                " nothing was pushed or loaded to verify or release",
            ), **common,
        )
    return TargetResult(
        id=target, status="ok", platform=platforms.get(target), digest=digest,
        media_type=media_type, tags=names,
        build_ref=_str_or_none(meta.get("buildx.build.ref")), **common,
    )


def invocation_results(
    invocation: Invocation,
    *,
    command: Sequence[str],
    exit_code: int,
    metadata: Mapping[str, Any] | None,
    log: BuildLog,
    started_at: datetime,
    duration_s: float,
    cancelled: bool,
    platforms: Mapping[str, str],
    log_file: str | None,
    require_image: bool = False,
) -> list[TargetResult]:
    """Per-target results of one finished invocation.

    ok: exit 0 (digest and tags from the metadata file, keyed by target), except that with
    `require_image` (--push, --load) a target whose metadata names neither a digest nor an
    image is failed: it left nothing to verify or release. cancelled: bakery
    interrupted it. failed: the target the log names as failing; in a multi-target bake
    (`--fail-fast`) the others were cancelled by buildx, and when the log names no target
    every one of them is reported failed.
    """
    names = invocation.targets
    common: dict[str, Any] = {
        "command": tuple(command),
        "started_at": started_at,
        "duration_s": round(duration_s, 3),
        "log_file": log_file,
    }
    out = []
    if exit_code == 0:
        return [_built(invocation, target, metadata, platforms, require_image, common)
                for target in names]
    if cancelled:
        for target in names:
            step = log.current_step(target if len(names) > 1 else None)
            out.append(TargetResult(
                id=target, status="cancelled", platform=platforms.get(target),
                error=BuildError(
                    step=step and strip_owner(step, names),
                    message="cancelled: bakery was interrupted before the build finished",
                ),
                **common,
            ))
        return out
    # which targets of a multi-target bake failed; if the log names none, all of them did
    identified = log.failed_targets(names) if len(names) > 1 else []
    failed = identified or list(names)
    reported = {t: t for t in failed}  # target -> the name its failure is reported under
    for variant in [t for t in failed if t in invocation.derived]:
        image = invocation.derived[variant]
        if _image_step(invocation, log, variant, image):
            failed.remove(variant)
            if image not in reported:
                failed.append(image)
                reported[image] = variant
    fail_fast = invocation.name == FAIL_FAST_NAME
    for target in names:
        if target in failed:
            failure = log.failure(
                reported[target] if identified else None, names=names, exit_code=exit_code
            )
            out.append(TargetResult(
                id=target, status="failed", platform=platforms.get(target),
                error=_error(failure), **common,
            ))
        else:
            parent = invocation.derived.get(target)
            message = (f"cancelled: its image {parent} failed" if parent in failed else
                       f"cancelled: {', '.join(t for t in names if t in failed)} failed in the"
                       " same bake" + (" (--fail-fast builds every target in one bake)"
                                       if fail_fast else ""))
            out.append(TargetResult(
                id=target, status="cancelled", platform=platforms.get(target),
                error=BuildError(step=None, message=message), **common,
            ))
    return out


def _image_step(invocation: Invocation, log: BuildLog, variant: str, image: str) -> bool:
    """Whether the step buildx reports failed under `variant`'s name is one of its image's.

    The variant is built FROM the image in the same bake, and BuildKit runs their shared steps
    once: buildx (0.13 at least) names such a step under either target, from run to run. The
    step is the variant's own only when buildx names the variant's Dockerfile after it (and
    that Dockerfile is not also the image's by name)."""
    has_step, source = log.failed_step_source(variant, invocation.targets)
    if not has_step:
        return False  # no failing step (an export or push of the variant's own): its failure
    own = invocation.dockerfiles.get(variant)
    return source is None or source != own or own == invocation.dockerfiles.get(image)


def skipped_results(
    invocation: Invocation, *, command: Sequence[str], platforms: Mapping[str, str],
    reason: str,
) -> list[TargetResult]:
    """Targets of an invocation that never started."""
    return [
        TargetResult(
            id=target, status="skipped", platform=platforms.get(target),
            error=BuildError(step=None, message=reason), command=tuple(command),
        )
        for target in invocation.targets
    ]
