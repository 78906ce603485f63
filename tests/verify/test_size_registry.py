"""Image sizes read from a real registry on 127.0.0.1: the compressed size a pull downloads,
from the manifest that `docker buildx imagetools inspect --raw` returns (the fake docker's
imagetools reads the real registry over its HTTP API, as buildx would)."""

from __future__ import annotations

import pytest

from bakery.docker.client import make_client
from bakery.docker.imagetools import RegistryError, image_size
from tests.lockfile.test_base import _layer, push_base
from tests.support.fake_docker import FakeDocker
from tests.verify.conftest import Registry


def test_the_compressed_size_is_the_layers_and_config_of_the_platforms_manifest(
    registry: Registry, fake_docker: FakeDocker
) -> None:
    fake_docker.set("FAKE_DOCKER_IMAGETOOLS", "registry")
    big, small = _layer("torch", 40_000), _layer("tools", 300)
    digests = push_base(registry.host, "size/edge", "candidate", "c1", layers=(big, small))
    client = make_client([str(fake_docker.path)])
    size = image_size(client, f"{registry.host}/size/edge:candidate", "linux/arm64")
    # biggest first, each as the registry stores it
    assert size.layers[0][1] == len(big) and size.layers[1][1] == len(small)
    assert len(size.layers) == 2
    config_size = size.compressed - len(big) - len(small)
    assert 0 < config_size < 500
    # by digest, the platform's manifest directly: the same answer
    by_digest = image_size(client, f"{registry.host}/size/edge@{digests['linux/arm64']}",
                           "linux/arm64")
    assert by_digest == size


def test_a_platform_the_image_lacks_and_a_missing_image_name_the_registry(
    registry: Registry, fake_docker: FakeDocker
) -> None:
    fake_docker.set("FAKE_DOCKER_IMAGETOOLS", "registry")
    push_base(registry.host, "size/one", "t", "r", platforms=("amd64",))
    client = make_client([str(fake_docker.path)])
    with pytest.raises(RegistryError, match="has no image for linux/arm64"):
        image_size(client, f"{registry.host}/size/one:t", "linux/arm64")
    with pytest.raises(RegistryError, match=f"registry {registry.host}: cannot read"):
        image_size(client, f"{registry.host}/size/none:t", "linux/amd64")
