"""`bakery bake`: the request and its preparation (`request`), `run_bake` (`run`), invocation
planning, build-log parsing, the runner and the results file.

Nothing here imports python-on-whales; `bakery.docker.buildx` is the only module that runs
Docker. verify and release read the results through `load_results`.
"""

from bakery.bake.results import Results, TargetResult, load_results

__all__ = ["Results", "TargetResult", "load_results"]
