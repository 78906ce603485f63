"""What one package lock is resolved from, and the fingerprint of those inputs.

A lock belongs to an image at one python (its default and DinD targets share it): the key is
`<image>-py<major><minor>`, the same spelling as the target ids. Its inputs are the target's
python, platform, the top-level pins it installs (torch set, transformers, tokenizers, the
packages of its enabled flags), the indexes they come from and the rule that splits the lock
into layers (bakery.lockfile.groups). Anything else in matrix.toml
(tags, labels, artifacts, other images) never makes a lock stale.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from bakery.lockfile.groups import Group, layer_groups, rule
from bakery.matrix.models import SHARED_PACKAGES, Matrix
from bakery.plan.target import Target

# uv's spelling of the images' platform: Ubuntu 24.04 ships glibc 2.39.
GLIBC = "2_39"
# A package found on an extra index (the PyTorch or NVIDIA one) is taken only from there: a
# same-named package on PyPI can never win by version (no dependency confusion). Stated
# explicitly so a change of uv's default cannot change the lock.
INDEX_STRATEGY = "first-index"
RECIPE = 1


@dataclass(frozen=True, slots=True)
class LockSpec:
    key: str
    image: str
    python: str
    arch: str
    machine: str
    platform: str
    requirements: tuple[str, ...]
    index_url: str
    extra_index_urls: tuple[str, ...]
    # the layer groups the lock is split into (the matrix's rule: bakery.lockfile.groups)
    groups: tuple[Group, ...]
    index_strategy: str = INDEX_STRATEGY

    @property
    def uv_platform(self) -> str:
        return f"{self.machine}-manylinux_{GLIBC}"

    @property
    def indexes(self) -> tuple[str, ...]:
        return (*self.extra_index_urls, self.index_url)

    def fingerprint(self) -> str:
        inputs = {
            "recipe": RECIPE,
            "python": self.python,
            "platform": self.uv_platform,
            "requirements": list(self.requirements),
            "index_url": self.index_url,
            "extra_index_urls": list(self.extra_index_urls),
            "index_strategy": self.index_strategy,
            "layers": rule(self.groups),
        }
        text = json.dumps(inputs, sort_keys=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def lock_key(target: Target) -> str:
    """`base_edge_node_arm64_cpu-py313`: the target id without its variant suffix."""
    return target.id.removesuffix("-dind")


def lock_dir_name(key: str) -> str:
    """`locks/<key>/`: the target's lock, one requirements file per layer group."""
    return key


def lock_spec(matrix: Matrix, target: Target) -> LockSpec:
    """The inputs of the lock of `target` (its python, platform, pins and indexes)."""
    image = matrix.images[target.image]
    torch = image.torch
    requirements = [
        f"torch=={torch.torch}",
        f"torchvision=={torch.torchvision}",
        f"torchaudio=={torch.torchaudio}",
    ]
    requirements += [f"{p}=={matrix.versions[p]}" for p in SHARED_PACKAGES if p in matrix.versions]
    extra: list[str] = []
    if torch.index != "pypi":
        extra.append(matrix.index_url(torch.index))
    for flag, decision in sorted(target.flags.items()):
        if not decision.enabled:
            continue
        feature = matrix.features[flag]
        requirements += feature.pins
        if feature.extra_index is not None:
            url = matrix.index_url(feature.extra_index)
            if url not in extra:
                extra.append(url)
    return LockSpec(
        key=lock_key(target),
        image=target.image,
        python=target.python.version,
        arch=target.arch,
        machine=target.machine,
        platform=target.platform,
        requirements=tuple(requirements),
        index_url=matrix.index_url("pypi"),
        extra_index_urls=tuple(extra),
        groups=layer_groups(matrix.features),
    )


def lock_specs(matrix: Matrix, targets: tuple[Target, ...] | list[Target]) -> list[LockSpec]:
    """One spec per lock key of `targets` (a DinD variant shares its image target's lock)."""
    out: dict[str, LockSpec] = {}
    for target in targets:
        spec = lock_spec(matrix, target)
        out.setdefault(spec.key, spec)
    return list(out.values())
