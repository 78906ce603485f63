"""The plan: the matrix expanded into targets, tags and groups, with no side effects."""

from bakery.plan.expand import expand
from bakery.plan.select import select_targets
from bakery.plan.target import Plan, StageTarget, Target

__all__ = ["Plan", "StageTarget", "Target", "expand", "select_targets"]
