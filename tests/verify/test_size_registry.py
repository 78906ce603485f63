"""Image sizes read from a real registry on 127.0.0.1: the compressed size a pull downloads,
from the manifest that `docker buildx imagetools inspect --raw` returns (the fake docker's
imagetools reads the real registry over its HTTP API, as buildx would)."""

from __future__ import annotations

import hashlib
import os

import pytest

from bakery.docker.client import make_client
from bakery.docker.imagetools import image_size
from bakery.matrix import parse_matrix
from bakery.plan import Target, expand
from bakery.registry.errors import RegistryError
from bakery.sizes import human_bytes
from bakery.verify.run import image_size_checks, update_cost
from tests.support.cli import MINIMAL_MATRIX
from tests.support.fake_docker import FakeDocker
from tests.support.registry import Registry, layer, push_image, stage_candidate


def test_the_compressed_size_is_the_layers_and_config_of_the_platforms_manifest(
    registry: Registry, fake_docker: FakeDocker
) -> None:
    fake_docker.set("FAKE_DOCKER_IMAGETOOLS", "registry")
    big, small = layer("torch", 40_000), layer("tools", 300)
    digests = push_image(registry.host, "size/edge", "candidate", "c1", layers=(big, small))
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
    push_image(registry.host, "size/one", "t", "r", platforms=("amd64",))
    client = make_client([str(fake_docker.path)])
    with pytest.raises(RegistryError, match="has no image for linux/arm64"):
        image_size(client, f"{registry.host}/size/one:t", "linux/arm64")
    with pytest.raises(RegistryError, match=f"registry {registry.host}: cannot read"):
        image_size(client, f"{registry.host}/size/none:t", "linux/amd64")


def _target(budget: str | None) -> Target:
    text = MINIMAL_MATRIX
    if budget is not None:
        text = text.replace("[images.edge_cpu]\n", f'[images.edge_cpu]\nsize_budget = "{budget}"\n')
    plan = expand(parse_matrix(text, source="matrix.toml"))
    return plan.target("edge_cpu-py313")


def test_verify_fails_a_candidate_over_its_budget_naming_its_biggest_layers(
    registry: Registry, fake_docker: FakeDocker
) -> None:
    fake_docker.set("FAKE_DOCKER_IMAGETOOLS", "registry")
    # incompressible layers: their stored size is their length
    big, small = os.urandom(60_000), os.urandom(2_000)
    digests = push_image(registry.host, "size/budget", "c", "c", layers=(big, small))
    image = f"{registry.host}/size/budget@{digests['linux/amd64']}"
    client = make_client([str(fake_docker.path)])

    compressed, checks = image_size_checks(client, _target("50 KB"), image)
    assert compressed is not None and compressed > len(big) + len(small)
    (check,) = checks
    assert (check.name, check.expected, check.ok) == ("size (compressed)", "at most 50.00 KB",
                                                      False)
    big_digest = "sha256:" + hashlib.sha256(big).hexdigest()
    assert f"biggest layers: {big_digest[:19]} {human_bytes(len(big))}" in (check.found or "")

    _, checks = image_size_checks(client, _target("1 GB"), image)
    assert [c.ok for c in checks] == [True]
    # no budget: the size is still recorded, and nothing is judged
    assert image_size_checks(client, _target(None), image) == (compressed, ())


def test_an_unreadable_manifest_fails_only_a_budgeted_target(
    registry: Registry, fake_docker: FakeDocker
) -> None:
    fake_docker.set("FAKE_DOCKER_IMAGETOOLS", "registry")
    client = make_client([str(fake_docker.path)])
    missing = f"{registry.host}/size/missing@sha256:" + "0" * 64
    assert image_size_checks(client, _target(None), missing) == (None, ())
    _, (check,) = image_size_checks(client, _target("6 GB"), missing)
    assert not check.ok and (check.found or "").startswith("unreadable: registry")


def test_the_update_cost_is_the_layers_the_released_image_lacks(
    registry: Registry, fake_docker: FakeDocker
) -> None:
    """Two releases sharing all but one layer: a device pays exactly that layer."""
    fake_docker.set("FAKE_DOCKER_IMAGETOOLS", "registry")
    client = make_client([str(fake_docker.path)])
    cuda, torch_old, rest, torch_new = (os.urandom(n) for n in (9_000, 5_000, 700, 5_100))
    staged = stage_candidate(registry.host, "acme", (cuda, torch_new, rest))
    target, image = staged.target, staged.image
    # nothing released yet: a device pulls the whole candidate
    whole = update_cost(client, target, image)
    assert whole == image_size(client, image, "linux/amd64").compressed
    staged.release((cuda, torch_old, rest))
    # released: the shared layers are free, exactly the new torch layer (and the config) is not
    assert update_cost(client, target, image) == whole - len(cuda) - len(rest)
    assert whole - len(cuda) - len(rest) - len(torch_new) < 1000  # the config blob
