"""The one base of bakery's value models, and its one variant.

`Frozen`: immutable, and strict about unknown fields, so a typo in a file bakery reads is an
error rather than a silently ignored key. `Foreign`: the same for documents bakery reads but
does not own (registry and package-index answers, an older locks manifest), whose fields
beyond those bakery reads are ignored: they are theirs to add."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    # schemas are built on a model's first use, so a command pays only for the models it uses
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class Foreign(Frozen):
    model_config = ConfigDict(extra="ignore")
