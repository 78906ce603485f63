"""What the targets of one plan share: build args, labels, shared stages and release tags.

Worked out once per plan (or once per distinct input, remembered) instead of once per target:
the targets of a plan differ only in a few values each (see also `bakery.plan.bulk`).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping

from bakery.errors import ConfigError
from bakery.matrix.checks import arg_name
from bakery.matrix.models import Arch, Image, Matrix
from bakery.plan.release import edge_tags, latest_moves, release_tags
from bakery.plan.target import FlagChoice, StageTarget
from bakery.suggest import did_you_mean
from bakery.tags.git import GitContext
from bakery.tags.refs import normalize_version

# build args a target has only sometimes: the pinned Dockerfile frontend
OPTIONAL_ARGS = frozenset({"BUILDKIT_SYNTAX"})


class PlanValues:
    """The matrix, git context and locks of one expansion, and what follows from them alone."""

    def __init__(self, matrix: Matrix, git: GitContext, source: str,
                 base_images: Mapping[str, str], package_locks: Mapping[str, str],
                 frontend: str | None = None) -> None:
        self.matrix = matrix
        # the Dockerfile frontend pinned by digest in the lock, which every build then runs
        # (BUILDKIT_SYNTAX overrides `# syntax=`); unpinned, each Dockerfile's own `# syntax=`
        # line applies, and a Dockerfile without one needs no frontend image at all
        self.frontend = frontend
        self.git = git
        self.source = source
        self.base_images = base_images
        self.package_locks = package_locks
        # a name without {tag} floats (`...:latest`): it moves only when `latest` does
        self.floats = latest_moves(matrix.release, git)
        self.attest = _attest(matrix)
        self.transformers = normalize_version(matrix.versions.get("transformers", ""))
        # remembered per variant suffix, per architecture, per distinct stage
        self._release: dict[str, tuple[str, ...]] = {}
        self._edge: dict[str, tuple[str, ...]] = {}
        self._artifact_args: dict[Arch, list[tuple[str, str]]] = {}
        self._stages: dict[tuple[str, str, str, tuple[str | None, ...]], StageTarget] = {}
        self._features_by_flags: dict[frozenset[str], tuple[tuple[str, str], ...]] = {}

    def release_tags(self, variant_suffix: str) -> tuple[str, ...]:
        """The release tags (without repository) of every target with this variant suffix."""
        if variant_suffix not in self._release:
            self._release[variant_suffix] = tuple(
                release_tags(self.matrix.release, self.git, variant_suffix=variant_suffix))
        return self._release[variant_suffix]

    def edge_tags(self, variant_suffix: str) -> tuple[str, ...]:
        if variant_suffix not in self._edge:
            self._edge[variant_suffix] = tuple(
                edge_tags(self.matrix.release, self.git, variant_suffix=variant_suffix))
        return self._edge[variant_suffix]

    def build_args(self, image: Image, python: str, flags: Mapping[str, FlagChoice],
                   lock_key: str) -> dict[str, str]:
        """The build args of an image's target on `python`, sorted by name (a DinD variant
        differs only in EE_DD_DEFAULT, which is "false" here). Written in a fixed order, so
        that of two sources of one arg (which the matrix checks refuse) the same one wins."""
        matrix = self.matrix
        args = {"BASE_IMAGE": matrix.base_image, "PYTHON_VERSION": python}
        args.update(self._version_args)
        args.update(self._artifacts(image.arch))
        args["FFMPEG_PROFILE"] = image.ffmpeg_profile
        torch = image.torch
        args["TORCH_VERSION"] = torch.torch
        args["TORCHVISION_VERSION"] = torch.torchvision
        args["TORCHAUDIO_VERSION"] = torch.torchaudio
        args["TORCH_INDEX_URL"] = "" if torch.index == "pypi" else matrix.index_url(torch.index)
        args.update(self._feature_args(frozenset(f for f, d in flags.items() if d.enabled)))
        args["EE_DD_DEFAULT"] = "false"
        args["BASE_IMAGE"] = self.base_images.get(image.platform, matrix.base_image)
        args["PACKAGES_LOCK"] = self.package_locks.get(lock_key, "")
        if self.frontend:
            args["BUILDKIT_SYNTAX"] = self.frontend
        return dict(sorted(args.items()))

    @functools.cached_property
    def _version_args(self) -> list[tuple[str, str]]:
        return [(f"{arg_name(name)}_VERSION", v) for name, v in self.matrix.versions.items()]

    def _artifacts(self, arch: Arch) -> list[tuple[str, str]]:
        if arch not in self._artifact_args:
            pairs = []
            for name, artifact in self.matrix.artifacts.items():
                pairs.append((f"{arg_name(name)}_VERSION", artifact.version))
                sha = artifact.sha256
                if sha is not None:
                    pairs.append((f"{arg_name(name)}_SHA256",
                                  sha if isinstance(sha, str) else sha[arch]))
                url = artifact.url
                if url is not None:
                    pairs.append((f"{arg_name(name)}_URL",
                                  url if isinstance(url, str) else url[arch]))
            self._artifact_args[arch] = pairs
        return self._artifact_args[arch]

    def _feature_args(self, enabled: frozenset[str]) -> tuple[tuple[str, str], ...]:
        """FEATURE_PACKAGES (the pins of every enabled feature's distributions, by feature
        name) and FEATURE_INDEX_URLS (their extra indexes, each once), space-separated: the
        one generic way a feature reaches the Dockerfiles. Remembered per set of flags."""
        known = self._features_by_flags.get(enabled)
        if known is None:
            pins: list[str] = []
            urls: list[str] = []
            for flag in sorted(enabled):
                feature = self.matrix.features[flag]
                pins += feature.pins
                if feature.extra_index is not None:
                    url = self.matrix.index_url(feature.extra_index)
                    if url not in urls:
                        urls.append(url)
            known = self._features_by_flags[enabled] = (
                ("FEATURE_PACKAGES", " ".join(pins)), ("FEATURE_INDEX_URLS", " ".join(urls)))
        return known

    def labels(self, image_name: str, image: Image, python: str,
               flags: Mapping[str, FlagChoice], primary_tag: str, target_id: str,
               args: Mapping[str, str]) -> dict[str, str]:
        labels = {
            "org.opencontainers.image.title": image_name,
            "org.opencontainers.image.description": image.description,
            "org.opencontainers.image.version": primary_tag,
            "org.opencontainers.image.base.name": self.matrix.base_image,
        }
        labels.update(self.matrix.labels)
        key = self._label_keys
        torch = image.torch
        labels[key["target"]] = target_id
        labels[key["python"]] = python
        labels[key["torch"]] = torch.torch
        labels[key["torchvision"]] = torch.torchvision
        labels[key["torchaudio"]] = torch.torchaudio
        labels.update(self._pin_labels)
        requirements = self._requirements
        labels[key["features"]] = ",".join(requirements[f] for f, d in flags.items() if d.enabled)
        labels[key["ee_dd"]] = args["EE_DD_DEFAULT"]
        if image.gpu is not None:
            labels[key["nvidia.driver.min"]] = image.gpu.min_driver
            labels[key["cuda.compute-capability.min"]] = image.gpu.min_compute_capability
        return dict(sorted(labels.items()))

    @functools.cached_property
    def _label_keys(self) -> dict[str, str]:
        """`<label_prefix>.<name>` of each label bakery sets, made once: one string for every
        target, not one each (a tenth of a plan's memory)."""
        names = ("target", "python", "torch", "torchvision", "torchaudio", "features", "ee_dd",
                 "nvidia.driver.min", "cuda.compute-capability.min")
        return {name: f"{self.matrix.label_prefix}.{name}" for name in names}

    @functools.cached_property
    def _pin_labels(self) -> list[tuple[str, str]]:
        prefix = self.matrix.label_prefix
        return [*((f"{prefix}.{name}", v) for name, v in self.matrix.versions.items()),
                *((f"{prefix}.{name}", a.version) for name, a in self.matrix.artifacts.items())]

    @functools.cached_property
    def _requirements(self) -> dict[str, str]:
        return {flag: f"{feature.package}=={feature.version}"
                for flag, feature in self.matrix.features.items()}

    def stages_for(self, image: Image, target_args: Mapping[str, str]) -> dict[str, StageTarget]:
        """The shared stages an image target uses, identified by everything that shapes them,
        so targets that need the same stage (same args, same platform) share one bake target;
        each is made once per plan."""
        out = {}
        for name, stage in self.matrix.stages.items():
            # BUILDKIT_SYNTAX is set only once `bakery lock` pinned the frontend
            names = tuple(a for a in stage.args if a in target_args or a not in OPTIONAL_ARGS)
            values = tuple(map(target_args.get, names))
            if None in values:
                arg = names[values.index(None)]
                raise ConfigError(
                    f"{self.source}: stages.{name}.args: {arg!r} is not a build arg bakery"
                    f" sets{did_you_mean(arg, target_args)}"
                )
            seen = (name, image.platform, image.context, values)
            known = self._stages.get(seen)
            if known is None:
                args = dict(zip(names, values, strict=True))
                key = "\0".join([name, stage.dockerfile, stage.target, image.platform,
                                 *(f"{k}={v}" for k, v in args.items())])
                digest = hashlib.sha256(key.encode()).hexdigest()[:10]
                known = self._stages[seen] = StageTarget(
                    id=f"stage-{name}-{image.arch}-{digest}",
                    stage=name,
                    context=image.context,
                    dockerfile=stage.dockerfile,
                    target=stage.target,
                    platform=image.platform,
                    args=args,
                )
            out[name] = known
        return out


def _attest(matrix: Matrix) -> tuple[str, ...]:
    """The bake `attest` entries. Provenance "off" is said explicitly: with no provenance entry,
    buildx adds a minimal provenance attestation of its own."""
    publish = matrix.publish
    out = (["type=provenance,disabled=true"] if publish.provenance == "off"
           else [f"type=provenance,mode={publish.provenance}"])
    if publish.sbom:
        out.append("type=sbom")
    return tuple(out)
