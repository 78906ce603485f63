"""`bakery bake`: invocation planning, build-log parsing, the runner and the results file.

Nothing here imports python-on-whales; `bakery.docker.buildx` is the only module that runs
Docker. verify and release read the results through `load_results`.
"""

from bakery.bake.results import Results, TargetResult, load_results

__all__ = ["Results", "TargetResult", "load_results"]
