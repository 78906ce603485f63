"""Which tags a release creates, from which verified digest, and which targets it refuses
(pure: plan targets + bake results in, operations and refusals out)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from bakery.bake.results import Results, TargetResult
from bakery.errors import ConfigError
from bakery.plan.release import PublishNames
from bakery.plan.target import MultiArchIndex, Target
from bakery.release.gpuproof import gpu_proof_refusal
from bakery.tags.refs import ImageRef, parse_reference

Kind = Literal["primary", "legacy", "compatibility", "release", "multiarch"]
KINDS: tuple[Kind, ...] = ("primary", "legacy", "compatibility", "release")
# the build of each target: its result and the results document (file) that holds it
Found = Mapping[str, tuple[TargetResult, Results]]


def find_results(documents: Sequence[Results], *, sources: Sequence[str] = ()) -> Found:
    """Each target's result across several results files (one per CI job); a target in two
    files is ConfigError naming both, since either could be the one verified."""
    found: dict[str, tuple[TargetResult, Results]] = {}
    where: dict[str, str] = {}
    for n, doc in enumerate(documents):
        name = sources[n] if n < len(sources) else f"results document {n + 1}"
        for result in doc.targets:
            if result.id in found:
                raise ConfigError(f"target {result.id!r} is in two results files:"
                                  f" {where[result.id]} and {name}; pass each build's results"
                                  " once")
            found[result.id] = (result, doc)
            where[result.id] = name
    return found


def _found(results: Results | Found) -> Found:
    return find_results([results]) if isinstance(results, Results) else results


def _tags(target: Target, names: PublishNames) -> list[tuple[Kind, str]]:
    if names == "edge":
        return [("release", tag) for tag in target.tags.edge]
    kinds: tuple[Kind, ...] = ("release",) if names == "branch" else KINDS
    return [(kind, tag) for kind in kinds for tag in getattr(target.tags, kind)]


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


def refusal_reason(
    target: Target, result: TargetResult | None, results: Results | None
) -> str | None:
    """Why `target` cannot be released, or None when it can: its build is ok and pushed, it
    was built from this plan, and `bakery verify` passed on exactly the built digest."""
    if result is None or results is None:
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
    targets: Sequence[Target], results: Results | Found, names: PublishNames = "all"
) -> tuple[list[TagOperation], list[Refusal]]:
    """Every user-visible name (primary, legacy, compatibility, release; or only those
    `names` selects) of the eligible `targets` (in plan order, then kind, then the tag's order
    in the plan), each copied from the target's verified candidate, and a refusal for every
    other target."""
    found = _found(results)
    operations: list[TagOperation] = []
    refusals: list[Refusal] = []
    for target in targets:
        result, doc = found.get(target.id, (None, None))
        reason = refusal_reason(target, result, doc)
        if reason is None and names == "all":  # a release moves the public names
            reason = gpu_proof_refusal(target, result.verify if result else None)
        if reason is not None:
            refusals.append(Refusal(target=target.id, reason=reason))
            continue
        assert result is not None and result.digest is not None
        # the staging repository bake pushed to: the digest is known to exist there
        source = str(ImageRef.parse(target.candidate).with_digest(result.digest))
        operations.extend(TagOperation(target=target.id, tag=tag, kind=kind, source=source,
                                       digest=result.digest) for kind, tag in _tags(target, names))
    return operations, refusals


def index_operations(
    indexes: Sequence[MultiArchIndex], plan_targets: Sequence[Target],
    selected: Sequence[Target], results: Results | Found,
) -> tuple[list[TagOperation], list[Refusal]]:
    """The multi-architecture names of the indexes whose members are all among `selected`:
    each is created from every member's verified candidate, or refused (then nothing at all
    is created) when any member is not releasable. An index with only some members selected
    is left alone (a refusal names it, so that a partial selection never passes silently for
    the whole release): release it with all its members."""
    by_id = {t.id: t for t in plan_targets}
    found = _found(results)
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
            result, doc = found.get(member, (None, None))
            reason = refusal_reason(by_id[member], result, doc)
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
