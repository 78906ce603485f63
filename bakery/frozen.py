"""The one base of bakery's value models: immutable, and strict about unknown fields, so a
typo in a file bakery reads is an error rather than a silently ignored key."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
