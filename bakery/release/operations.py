"""Which tags a release creates, from which verified digest, and which targets it refuses
(pure: plan targets + bake results in, operations and refusals out)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bakery.bake.results import Results, TargetResult
from bakery.plan.target import Target


@dataclass(frozen=True)
class TagOperation:
    target: str
    tag: str
    kind: str  # legacy | compatibility | release
    source: str  # repository@digest, the verified image
    digest: str


@dataclass(frozen=True)
class Refusal:
    target: str
    reason: str


def refusal_reason(result: TargetResult | None, results: Results) -> str | None:
    """Why a target cannot be released, or None when it can."""
    if result is None:
        return "not built: no bake result for it (run `bakery bake --push`)"
    if result.status != "ok":
        return f"its build is {result.status}"
    if not result.digest:
        return "the bake result has no digest"
    if results.output != "push":
        return (f"built with --{results.output}, not pushed: release copies pushed images"
                if results.output == "load" else
                "built without --push: release copies pushed images")
    verify = result.verify
    if verify is None:
        return "not verified: run `bakery verify`"
    if not verify.ok:
        found = "; ".join(f"{m.check} expected {m.expected}, found {m.found or 'nothing'}"
                          for m in verify.mismatches)
        return f"verification failed: {found}"
    if verify.digest != result.digest:
        return (f"the verified digest {verify.digest} is not the built one {result.digest};"
                " run `bakery verify` again")
    return None


def _source(result: TargetResult, target: Target) -> str:
    assert result.verify is not None and result.digest is not None
    if "@" in result.verify.image:
        return result.verify.image  # exactly what verify ran
    return f"{target.repository}@{result.digest}"


def release_operations(
    targets: Sequence[Target], results: Results
) -> tuple[list[TagOperation], list[Refusal]]:
    by_id = {r.id: r for r in results.targets}
    operations: list[TagOperation] = []
    refusals: list[Refusal] = []
    for target in targets:
        result = by_id.get(target.id)
        reason = refusal_reason(result, results)
        if reason is not None or result is None or result.digest is None:
            refusals.append(Refusal(target.id, reason or "not built"))
            continue
        source = _source(result, target)
        for kind in ("legacy", "compatibility", "release"):
            for tag in getattr(target.tags, kind):
                operations.append(TagOperation(target.id, tag, kind, source, result.digest))
    return operations, refusals
