"""From matrix.toml to what preflight checks: one ImageSpec per image, and the fingerprint of
the part of the matrix that preflight's answer for that image depends on.

The fingerprint covers the python policy, the image's architecture, accelerator and torch set,
the URL of every index its packages come from, transformers/tokenizers, and each feature it
uses (setting, package, version). Tags, labels, artifacts and the other images are not part of
it: changing them never makes the image's lock entry stale.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from bakery.matrix import Matrix
from bakery.matrix.models import SHARED_PACKAGES

if TYPE_CHECKING:
    from bakery.preflight.decide import ImageSpec


def image_spec(matrix: Matrix, name: str) -> ImageSpec:
    from bakery.preflight.decide import FeatureSpec, ImageSpec, PackagePin

    image = matrix.images[name]
    torch = image.torch
    pins = [
        PackagePin(name="torch", version=torch.torch, index=torch.index),
        PackagePin(name="torchvision", version=torch.torchvision, index=torch.index),
        PackagePin(name="torchaudio", version=torch.torchaudio, index=torch.index),
    ]
    pins += [
        PackagePin(name=package, version=matrix.versions[package])
        for package in SHARED_PACKAGES
        if package in matrix.versions
    ]
    features = [
        FeatureSpec(
            name=flag,
            setting=setting,
            packages=(PackagePin(name=matrix.features[flag].package,
                                 version=matrix.features[flag].version),),
        )
        for flag, setting in sorted(image.features.items())
    ]
    return ImageSpec(
        name=name,
        arch=image.arch,
        primary_python=matrix.python.primary,
        fallback_python=matrix.python.fallback,
        packages=tuple(pins),
        features=tuple(features),
        # the PyTorch indexes label some wheels plain linux_<machine>: accepted, and reported
        plain_linux_indexes=() if torch.index == "pypi" else (torch.index,),
    )


def fingerprint(matrix: Matrix, name: str) -> str:
    """sha256 of every matrix value the image's preflight decision depends on (computed from
    the matrix alone, without the preflight models: plan runs this on every call)."""
    image = matrix.images[name]
    features = {
        flag: {
            "setting": setting,
            "package": matrix.features[flag].package,
            "version": matrix.features[flag].version,
        }
        for flag, setting in sorted(image.features.items())
    }
    inputs = {
        "recipe": 1,
        "python": [matrix.python.primary, matrix.python.fallback],
        "arch": image.arch,
        "accelerator": image.accelerator,
        "torch": dict(image.torch),
        "indexes": {"pypi": matrix.index_url("pypi"), "torch": matrix.index_url(image.torch.index)},
        "shared": {p: matrix.versions.get(p) for p in SHARED_PACKAGES},
        "features": features,
    }
    text = json.dumps(inputs, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
