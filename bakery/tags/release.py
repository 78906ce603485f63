"""Release tags with docker/metadata-action semantics where they overlap.

Differences, by design: every target of a repository gets the same rules, so a variant
(fallback python, DinD) passes its own suffix, which also applies to `latest` (metadata-action's
`onlatest=true`); otherwise two targets of one repository would claim the same `latest`.
"""

from __future__ import annotations

import re

from packaging.version import InvalidVersion, Version

from bakery.matrix.models import EdgeRule, RawRule, RefRule, ReleaseConfig, SemverRule, ShaRule
from bakery.tags.git import GitContext

_SEMVER = re.compile(
    r"^[vV]?(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+(?P<build>[0-9A-Za-z.-]+))?$"
)
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
_INVALID_TAG_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")


def sanitize(value: str) -> str:
    """Replace what a tag cannot hold with '-', as metadata-action does for branch names."""
    return _INVALID_TAG_CHARS.sub("-", value).lstrip(".-")[:128]


def _semver_fields(raw: str) -> dict[str, str] | None:
    """Fields of a semver tag (`v1.2.3-rc.1`), or None when it is not one.

    `packaging` decides what counts as a pre-release; the tag keeps semver's spelling
    (`1.2.3-rc.1`, not PEP 440's `1.2.3rc1`) because that is what metadata-action emits.
    """
    match = _SEMVER.match(raw)
    if match is None:
        return None
    version = raw.lstrip("vV").split("+", 1)[0]
    try:
        prerelease = Version(version).is_prerelease or match["pre"] is not None
    except InvalidVersion:
        prerelease = match["pre"] is not None
    return {
        "version": version,
        "major": match["major"],
        "minor": match["minor"],
        "patch": match["patch"],
        "raw": raw,
        "prerelease": "1" if prerelease else "",
    }


def release_tags(config: ReleaseConfig, git: GitContext, *, variant_suffix: str = "") -> list[str]:
    """The release tags (without repository) for one target, in rule order, deduplicated."""
    prefix, suffix = config.prefix, config.suffix + variant_suffix
    tags: list[str] = []
    latest_auto = False

    for rule in config.rules:
        if not rule.enable:
            continue
        if isinstance(rule, RawRule):
            tags.append(prefix + rule.value + suffix)
        elif isinstance(rule, ShaRule):
            if git.sha:
                sha = git.sha if rule.format == "long" else git.sha[:7]
                tags.append(rule.prefix + sha + suffix)
        elif isinstance(rule, SemverRule):
            raw = rule.value if rule.value is not None else (
                git.name if git.kind == "tag" else None
            )
            fields = _semver_fields(raw) if raw else None
            if fields is None:
                continue
            used = set(_PLACEHOLDER.findall(rule.pattern))
            # metadata-action: a pre-release only extends {{version}} (and {{raw}})
            if fields["prerelease"] and not used <= {"version", "raw"}:
                continue
            value = _PLACEHOLDER.sub(lambda m, f=fields: f[m[1]], rule.pattern)  # type: ignore[misc]
            tags.append(prefix + value + suffix)
            latest_auto = latest_auto or not fields["prerelease"]
        elif isinstance(rule, RefRule):
            if git.kind != rule.event or git.name is None:
                continue
            default_prefix = "pr-" if rule.event == "pr" else ""
            rule_prefix = rule.prefix if rule.prefix is not None else default_prefix
            head = rule_prefix or prefix
            room = max(1, 128 - len(head) - len(suffix))  # a tag holds at most 128 characters
            tags.append(head + sanitize(git.name)[:room] + suffix)
            latest_auto = latest_auto or rule.event == "tag"
        elif isinstance(rule, EdgeRule) and git.kind == "branch" and git.name == rule.branch:
            tags.append(prefix + "edge" + suffix)

    if config.latest == "true" or (config.latest == "auto" and latest_auto):
        tags.append("latest" + variant_suffix)
    return list(dict.fromkeys(tags))
