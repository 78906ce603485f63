"""What the selected buildx builder can do for one bake, and how the bake adapts to it.

Pure: `docker buildx inspect` output and the engine's image store in, a `BuilderFit` out
(`bakery.docker.buildx` asks Docker). What differs between builders, as buildx 0.13 and
Docker 26 behave:

* the `docker` driver on the classic image store (a default engine, GitHub's runners) refuses
  attestations ("Attestation is not supported for the docker driver") and cache export, and
  cannot build an image of several platforms;
* any other driver (`docker-container`, ...) exports cache and makes attestations, but on the
  classic store it cannot `--load` them: with attestations the result is an index, and the
  docker exporter "does not currently support exporting manifest lists";
* on the containerd image store both drivers do all of it.

Attestations are turned off per target with `<target>.attest=type=provenance,disabled=true`
and `...=type=sbom,disabled=true`: buildx merges `attest` entries by type, so an empty
`--set '*.attest='` leaves the bake file's entries in place. Cache export is turned off with
an empty `<target>.cache-to=`, which replaces the list.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from bakery.bake.invocations import Invocation
from bakery.docker.builder import BuilderInfo
from bakery.errors import ConfigError
from bakery.plan.target import Target, enabled_attestations

CREATE_BUILDER = ("docker buildx create --name bakery --driver docker-container"
                  " --driver-opt network=host --bootstrap")
DISABLE_ATTESTATIONS = ("type=provenance,disabled=true", "type=sbom,disabled=true")


LOOPBACK = ("localhost", "127.0.0.1", "[::1]")


def _loopback_registry(ref: str) -> str | None:
    """The registry of `ref` (an image name, or a cache entry's `ref=`) when it is on the
    host's loopback, else None."""
    found = re.search(r"(?:^|[,\s]ref=)([^,\s]+)", ref) if "ref=" in ref else None
    name = found.group(1) if found else ref
    host = name.split("/", 1)[0] if "/" in name else ""
    return host if host.rsplit(":", 1)[0] in LOOPBACK or host in LOOPBACK else None


@dataclass(frozen=True)
class BuilderFit:
    """What the builder can and cannot do for this bake (`summary`, one line), the `--set`
    pairs that adapt each invocation to it (by invocation name), and one note per adaptation."""

    summary: str
    adjustments: Mapping[str, tuple[tuple[str, str], ...]]
    notes: tuple[str, ...]

    def apply(self, invocations: Sequence[Invocation]) -> tuple[Invocation, ...]:
        return tuple(replace(i, adjustments=(*i.adjustments, *self.adjustments.get(i.name, ())))
                     for i in invocations)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _multi_platform(targets: Sequence[Target], overrides: Mapping[str, str]) -> list[str]:
    """Targets asked to build several platforms (the plan gives each one; `--set` may not)."""
    import fnmatch

    several = [key.partition(".")[0] for key, value in overrides.items()
               if key.partition(".")[2] in ("platform", "platforms") and "," in value]
    return [t.id for t in targets
            if "," in t.platform or any(fnmatch.fnmatch(t.id, p) for p in several)]


def fit_builder(
    info: BuilderInfo, *, output: str, targets: Sequence[Target],
    invocations: Sequence[Invocation], overrides: Mapping[str, str],
) -> BuilderFit:
    """Adapt the bake to the builder, or ConfigError naming the command that creates a builder
    that can do it. `output` is push, load or cache; `overrides` the user's `--set` pairs."""
    attested = [t.id for t in targets if enabled_attestations(t.attest)]
    cached = [t.id for t in targets if t.cache_to]
    multi = _multi_platform(targets, overrides)
    attest_ok = info.attestations and (output != "load" or info.load_attestations)
    summary = (
        f"builder {info.name!r}: {info.driver} driver, {info.store}; cache export"
        f" {_yes(info.cache_export)}, attestations"
        f" {_yes(info.attestations)}"
        f"{' (not with --load)' if info.attestations and not info.load_attestations else ''},"
        f" multi-platform {_yes(info.multi_platform)}"
    )
    how = f"create one that can: `{CREATE_BUILDER}`, then pass --builder bakery"
    if multi and (not info.multi_platform or (output == "load" and info.classic)):
        what = "load an image of several platforms" if info.multi_platform else \
            "build an image of several platforms"
        raise ConfigError(f"builder {info.name!r} ({info.driver} driver, {info.store}) cannot"
                          f" {what} ({', '.join(multi)}); {how}")
    if output == "push" and not info.reaches_loopback:
        loopback = sorted({r for t in targets for ref in (t.candidate, *t.cache_to)
                           if (r := _loopback_registry(ref))})
        if loopback:
            raise ConfigError(
                f"builder {info.name!r} ({info.driver} driver) runs in a network of its own and"
                f" cannot reach the registry {', '.join(loopback)} on this host's loopback;"
                f" {how.replace('that can', 'in the host network')}")
    if attested and not info.attestations and output == "push":
        raise ConfigError(f"builder {info.name!r} ({info.driver} driver, {info.store}) cannot"
                          " make the attestations [publish] asks for, so --push would stage"
                          f" candidates without them; {how}")
    adjustments: dict[str, list[tuple[str, str]]] = {}
    notes = []
    owner = {t: i.name for i in invocations for t in i.targets}
    if attested and not attest_ok:
        for target in attested:
            adjustments.setdefault(owner[target], []).extend(
                (f"{target}.attest", value) for value in DISABLE_ATTESTATIONS)
        why = ("the docker driver makes none on the classic image store" if not info.attestations
               else "the classic image store cannot load an image with attestations")
        notes.append(f"attestations off for this build ({why}); --push on a builder that"
                     " can make them keeps them")
    if cached and not info.cache_export:
        for target in cached:
            adjustments.setdefault(owner[target], []).append((f"{target}.cache-to", ""))
        notes.append("cache export off for this build (the docker driver cannot export cache on"
                     " the classic image store); cache-from still reads the registry cache")
    return BuilderFit(summary, {k: tuple(v) for k, v in adjustments.items()}, tuple(notes))
