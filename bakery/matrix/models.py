"""pydantic models of matrix.toml: frozen, strict, unknown keys rejected.

Only shape and per-field rules live here; rules that relate several parts of the matrix
(a flag naming an unknown feature, TensorRT on a CPU image, ...) are in `checks.py`, where the
error can name the exact key path.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from packaging.version import InvalidVersion
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from bakery.frozen import Frozen
from bakery.sizes import parse_size
from bakery.versions import parse_version

Arch = Literal["amd64", "arm64"]
# Docker architecture -> `uname -m` name (what wheels, qemu and the legacy tags call it).
MACHINES: dict[str, str] = {"amd64": "x86_64", "arm64": "aarch64"}
# Docker's name for each name of an architecture: its own, and the kernel's (`uname -m`)
_DOCKER_NAMES = {**{arch: arch for arch in MACHINES}, **{m: arch for arch, m in MACHINES.items()}}


def docker_arch(name: str) -> str:
    """Docker's name of an architecture: `uname -m` and engine names both map to amd64/arm64."""
    return _DOCKER_NAMES.get(name, name)


# The index an index name of "pypi" means unless matrix.toml [indexes] names another.
PYPI_SIMPLE = "https://pypi.org/simple"
Accelerator = Literal["cpu", "cuda"]
FlagSetting = Literal["on", "off", "auto"]
# The [versions] pins that are Python packages every image installs from PyPI (besides torch
# from the image's own index); the other pins are Docker's apt packages. Preflight checks
# their wheels and `bakery lock` resolves them.
SHARED_PACKAGES = ("transformers", "tokenizers")

_SHA256 = re.compile(r"^[0-9a-f]{64}\Z")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*\Z")


def _as_tuple(value: object) -> object:
    # TOML arrays arrive as lists; strict mode would refuse them for the frozen tuples we keep
    return tuple(value) if isinstance(value, list) else value


Strs = Annotated[tuple[str, ...], BeforeValidator(_as_tuple)]


class _Model(Frozen):
    # TOML gives each value its exact type, so none is coerced; keys may be written by alias
    model_config = ConfigDict(strict=True, populate_by_name=True)


_RELEASE = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\Z")


def _exact_version(value: str) -> str:
    # written exactly as python.org names a release: no 'v', no leading zeros, no suffixes
    if not _RELEASE.match(value):
        raise ValueError(f"{value!r} must be an exact X.Y.Z release (e.g. '3.13.9')")
    return value


def _pinned(value: str) -> str:
    try:
        parse_version(value)
    except InvalidVersion as exc:
        raise ValueError(f"{value!r} is not a valid version") from exc
    return value


class PythonPolicy(_Model):
    primary: str
    fallback: str | None = None

    @field_validator("primary")
    @classmethod
    def _check_primary(cls, value: str) -> str:
        return _exact_version(value)

    @field_validator("fallback")
    @classmethod
    def _check_fallback(cls, value: str | None) -> str | None:
        return None if value is None else _exact_version(value)


class Artifact(_Model):
    """A downloaded program: its version, the sha256 of the file (one, or one per architecture)
    and, where the publisher's download addresses cannot be derived from the version, the URL
    (one, or one per architecture). Each URL must name the version, so a bumped version with a
    stale address is refused rather than built."""

    version: str
    sha256: str | dict[Arch, str] | None = None
    url: str | dict[Arch, str] | None = None

    @field_validator("sha256")
    @classmethod
    def _check_sha(cls, value: str | dict[str, str] | None) -> str | dict[str, str] | None:
        values = [value] if isinstance(value, str) else list((value or {}).values())
        for item in values:
            if not _SHA256.match(item):
                raise ValueError(f"{item!r} is not a sha256 (64 lowercase hex digits)")
        return value

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str | dict[str, str] | None) -> str | dict[str, str] | None:
        values = [value] if isinstance(value, str) else list((value or {}).values())
        for item in values:
            if not re.match(r"^https://[^/\s]+/\S*\Z", item):
                raise ValueError(f"{item!r} is not an https:// URL")
        return value

    @model_validator(mode="after")
    def _url_names_version(self) -> Artifact:
        urls = [self.url] if isinstance(self.url, str) else list((self.url or {}).values())
        # the whole version, not a prefix of another: 3.39 is not named by ngrok-3.39.9.zip
        named = re.compile(rf"(?<![0-9.]){re.escape(self.version)}(?![0-9]|\.[0-9])")
        for url in urls:
            if not named.search(url.rsplit("/", 1)[-1]):
                raise ValueError(f"url {url!r} does not name version {self.version!r} in its"
                                 " file name (update the url with the version)")
        if self.url is not None and self.sha256 is None:
            raise ValueError("url without sha256: a download must be checked")
        return self


