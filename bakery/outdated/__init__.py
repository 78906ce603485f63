"""`bakery outdated`: for every pin of matrix.toml, the newest release on its index and, per
target (python x platform x accelerator), whether it has a wheel there. `collect` builds the
report from the preflight index client and wheel checks; `bakery.views.outdated` shows it."""
