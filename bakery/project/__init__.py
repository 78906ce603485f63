"""The one loader: matrix.toml (+ matrix.lock.json, locks/, the git context) -> a plan."""

from bakery.project.load import LoadedPlan, Mode, default_results, load_plan

__all__ = ["LoadedPlan", "Mode", "default_results", "load_plan"]
