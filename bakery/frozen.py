"""The one base of bakery's value models, and its one variant.

`Frozen`: immutable, and strict about unknown fields, so a typo in a file bakery reads is an
error rather than a silently ignored key. `Foreign`: the same for documents bakery reads but
does not own (registry and package-index answers, an older locks manifest), whose fields
beyond those bakery reads are ignored: they are theirs to add."""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    # schemas are built on a model's first use, so a command pays only for the models it uses
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    @classmethod
    def assemble(cls, **values: Any) -> Self:
        """An instance made of values that already are what validation would keep (a value
        of each field's type: tuples, models, dicts of str), every field given in declared
        order; nothing is checked or copied. For models built in bulk from validated data:
        a plan target takes ~3 µs this way and ~10 µs through validation (or
        `model_construct`), and a plan of 10,000 images has 30,000. tests/test_plan.py checks
        the plan's targets equal their validated selves."""
        if tuple(values) != tuple(cls.__pydantic_fields__):
            raise TypeError(f"{cls.__name__}.assemble() takes every field, in declared order,"
                            f" and only those; got {list(values)}")
        model = cls.__new__(cls)
        # what model_construct() sets; `values` is this call's own dict
        object.__setattr__(model, "__dict__", values)
        object.__setattr__(model, "__pydantic_fields_set__", set(values))
        object.__setattr__(model, "__pydantic_extra__", None)
        object.__setattr__(model, "__pydantic_private__", None)
        return model


class Foreign(Frozen):
    model_config = ConfigDict(extra="ignore")