# A distribution name as PEP 508 spells it (the pins reach a shell as words), a module's
# dotted name, a shell glob of distribution names (the layer rule).
_DIST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?\Z")
_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
_GLOB = re.compile(r"^[A-Za-z0-9._*?\[\]-]+\Z")
# The image layers a feature may send some of its distributions to (the rest go to the last)
FeatureLayer = Literal["cuda", "torch"]


def _globs(value: tuple[str, ...]) -> tuple[str, ...]:
    for item in value:
        if not _GLOB.match(item):
            raise ValueError(f"{item!r} is not a pattern of package names")
    return value


Globs = Annotated[tuple[str, ...], BeforeValidator(_as_tuple), AfterValidator(_globs)]


class Feature(_Model):
    """An optional package, named here once: the plan hands its pins to the Dockerfiles
    (FEATURE_PACKAGES), the lock holds them, verify and `bakery test` expect them."""

    package: str
    version: str
    # Packages the image installs with `package`, at the same version (TensorRT's `import
    # tensorrt` module and native libraries beside its bindings): the package lock holds them
    # too, so none of them is installed unhashed.
    also: Strs = ()
    gpu_only: bool = False
    # An index the install also consults (for dependencies PyPI has no wheel of); it reaches
    # the Dockerfile in FEATURE_INDEX_URLS. Preflight checks `package` itself on PyPI.
    extra_index: str | None = None
    # The module its users import, where it is not the package's name with '-' as '_'.
    module: str | None = None
    # Distributions of the feature (shell globs of names) that belong in an earlier image
    # layer than the last: TensorRT's native libraries go with the CUDA runtime.
    layers: dict[FeatureLayer, Globs] = Field(default_factory=dict)
    description: str = ""

    @field_validator("version")
    @classmethod
    def _check_version(cls, value: str) -> str:
        return _pinned(value)

    @field_validator("package")
    @classmethod
    def _check_package(cls, value: str) -> str:
        if not _DIST.match(value):
            raise ValueError(f"{value!r} is not a package name")
        return value

    @field_validator("also")
    @classmethod
    def _check_also(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            if not _DIST.match(item):
                raise ValueError(f"{item!r} is not a package name")
        return value

    @field_validator("module")
    @classmethod
    def _check_module(cls, value: str | None) -> str | None:
        if value is not None and not _MODULE.match(value):
            raise ValueError(f"{value!r} is not a module name")
        return value

    @property
    def packages(self) -> tuple[str, ...]:
        """Its distributions: the package, then `also`, all at `version`."""
        return (self.package, *self.also)

    @property
    def pins(self) -> tuple[str, ...]:
        """`name==version` of each of its distributions."""
        return tuple(f"{name}=={self.version}" for name in self.packages)

    @property
    def import_name(self) -> str:
        """The module `import` names: `module`, else the package with '-' as '_'."""
        return self.module or self.package.replace("-", "_")


class Stage(_Model):
    dockerfile: str
    target: str
    args: Strs = ()


class CacheConfig(_Model):
    from_: Strs = Field(default=(), alias="from")
    to: Strs = ()


class PublishConfig(_Model):
    """Where `bakery bake --push` puts candidates (never a name users pull): `staging` is a
    namespace, candidates go to `<staging>/<image>:<primary tag>`; without it, to
    `<namespace>/<image>-staging:<primary tag>`. `bakery release` creates every user-visible
    name from a candidate's verified digest."""

    staging: str | None = None
    # attestations attached by BuildKit (bake `attest`), carried over by every copy release
    # makes; `bakery verify` checks a pushed candidate has them. Needs a builder that can
    # export them (docker-container, remote, cloud; not the plain `docker` driver).
    provenance: Literal["off", "min", "max"] = "off"
    sbom: bool = False


class MultiArch(_Model):
    """One name joining images of different architectures (an OCI index), e.g.
    `ratio1/base_edge_node_cpu:{tag}` from the amd64 and arm64 CPU images. The members are
    the images' default targets; they must share python, torch release and transformers."""

    images: Strs
    tags: Strs


class DindConfig(_Model):
    suffix: str = "-d"
    # built FROM the image target (named context `image`) in the same bake invocation
    dockerfile: str = "images/shared/Dockerfile.dind"
    ee_dd: Literal["true", "1", "yes", "on"] = "true"


class _Rule(_Model):
    enable: bool = True
    # set (even to "") they replace the flavor's [release] prefix / suffix for this rule
    prefix: str | None = None
    suffix: str | None = None
    # higher first; defaults as metadata-action: semver 900, edge 700, ref 600, raw 200, sha 100
    priority: int | None = None


class RawRule(_Rule):
    type: Literal["raw"]
    value: str


class ShaRule(_Rule):
    type: Literal["sha"]
    prefix: str | None = "sha-"
    format: Literal["short", "long"] = "short"


class SemverRule(_Rule):
    type: Literal["semver"]
    pattern: str
    value: str | None = None


class RefRule(_Rule):
    type: Literal["ref"]
    event: Literal["branch", "tag", "pr"]


class EdgeRule(_Rule):
    type: Literal["edge"]
    branch: str = "main"


ReleaseRule = Annotated[
    RawRule | ShaRule | SemverRule | RefRule | EdgeRule, Field(discriminator="type")
]


class ReleaseConfig(_Model):
    latest: Literal["auto", "true", "false"] = "auto"
    prefix: str = ""
    suffix: str = ""
    rules: Annotated[tuple[ReleaseRule, ...], BeforeValidator(_as_tuple)] = ()


class TorchSet(_Model):
    index: str = "pypi"
    torch: str
    torchvision: str
    torchaudio: str

    @field_validator("torch", "torchvision", "torchaudio")
    @classmethod
    def _check(cls, value: str) -> str:
        return _pinned(value)


class GpuNeeds(_Model):
    """What a CUDA image needs of the device, stated in its labels: the oldest NVIDIA driver
    that runs its CUDA runtime, and the oldest compute capability its torch wheels were built
    for (the cu128 wheels dropped Pascal and Volta)."""

    min_driver: Annotated[str, Field(pattern=r"^[0-9]+(\.[0-9]+){0,2}$")]
    min_compute_capability: Annotated[str, Field(pattern=r"^[0-9]+\.[0-9]$")]


class Image(_Model):
    description: str = ""
    arch: Arch
    accelerator: Accelerator
    aliases: Strs = ()
    context: str = "."
    dockerfile: str | None = None
    ffmpeg_profile: Literal["full", "slim"] = "full"
    torch: TorchSet
    features: dict[str, FlagSetting] = Field(default_factory=dict)
    dind: bool = True
    legacy_tags: Strs = ()
    dind_tags: Strs = ()
    # the most the image may weigh compressed (what a device downloads), e.g. "6 GB";
    # `bakery verify` fails a candidate over it, naming its biggest layers
    size_budget: str | None = None
    # a CUDA image only: the driver and compute capability it needs (labels)
    gpu: GpuNeeds | None = None
    # a cuda image: why its release may go out without its GPU checks having run on a GPU
    # (a tag release refuses it otherwise; `bakery summary` shows the reason)
    release_without_gpu_proof: str | None = None

    @field_validator("release_without_gpu_proof")
    @classmethod
    def _check_waiver(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("say why the release goes out without a GPU proof (or leave it out)")
        return value

    @field_validator("size_budget")
    @classmethod
    def _check_budget(cls, value: str | None) -> str | None:
        if value is not None:
            parse_size(value)
        return value

    @property
    def budget_bytes(self) -> int | None:
        return None if self.size_budget is None else parse_size(self.size_budget)

    @property
    def machine(self) -> str:
        """The `uname -m` name of the architecture, as the legacy tags spell it."""
        return MACHINES[self.arch]

    @property
    def platform(self) -> str:
        return f"linux/{self.arch}"


def _default_runners() -> dict[Arch, str]:
    return {"amd64": "ubuntu-24.04", "arm64": "ubuntu-24.04-arm"}


class Matrix(_Model):
    schema_version: Literal[1]
    namespace: str
    base_image: str = "ubuntu:24.04"
    # the Dockerfile frontend the `# syntax=` line of every Dockerfile names; `bakery lock`
    # pins it by digest like the base image (bakery.lockfile.manifest.FrontendLock)
    frontend: str = "docker/dockerfile:1"
    label_prefix: str = "org.bakery"
    python: PythonPolicy
    indexes: dict[str, str] = Field(default_factory=dict)
    versions: dict[str, str] = Field(default_factory=dict)
    artifacts: dict[str, Artifact] = Field(default_factory=dict)
    features: dict[str, Feature] = Field(default_factory=dict)
    stages: dict[str, Stage] = Field(default_factory=dict)
    # factories, not instances: an instance made at import would build its schema there
    cache: CacheConfig = Field(default_factory=CacheConfig)
    publish: PublishConfig = Field(default_factory=PublishConfig)
    multiarch: dict[str, MultiArch] = Field(default_factory=dict)
    dind: DindConfig = Field(default_factory=DindConfig)
    release: ReleaseConfig = Field(default_factory=ReleaseConfig)
    labels: dict[str, str] = Field(default_factory=dict)
    runners: dict[Arch, str] = Field(default_factory=_default_runners)
    images: dict[str, Image]

    def index_url(self, name: str) -> str:
        """The simple-API URL of a named index ("pypi" is built in)."""
        if name == "pypi":
            return self.indexes.get("pypi", PYPI_SIMPLE)
        return self.indexes[name]


NAME_PATTERN = _NAME
