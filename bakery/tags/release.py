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
targets of one repository would claim the same `latest`. And a value Docker would refuse as a
tag (a branch starting with `-`, longer than 128 characters) is an error naming it, where
metadata-action would hand it on to the build to fail there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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

_SEMVER = re.compile(
    r"^v?(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+(?P<build>[0-9A-Za-z-]+"
    r"(?:\.[0-9A-Za-z-]+)*))?$"
)
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
_RAW_ONLY = re.compile(r"^\{\{\s*raw\s*\}\}$")
_INVALID_TAG_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")
PRIORITIES = {"semver": 900, "edge": 700, "ref": 600, "raw": 200, "sha": 100}


def sanitize(value: str) -> str:
    """Replace each run of characters a tag cannot hold with '-', as metadata-action does."""
    return _INVALID_TAG_CHARS.sub("-", value)


def _semver_fields(raw: str) -> dict[str, str] | None:
    """Fields of a semver tag (`v1.2.3-rc.1`), or None when it is not one."""
    match = _SEMVER.match(raw)
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


def _produce(rule: ReleaseRule, git: GitContext, config: ReleaseConfig) -> _Produced | None:
    """The tag one rule produces in this git context (flavor applied), or None."""
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
        value = (("pr-" if rule.prefix is None else rule.prefix) + git.name
                 + (config.suffix if rule.suffix is None else rule.suffix)
                 if rule.event == "pr" else _affix(rule, git.name, config))
        return _Produced(value, latest=rule.event == "tag")
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


def _evaluate(config: ReleaseConfig, git: GitContext) -> tuple[list[str], bool]:
    produced = [p for rule in _ordered(config) if (p := _produce(rule, git, config))]
    produced = [p for p in produced if p.value]
    if not produced:
        return [], False
    latest = {"true": True, "false": False}.get(config.latest, produced[0].latest)
    return [sanitize(p.value) for p in produced], latest


def latest_moves(config: ReleaseConfig, git: GitContext) -> bool:
    """Whether this release moves `latest`, and with it every floating name."""
    return _evaluate(config, git)[1]


def release_tags(config: ReleaseConfig, git: GitContext, *, variant_suffix: str = "") -> list[str]:
    """The release tags (without repository) for one target: main first, then the others
    deduplicated, then `latest`; each with the variant's suffix."""
    tags, latest = _evaluate(config, git)
    out = [tag + variant_suffix for tag in tags]
    if latest:
        out.append("latest" + variant_suffix)
    return list(dict.fromkeys(out))
