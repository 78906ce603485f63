"""The package lock: every distribution each image target installs, and the base image digest.

``spec`` says what one lock is resolved from (python, platform, pins, indexes) and fingerprints
it; ``uv`` runs uv's cross-platform resolver; ``requirements`` reads what it wrote; ``manifest``
is `locks/manifest.json` and the check plan, render and bake run on every call; ``registry``
resolves the base image's digest per platform; ``refresh`` ties it together for `bakery lock`.
Only ``spec`` and ``manifest`` are imported on the plan path: they stay cheap.
"""
