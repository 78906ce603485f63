"""Release tags with docker/metadata-action semantics.

The rules run in priority order (semver 900, edge 700, ref 600, raw 200, sha 100, or a rule's
own `priority`; ties keep matrix order). The first tag produced is the main one, the others
follow deduplicated, `latest` comes last. With `latest = "auto"` the highest-priority rule
that produced a tag decides: a semver release or a `ref` tag event adds `latest`; a semver
pre-release, a branch, a pull request, edge, raw or sha do not. With `latest = "true"`,
`latest` is added when any rule produced a tag (none at all: no tags). A semver pre-release
(`v2.0.8-beta.67`) gets its `{{version}}` whatever the pattern (`{{raw}}` alone keeps the raw
tag); a rule's own `prefix`/`suffix`, even empty, replaces the flavor's.

Differences, by design: every target of a repository gets the same rules, so a variant
(fallback python, DinD) passes its own suffix, which also applies to `latest`; otherwise two
targets of one repository would claim the same `latest`. A branch name loses leading `.` and
`-` and is cut to fit 128 characters (Docker refuses such tags; metadata-action would hand
them on to the build to fail there); any other value Docker would refuse as a tag is an error
naming the git ref.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from bakery.matrix.models import (
    EdgeRule,
    RawRule,
    RefRule,
    ReleaseConfig,
    ReleaseRule,
    SemverRule,
    ShaRule,
)
from bakery.tags.git import GitContext

SEMVER = re.compile(
    r"^v?(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+(?P<build>[0-9A-Za-z-]+"
    r"(?:\.[0-9A-Za-z-]+)*))?\Z"
)

# Which public names a run creates: every one (a release tag: `all`), only the tags the
# release rules give the ref (a push to a branch: `branch`), or only the edge tags (a rebuild
# that moves edge and nothing else: `edge`). `bakery ci` decides it from the event (a run that
# publishes nothing has none), `bakery release --names` takes it.
PublishNames = Literal["all", "branch", "edge"]
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
_RAW_ONLY = re.compile(r"^\{\{\s*raw\s*\}\}\Z")
_INVALID_TAG_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")
MAX_TAG = 128
PRIORITIES = {"semver": 900, "edge": 700, "ref": 600, "raw": 200, "sha": 100}


def sanitize(value: str) -> str:
    """Replace each run of characters a tag cannot hold with '-', as metadata-action does,
    and drop leading '.' and '-' (a tag cannot start with them) and anything past 128."""
    return _INVALID_TAG_CHARS.sub("-", value).lstrip(".-")[:MAX_TAG]


def _semver_fields(raw: str) -> dict[str, str] | None:
    """Fields of a semver tag (`v1.2.3-rc.1`), or None when it is not one."""
    match = SEMVER.match(raw)
    if match is None:
        return None
    version = f"{match['major']}.{match['minor']}.{match['patch']}"
    if match["pre"]:
        version += f"-{match['pre']}"
    return {"version": version, "major": match["major"], "minor": match["minor"],
            "patch": match["patch"], "raw": raw, "prerelease": match["pre"] or ""}


@dataclass(frozen=True)
class _Produced:
    value: str
    latest: bool  # what this rule says about `latest` under latest=auto


def _affix(rule: ReleaseRule, value: str, config: ReleaseConfig) -> str:
    prefix = rule.prefix if rule.prefix is not None else config.prefix
    suffix = rule.suffix if rule.suffix is not None else config.suffix
    return prefix + value + suffix


def _produce(rule: ReleaseRule, git: GitContext, config: ReleaseConfig,
             reserve: int) -> _Produced | None:
    """The tag one rule produces in this git context (flavor applied), or None. A ref name is
    cut so that the tag, with `reserve` more characters (the variant suffix), stays within
    128 characters."""
    if isinstance(rule, SemverRule):
        raw = rule.value if rule.value else (git.name if git.kind == "tag" else None)
        fields = _semver_fields(raw.replace("/", "-")) if raw else None
        if fields is None:
            return None
        pattern = rule.pattern
        if fields["prerelease"] and not _RAW_ONLY.match(pattern):
            pattern = "{{version}}"
        value = _PLACEHOLDER.sub(lambda m: fields.get(m[1], ""), pattern)
        return _Produced(_affix(rule, value, config), latest=not fields["prerelease"])
    if isinstance(rule, RefRule):
        if git.kind != rule.event or git.name is None:
            return None
        head = ("pr-" if rule.prefix is None else rule.prefix) if rule.event == "pr" else (
            config.prefix if rule.prefix is None else rule.prefix)
        tail = config.suffix if rule.suffix is None else rule.suffix
        room = max(1, MAX_TAG - len(head) - len(tail) - reserve)
        # nothing valid left (`refs/heads/日本`): metadata-action's value, which the plan then
        # refuses naming the ref, rather than a release that silently lacks the branch tag
        name = sanitize(git.name)[:room] or _INVALID_TAG_CHARS.sub("-", git.name)[:room]
        return _Produced(head + name + tail, latest=rule.event == "tag")
    if isinstance(rule, EdgeRule):
        if git.kind != "branch" or git.name != rule.branch:
            return None
        return _Produced(_affix(rule, "edge", config), latest=False)
    if isinstance(rule, RawRule):
        return _Produced(_affix(rule, rule.value, config), latest=False)
    if isinstance(rule, ShaRule) and git.sha:
        sha = git.sha if rule.format == "long" else git.sha[:7]
        return _Produced(_affix(rule, sha, config), latest=False)
    return None


def _ordered(config: ReleaseConfig) -> list[ReleaseRule]:
    rules = [r for r in config.rules if r.enable]
    return sorted(rules, key=lambda r: -(r.priority if r.priority is not None
                                        else PRIORITIES[r.type]))


def _evaluate(config: ReleaseConfig, git: GitContext,
              reserve: int = 0) -> tuple[list[str], bool]:
    produced = [p for rule in _ordered(config) if (p := _produce(rule, git, config, reserve))]
    produced = [p for p in produced if p.value]
    if not produced:
        return [], False
    latest = {"true": True, "false": False}.get(config.latest, produced[0].latest)
    return [_INVALID_TAG_CHARS.sub("-", p.value) for p in produced], latest


def latest_moves(config: ReleaseConfig, git: GitContext) -> bool:
    """Whether this release moves `latest`, and with it every floating name."""
    return _evaluate(config, git)[1]


def release_tags(config: ReleaseConfig, git: GitContext, *, variant_suffix: str = "") -> list[str]:
    """The release tags (without repository) for one target: main first, then the others
    deduplicated, then `latest`; each with the variant's suffix."""
    tags, latest = _evaluate(config, git, reserve=len(variant_suffix))
    out = [tag + variant_suffix for tag in tags]
    if latest:
        out.append("latest" + variant_suffix)
    return list(dict.fromkeys(out))


def edge_tags(config: ReleaseConfig, git: GitContext, *, variant_suffix: str = "") -> list[str]:
    """The release tags the `edge` rules produce in this git context (a subset of
    `release_tags`): what an edge-only release publishes."""
    edge_only = config.model_copy(update={"rules": tuple(
        r for r in config.rules if isinstance(r, EdgeRule)), "latest": "false"})
    tags, _ = _evaluate(edge_only, git, reserve=len(variant_suffix))
    return [tag + variant_suffix for tag in tags]


def semver_of_ref(ref: str | None) -> tuple[str, bool] | None:
    """(version, whether it is a pre-release) of a semver release tag ref
    (`refs/tags/v1.3.0-rc.1` -> ("1.3.0-rc.1", True)); None for any other ref."""
    if ref is None or not ref.startswith("refs/tags/"):
        return None
    fields = _semver_fields(ref.removeprefix("refs/tags/"))
    if fields is None:
        return None
    return fields["version"], bool(fields["prerelease"])


def release_label(label_prefix: str) -> str:
    """The image label that names the release a build was made for (`<prefix>.release`):
    what `bakery release` reads to keep a floating name from moving to an older version."""
    return f"{label_prefix}.release"
