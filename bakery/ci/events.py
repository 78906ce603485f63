"""From a workflow event (GITHUB_EVENT_NAME, GITHUB_REF) to what the run may do.

The rules, in one place so the workflow's jobs only read the answer:

- pull_request: builds the `default` group, loads and tests it; pushes and promotes nothing.
- push to the default branch: builds `all`, pushes candidates, promotes the edge, branch and
  sha release tags.
- push of a semver tag (`v1.3.0`, `v1.3.0-rc.1`) whose commit is on the default branch: builds
  `all`, pushes candidates, promotes every name (primary, legacy, compatibility, release)
  for a final release; a pre-release promotes its own release tags only (`bakery release`
  narrows `--names all` itself for a pre-release ref).
- schedule, workflow_dispatch on the default branch: refreshes the package locks and the base
  image digests (`bakery lock`). Nothing changed: nothing is built or published. Something
  changed: the refreshed locks are committed on a branch of their own and proposed as a pull
  request, and that commit is built (`all`), verified and tested, and promoted to the edge
  names only. An image is only ever built from locks a commit holds, so every published image
  can be rebuilt from its commit (its revision label names that commit).
- anything else (a non-semver tag, another branch): refused, nothing built.

A semver tag whose commit is not on the default branch is refused too (`ancestry`): a release
is always something main has seen.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Literal

from bakery.errors import ConfigError
from bakery.plan.release import SEMVER, PublishNames

EVENTS = ("pull_request", "push", "schedule", "workflow_dispatch")


@dataclass(frozen=True, kw_only=True)
class RunDecision:
    """What a workflow run does. `names`: which names promotion creates (see the table); None
    when the run promotes nothing (a step output `none`)."""

    event: str
    ref: str
    refresh: bool  # refresh the locks (bakery lock); build, push and promote only on a change
    build: bool  # build (and test) the plan_target group, whatever a refresh finds
    plan_target: Literal["default", "all"]
    push: bool
    promote: bool
    names: PublishNames | None
    prerelease: bool
    needs_ancestry_check: bool
    reason: str

    def fields(self) -> dict[str, object]:
        """What the workflow reads, keyed as its step outputs (`plan-target`); no names is
        `none` there."""
        fields = asdict(self)
        del fields["needs_ancestry_check"]
        fields["names"] = self.names or "none"
        return {key.replace("_", "-"): value for key, value in fields.items()}

    def outputs(self) -> dict[str, str]:
        """The decision as GitHub step outputs (`key=value`, booleans as true/false)."""
        return {key: ("true" if value else "false") if isinstance(value, bool) else str(value)
                for key, value in self.fields().items()}


# what git forbids in a ref name (`git check-ref-format`): control characters, space, ~ ^ : ?
# * [ \, "..", "@{", and DEL; checked so no value bakery writes for the workflow can carry a
# line of its own into $GITHUB_OUTPUT
_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//")


def ref_problem(ref: str) -> str | None:
    """Why `ref` is not a valid full git ref name (`refs/heads/main`), or None."""
    if not ref.startswith("refs/") or ref == "refs/":
        return "a full ref starts with refs/ (refs/heads/main, refs/tags/v1.3.0)"
    bad = _REF_FORBIDDEN.search(ref)
    if bad is not None:
        return f"git forbids {bad.group()!r} in a ref name"
    if ref.endswith(("/", ".")) or ref == "@":
        return "a ref name cannot end with '/' or '.'"
    for part in ref.split("/"):
        if not part:
            return "a ref name has no empty component"
        if part.startswith(".") or part.endswith(".lock"):
            return f"component {part!r}: git forbids a leading '.' and a trailing '.lock'"
    return None


def _check_inputs(ref: str, default_branch: str) -> None:
    if problem := ref_problem(ref):
        raise ConfigError(f"GITHUB_REF: {ref!r} is not a valid git ref name: {problem}")
    if not default_branch or ref_problem(f"refs/heads/{default_branch}"):
        raise ConfigError(f"--default-branch: {default_branch!r} is not a valid branch name")


def github_outputs(outputs: Mapping[str, str]) -> str:
    """`key=value` lines for $GITHUB_OUTPUT; a value holding a line break is written in
    GitHub's multi-line form (`key<<DELIMITER`, the value, the delimiter) with a delimiter it
    cannot contain, so no value can add an output of its own."""
    lines = []
    for key, value in outputs.items():
        if "\n" in value or "\r" in value:
            delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
            lines.append(f"{key}<<{delimiter}\n{value}\n{delimiter}\n")
        else:
            lines.append(f"{key}={value}\n")
    return "".join(lines)


def decide(event: str, ref: str, *, default_branch: str = "main") -> RunDecision:
    """The decision for one run; ConfigError (exit 2) for a run that must not go on."""
    _check_inputs(ref, default_branch)
    if event not in EVENTS:
        raise ConfigError(
            f"GITHUB_EVENT_NAME: {event!r} is not an event this workflow handles"
            f" ({', '.join(EVENTS)})"
        )
    main_ref = f"refs/heads/{default_branch}"
    if event == "pull_request":
        return RunDecision(
            event=event, ref=ref, prerelease=False, needs_ancestry_check=False,
            refresh=False, build=True,
            plan_target="default", push=False, promote=False, names=None,
            reason="pull request: build and test the default targets; nothing is published",
        )
    if event in ("schedule", "workflow_dispatch"):
        if ref != main_ref:
            raise ConfigError(
                f"GITHUB_REF: {event} runs refresh the locks of {main_ref} only;"
                f" this run is on {ref!r}"
            )
        return RunDecision(
            event=event, ref=ref, prerelease=False, needs_ancestry_check=False,
            refresh=True, build=False,
            plan_target="all", push=True, promote=True, names="edge",
            reason=f"{event}: refresh the package locks and base image digests of"
            f" {default_branch}; only when something changed, build the refreshed commit"
            " (proposed as a pull request) and promote the edge names",
        )
    if ref == main_ref:
        return RunDecision(
            event=event, ref=ref, prerelease=False, needs_ancestry_check=False,
            refresh=False, build=True,
            plan_target="all", push=True, promote=True, names="branch",
            reason=f"push to {default_branch}: build everything, promote the edge, branch and"
            " sha names",
        )
    if ref.startswith("refs/tags/"):
        tag = ref.removeprefix("refs/tags/")
        match = SEMVER.match(tag)
        if match is None:
            raise ConfigError(
                f"GITHUB_REF: tag {tag!r} is not a semver release tag (v1.3.0, v1.3.0-rc.1);"
                " nothing is built or published for it"
            )
        pre = match.group("pre") is not None
        return RunDecision(
            event=event, ref=ref, refresh=False, build=True,
            plan_target="all", push=True, promote=True, names="all",
            prerelease=pre, needs_ancestry_check=True,
            reason=f"release tag {tag}"
            + (" (pre-release: its release tags only)" if pre else "")
            + f"; its commit must be on {default_branch}",
        )
    raise ConfigError(
        f"GITHUB_REF: {ref!r}: pushes build only {main_ref} and semver tags (v1.3.0)"
    )
