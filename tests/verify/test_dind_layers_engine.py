"""The DinD variant shares every layer of its image: built from images/shared/Dockerfile.dind
on top of a stand-in (the classic builder here; bake hands the image target over as the named
context `image`, a plain build passes IMAGE), both pushed to a real registry on 127.0.0.1, the
registry's manifests list exactly the same layers and only the configuration differs."""

from __future__ import annotations

import json
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.engine.images import build_scratch_image, docker
from tests.support.registry import Registry

pytestmark = pytest.mark.engine

ROOT = Path(__file__).resolve().parents[2]
ACCEPT = ", ".join(["application/vnd.docker.distribution.manifest.v2+json",
                    "application/vnd.oci.image.manifest.v1+json"])


def fetch(registry: Registry, repository: str, what: str, reference: str) -> dict[str, Any]:
    port = registry.host.rsplit(":", 1)[1]
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v2/{repository}/{what}/{reference}", headers={"Accept": ACCEPT})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return dict(json.loads(answer.read()))


def test_the_variant_manifest_lists_exactly_the_layers_of_its_image(registry: Registry) -> None:
    image = build_scratch_image("bakery-test-family", {"/etc/edge-node": "stand-in\n"},
                                env={"EE_DD": "false"})
    variant = "bakery-test-family-dind:" + image.rsplit(":", 1)[1]
    with tempfile.TemporaryDirectory(prefix="bakery-family-") as context:
        docker("build", "--quiet", "--build-arg", f"IMAGE={image}", "--build-arg",
               "EE_DD_DEFAULT=true", "--label", "ai.ratio1.edge-node.ee_dd=true", "-t", variant,
               "-f", str(ROOT / "images" / "shared" / "Dockerfile.dind"), context,
               env={"DOCKER_BUILDKIT": "0"}, timeout=300)
    try:
        repository = "acme/edge_cpu-staging"
        _, image_digest = registry.push(image, repository, "family")
        _, variant_digest = registry.push(variant, repository, "family-d")
    finally:
        docker("image", "rm", variant, check=False)
    assert image_digest != variant_digest
    image_manifest = fetch(registry, repository, "manifests", image_digest)
    variant_manifest = fetch(registry, repository, "manifests", variant_digest)
    layers = [layer["digest"] for layer in image_manifest["layers"]]
    assert layers  # the stand-in has content
    assert [layer["digest"] for layer in variant_manifest["layers"]] == layers
    config = fetch(registry, repository, "blobs", image_manifest["config"]["digest"])
    variant_config = fetch(registry, repository, "blobs", variant_manifest["config"]["digest"])
    assert "EE_DD=false" in config["config"]["Env"]
    assert "EE_DD=true" in variant_config["config"]["Env"]
    assert variant_config["config"]["Labels"]["ai.ratio1.edge-node.ee_dd"] == "true"
    assert variant_config["rootfs"]["diff_ids"] == config["rootfs"]["diff_ids"]
