"""Which tags a release creates, from which verified digest, and which targets it refuses
(pure: plan targets + bake results in, operations and refusals out)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from bakery.bake.results import Results, TargetResult
from bakery.plan.target import MultiArchIndex, Target
from bakery.tags.refs import ImageRef, parse_reference

Kind = Literal["primary", "legacy", "compatibility", "release", "multiarch"]
KINDS: tuple[Kind, ...] = ("primary", "legacy", "compatibility", "release")


@dataclass(frozen=True, kw_only=True)
class TagOperation:
    """Point `tag` at `source` (`<candidate repository>@<verified digest>` of `target`)."""

    target: str
    tag: str
    kind: Kind
    source: str
    digest: str
    # a multi-architecture name: an index of every member's verified candidate (`source` is
    # the first of them; `digest` is empty, the index is made by the copy)
    sources: tuple[str, ...] = ()

    @property
    def all_sources(self) -> tuple[str, ...]:
        return self.sources or (self.source,)


@dataclass(frozen=True, kw_only=True)
class Refusal:
    target: str
    reason: str


def _normalized(ref: str) -> str:
    """`docker.io/acme/x:t` and `docker.io/library/x:t` name the same tag as `acme/x:t`, `x:t`."""
    try:
        return parse_reference(ref).canonical
    except ValueError:
        return ref


def refusal_reason(target: Target, result: TargetResult | None, results: Results) -> str | None:
    """Why `target` cannot be released, or None when it can: its build is ok and pushed, it
    was built from this plan, and `bakery verify` passed on exactly the built digest."""
    if result is None:
        return "not built: no bake result for it (run `bakery bake --push`)"
    if result.status != "ok":
        return f"build {result.status}" + (f": {result.error.message}" if result.error else "")
    if not result.digest:
        return "not built: the bake result has no digest (run `bakery bake --push`)"
    if results.output != "push":
        how = "--load" if results.output == "load" else "neither --push nor --load"
        return (f"not pushed (built with {how}): release copies pushed images; run"
                " `bakery bake --push`")
    pushed = {_normalized(t) for t in result.tags}
    if pushed and _normalized(target.candidate) not in pushed:
        return (f"built for another plan: bake pushed {', '.join(sorted(result.tags))}, the"
                f" plan's candidate is {target.candidate}; run `bakery bake --push` and"
                " `bakery verify` again")
    verify = result.verify
    if verify is None:
        return "not verified: run `bakery verify`"
    if not verify.ok:
        found = "; ".join(f"{m.check} expected {m.expected} found {m.found or 'nothing'}"
                          for m in verify.mismatches)
        return f"verification failed: {found or 'see `bakery verify`'}"
    if verify.digest != result.digest:
        return (f"verified digest differs from the built one (verified {verify.digest},"
                f" built {result.digest}); run `bakery verify` again")
    return None


def release_operations(
    targets: Sequence[Target], results: Results
) -> tuple[list[TagOperation], list[Refusal]]:
    """Every user-visible name (primary, legacy, compatibility, release) of the eligible
    `targets` (in plan order, then kind, then the tag's order in the plan), each copied from
    the target's verified candidate, and a refusal for every other target."""
    by_id = {r.id: r for r in results.targets}
    operations: list[TagOperation] = []
    refusals: list[Refusal] = []
    for target in targets:
        result = by_id.get(target.id)
        reason = refusal_reason(target, result, results)
        if reason is not None:
            refusals.append(Refusal(target=target.id, reason=reason))
            continue
        assert result is not None and result.digest is not None
        # the staging repository bake pushed to: the digest is known to exist there
        source = str(ImageRef.parse(target.candidate).with_digest(result.digest))
        for kind in KINDS:
            for tag in getattr(target.tags, kind):
                operations.append(TagOperation(target=target.id, tag=tag, kind=kind,
                                               source=source, digest=result.digest))
    return operations, refusals


def index_operations(
    indexes: Sequence[MultiArchIndex], plan_targets: Sequence[Target],
    selected: Sequence[Target], results: Results,
) -> tuple[list[TagOperation], list[Refusal]]:
    """The multi-architecture names of the indexes whose members are all among `selected`:
    each is created from every member's verified candidate, or refused (then nothing at all
    is created) when any member is not releasable. An index with only some members selected
    is left alone (a refusal names it, so that a partial selection never passes silently for
    the whole release): release it with all its members."""
    by_id = {t.id: t for t in plan_targets}
    by_result = {r.id: r for r in results.targets}
    chosen = {t.id for t in selected}
    operations: list[TagOperation] = []
    refusals: list[Refusal] = []
    for index in indexes:
        if not chosen & set(index.members):
            continue
        missing = [m for m in index.members if m not in chosen]
        if missing:
            refusals.append(Refusal(
                target=f"multiarch.{index.id}",
                reason=f"needs all its members; add {', '.join(missing)} to --target"))
            continue
        sources = []
        for member in index.members:
            result = by_result.get(member)
            reason = refusal_reason(by_id[member], result, results)
            if reason is not None:
                refusals.append(Refusal(target=f"multiarch.{index.id}",
                                        reason=f"member {member}: {reason}"))
                break
            assert result is not None and result.digest is not None
            sources.append(str(ImageRef.parse(by_id[member].candidate)
                               .with_digest(result.digest)))
        else:
            operations.extend(
                TagOperation(target=f"multiarch.{index.id}", tag=tag, kind="multiarch",
                             source=sources[0], digest="", sources=tuple(sources))
                for tag in index.tags)
    return operations, refusals
