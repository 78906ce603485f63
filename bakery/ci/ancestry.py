"""Is a commit on the default branch? The one git question the workflow asks before a release:
a tag pushed on a commit that main never had (a fork's branch, an unmerged fix) is refused."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from bakery.errors import ConfigError, MissingToolError


def require_on_branch(sha: str, branch_ref: str, *, repo_dir: Path) -> None:
    """ConfigError unless `sha` is an ancestor of (or equal to) `branch_ref` in `repo_dir`.

    `branch_ref` is what the checkout has of the default branch, e.g. `refs/remotes/origin/main`
    (the workflow fetches it) or `refs/heads/main` in a local clone. `sha` must be a commit
    id (7 to 40 hex digits): a name like HEAD or a branch would make the check trivially
    pass."""
    if not re.fullmatch(r"[0-9a-f]{7,40}", sha):
        raise ConfigError(f"GITHUB_SHA: {sha!r} is not a commit id (7 to 40 lowercase hex"
                          " digits)")
    if not repo_dir.is_dir():
        raise ConfigError(f"--repo: {repo_dir} is not a directory (the git checkout of the"
                          " release tag)")
    try:
        done = subprocess.run(
            ["git", "merge-base", "--is-ancestor", sha, branch_ref],
            cwd=repo_dir, capture_output=True, text=True, timeout=30, check=False,
        )
    except FileNotFoundError:
        raise MissingToolError("git is not on PATH; it is needed to check a release tag's"
                               " commit") from None
    except subprocess.TimeoutExpired:
        raise ConfigError(f"git merge-base {sha} {branch_ref} did not answer in 30 s") from None
    if done.returncode == 0:
        return
    if done.returncode == 1:
        raise ConfigError(
            f"commit {sha} is not on {branch_ref}: release tags are cut from commits the"
            " default branch has; merge first, then tag"
        )
    detail = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "no output"
    raise ConfigError(
        f"cannot tell whether {sha} is on {branch_ref} ({detail}); the checkout needs the"
        " default branch and the tag's commit (actions/checkout with fetch-depth: 0)"
    )
