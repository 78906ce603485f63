"""What keeps a plan's cost per image flat as the matrix grows (docs/design.md, "A plan costs
the same per image at any size"), in one place: models assembled from values already of their
types, a repository parsed once for all its tags, and the cyclic garbage collector paused
while a plan is built. What the targets of one plan share is worked out once in
`bakery.plan.values`."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from bakery.frozen import Frozen
from bakery.tags.refs import ImageRef, parse_reference, tag_problem

M = TypeVar("M", bound=Frozen)


def assemble(model: type[M], **values: Any) -> M:
    """An instance of `model` made of values that already are what validation would keep (a
    value of each field's type: tuples, models, dicts of str), every field given in declared
    order; nothing is checked or copied, so models built in bulk from validated data skip a
    second validation. tests/test_plan.py checks the plan's targets equal their validated
    selves."""
    if tuple(values) != tuple(model.__pydantic_fields__):
        raise TypeError(f"{model.__name__}: assemble() takes every field, in declared order,"
                        f" and only those; got {list(values)}")
    instance = model.__new__(model)
    # what model_construct() sets; `values` is this call's own dict
    object.__setattr__(instance, "__dict__", values)
    object.__setattr__(instance, "__pydantic_fields_set__", set(values))
    object.__setattr__(instance, "__pydantic_extra__", None)
    object.__setattr__(instance, "__pydantic_private__", None)
    return instance


@dataclass(frozen=True)
class Repository:
    """A repository name as written (`ratio1/x`), for naming many tags in it: `tagged` gives
    what parsing `<written>:<tag>` gives, parsing the name once rather than once per tag."""

    written: str
    # Docker's spelling of `written` (`str(ImageRef.parse(written))`); None when `written` is
    # not a valid name without tag or digest: then every tag takes the full parse
    spelled: str | None

    @classmethod
    def of(cls, written: str) -> Repository:
        try:
            ref = parse_reference(written)
        except ValueError:
            return cls(written, None)
        return cls(written, str(ref) if ref.tag is None and ref.digest is None else None)

    def tagged(self, tag: str, *, where: str) -> str:
        """`str(ImageRef.parse(f"{written}:{tag}", where=where, default_tag="latest"))`. A
        valid tag has no '/', ':' or '@', so the name before it parses as `written` alone
        did: only the tag needs checking. Anything else takes the full parse (and its
        message)."""
        if self.spelled is not None and tag_problem(tag) is None:
            return f"{self.spelled}:{tag}"
        return str(ImageRef.parse(f"{self.written}:{tag}", where=where, default_tag="latest"))


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Build a plan without Python's cyclic garbage collector walking it over and over.

    The matrix and its plan are a large graph of new objects with no cycles, and each
    collection on the way walks all of them, and everything the process imported before, to
    free nothing. So collections pause while the plan is built, and what exists once it is
    built is frozen (`gc.freeze`): left out of later collections, which would walk it again as
    it ages and once more at exit. Reference counting frees everything as usual; what one
    build froze goes back to the collector when the next build starts, so a process that
    builds many plans (the tests) keeps no unreachable cycles for longer than that.
    """
    gc.unfreeze()
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
        gc.freeze()
    finally:
        if enabled:
            gc.enable()
