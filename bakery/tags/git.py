"""The git context that release tags are computed from: --ref/--sha, else GITHUB_*, else git."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bakery.errors import ConfigError

RefKind = Literal["branch", "tag", "pr"]
_SHA = re.compile(r"^[0-9a-f]{7,40}\Z")


@dataclass(frozen=True)
class GitContext:
    """A git ref (`refs/heads/main`, `refs/tags/v1.2.3`, `refs/pull/7/merge`) and commit."""

    ref: str | None = None
    sha: str | None = None
    source: Literal["cli", "env", "git", "none"] = "none"
    # the CI run (GITHUB_RUN_ID) building it, when there is one: candidates carry it
    run: str | None = None

    @property
    def candidate_suffix(self) -> str:
        """What makes a candidate tag this build's own: `-<commit, 7 digits>` and, in a CI
        run, `-run<id>` (a tag run and a main run of one commit build different images: the
        release label differs). Empty without a commit (the committed bake file)."""
        if not self.sha:
            return ""
        return f"-{self.sha[:7]}" + (f"-run{self.run}" if self.run else "")

    @property
    def kind(self) -> RefKind | None:
        if self.ref is None:
            return None
        if self.ref.startswith("refs/heads/"):
            return "branch"
        if self.ref.startswith("refs/tags/"):
            return "tag"
        return "pr"

    @property
    def name(self) -> str | None:
        """Branch name, tag name, or pull-request number."""
        if self.ref is None:
            return None
        if self.kind == "pr":
            return self.ref.split("/")[2]
        return self.ref.split("/", 2)[2]


def parse_ref(ref: str, *, where: str) -> str:
    """Validate a full git ref; suggest the full forms for a short one."""
    if ref.startswith(("refs/heads/", "refs/tags/")) and len(ref.split("/", 2)[2]) > 0:
        return ref
    if re.match(r"^refs/pull/[0-9]+/(merge|head)$", ref):
        return ref
    raise ConfigError(
        f"{where}: {ref!r} is not a full git ref; use refs/heads/<branch>, refs/tags/<tag>"
        f" or refs/pull/<n>/merge (e.g. refs/tags/{ref} or refs/heads/{ref})"
    )


def resolve_git_context(
    *,
    ref: str | None,
    sha: str | None,
    env: Mapping[str, str],
    repo_dir: Path | None,
) -> GitContext:
    """Resolve the context in order: CLI, then GITHUB_REF/SHA, then git. BAKERY_SHA, when set,
    stands for GITHUB_SHA: a workflow that builds a commit other than the one it was started
    for (the weekly lock refresh) names it there, as GitHub lets no step change GITHUB_SHA."""
    if sha is not None and not _SHA.match(sha):
        raise ConfigError(f"--sha: {sha!r} is not a hex commit id (7 to 40 lowercase hex digits)")
    run = env.get("GITHUB_RUN_ID") or None
    if run is not None and not run.isdigit():
        raise ConfigError(f"GITHUB_RUN_ID: {run!r} is not a run id (digits)")
    if ref is not None or sha is not None:
        return GitContext(
            ref=None if ref is None else parse_ref(ref, where="--ref"), sha=sha, source="cli",
            run=run,
        )
    sha_var = "BAKERY_SHA" if env.get("BAKERY_SHA") else "GITHUB_SHA"
    env_ref, env_sha = env.get("GITHUB_REF"), env.get(sha_var)
    if env_ref or env_sha:
        if env_sha and not _SHA.match(env_sha):
            raise ConfigError(f"{sha_var}: {env_sha!r} is not a hex commit id")
        return GitContext(
            ref=parse_ref(env_ref, where="GITHUB_REF") if env_ref else None,
            sha=env_sha or None,
            source="env",
            run=run,
        )
    if repo_dir is not None:
        return _from_checkout(repo_dir)
    return GitContext()


def _git(repo_dir: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=repo_dir, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None


def _from_checkout(repo_dir: Path) -> GitContext:
    sha = _git(repo_dir, "rev-parse", "HEAD")
    if sha is None:
        return GitContext()
    tag = _git(repo_dir, "describe", "--tags", "--exact-match", "HEAD")
    if tag is not None:
        return GitContext(ref=f"refs/tags/{tag}", sha=sha, source="git")
    branch = _git(repo_dir, "symbolic-ref", "-q", "HEAD")
    return GitContext(ref=branch, sha=sha, source="git")


def commit_of(ref: str, repo_dir: Path) -> str | None:
    """The commit `ref` names in the checkout at `repo_dir` (`git rev-parse`), or None when
    git has no such ref there (or no git)."""
    sha = _git(repo_dir, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    return sha if sha is not None and _SHA.match(sha) else None
