"""The base image pinned by digest per platform, resolved from a real registry on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

from bakery.registry.errors import RegistryError
from bakery.registry.read import resolve_platform_digests
from bakery.registry.reference import endpoint
from tests.lockfile.conftest import Project
from tests.support.cli import run_cli
from tests.support.registry import push_image


def test_references_default_like_docker():
    hub = endpoint("docker.io/ubuntu:24.04")
    assert (hub.registry, hub.repository, hub.reference) == (
        "registry-1.docker.io", "library/ubuntu", "24.04")
    local = endpoint("localhost:5000/team/base")
    assert (local.registry, local.repository, local.reference, local.scheme) == (
        "localhost:5000", "team/base", "latest", "http")
    pinned = endpoint("ghcr.io/a/b@sha256:" + "0" * 64, allow_digest=True)
    assert (pinned.scheme, pinned.reference) == ("https", "sha256:" + "0" * 64)


def test_each_platform_gets_its_own_manifest_digest(registry, allow_subprocess):
    pushed = push_image(registry.host, "digests/ubuntu", "24.04", "one")
    found = resolve_platform_digests(f"{registry.host}/digests/ubuntu:24.04",
                                     ["linux/arm64", "linux/amd64"])
    assert found == pushed
    with pytest.raises(RegistryError, match="has no image for linux/s390x"):
        resolve_platform_digests(f"{registry.host}/digests/ubuntu:24.04", ["linux/s390x"])
    with pytest.raises(RegistryError, match="HTTP 404"):
        resolve_platform_digests(f"{registry.host}/digests/ubuntu:25.04", ["linux/amd64"])


def test_lock_pins_the_base_used_by_the_plan_and_refreshes_it(capsys, project: Project,
                                                              registry):
    image = f"{registry.host}/lockbase/ubuntu:24.04"
    first = push_image(registry.host, "lockbase/ubuntu", "24.04", "first")
    project.write(base_image=image)

    result = run_cli(capsys, "lock", "--base-only", "--matrix", str(project.matrix))
    assert result.code == 0, result.err
    manifest = json.loads((project.locks / "manifest.json").read_text())
    assert manifest["base"] == {"image": image, "digests": first}
    assert manifest["targets"] == {}

    plan = run_cli(capsys, "plan", "--format", "json", "--matrix", str(project.matrix))
    args = {t["id"]: t["args"] for t in json.loads(plan.out)["targets"]}
    assert args["edge_amd-py313"]["BASE_IMAGE"] == f"{image}@{first['linux/amd64']}"
    assert args["edge_arm-py312"]["BASE_IMAGE"] == f"{image}@{first['linux/arm64']}"
    table = run_cli(capsys, "plan", "--target", "arm", "--matrix", str(project.matrix))
    assert f"{image}@{first['linux/arm64']}" in table.out

    # the tag moves upstream: one command moves the pin, and says from what to what
    second = push_image(registry.host, "lockbase/ubuntu", "24.04", "second")
    result = run_cli(capsys, "lock", "--base-only", "--matrix", str(project.matrix))
    assert result.code == 0, result.err
    assert f"{first['linux/amd64']} -> {second['linux/amd64']}" in result.out
    manifest = json.loads((project.locks / "manifest.json").read_text())
    assert manifest["base"]["digests"] == second


def test_a_pin_for_another_base_image_is_refused(capsys, project: Project, registry):
    image = f"{registry.host}/stale/ubuntu:24.04"
    push_image(registry.host, "stale/ubuntu", "24.04", "x")
    project.write(base_image=image)
    assert run_cli(capsys, "lock", "--base-only", "--matrix", str(project.matrix)).code == 0

    project.write(base_image=f"{registry.host}/stale/ubuntu:26.04")
    result = run_cli(capsys, "plan", "--matrix", str(project.matrix))
    assert result.code == 2
    assert f"base.image: pinned for '{image}'" in result.err
    assert "run `bakery lock --base-only`" in result.err


def test_an_unreachable_registry_keeps_the_pin_and_says_so(capsys, project: Project, registry,
                                                          dead_index_url):
    image = f"{registry.host}/kept/ubuntu:24.04"
    pushed = push_image(registry.host, "kept/ubuntu", "24.04", "x")
    project.write(base_image=image)
    assert run_cli(capsys, "lock", "--base-only", "--matrix", str(project.matrix)).code == 0
    before = project.snapshot()

    port = dead_index_url.split(":")[2].split("/")[0]
    dead = f"127.0.0.1:{port}/kept/ubuntu:24.04"
    (project.locks / "manifest.json").write_text(
        (project.locks / "manifest.json").read_text().replace(image, dead))
    project.write(base_image=dead)
    before = project.snapshot()
    result = run_cli(capsys, "lock", "--base-only", "--matrix", str(project.matrix))
    assert result.code == 0, result.err
    assert f"registry 127.0.0.1:{port} is unreachable" in result.out
    assert "the committed pin is kept" in result.out
    assert project.snapshot() == before
    assert json.loads(before["locks/manifest.json"])["base"]["digests"] == pushed


def test_lock_pins_the_dockerfile_frontend_by_its_index_digest_and_refreshes_it(
    capsys, project: Project, registry
):
    frontend = f"{registry.host}/lockfe/dockerfile:1"
    push_image(registry.host, "lockfe/dockerfile", "1", "first")
    push_image(registry.host, "lockfe/ubuntu", "24.04", "base")
    project.write(base_image=f"{registry.host}/lockfe/ubuntu:24.04", frontend=frontend)

    result = run_cli(capsys, "lock", "--base-only", "--matrix", str(project.matrix))
    pinned = json.loads((project.locks / "manifest.json").read_text())["frontend"]
    assert pinned["image"] == frontend and pinned["digest"].startswith("sha256:"), result.out
    first = pinned["digest"]
    assert f"frontend {frontend}  new" in result.out

    # every build runs it by digest: BUILDKIT_SYNTAX, which BuildKit takes over `# syntax=`
    plan = run_cli(capsys, "plan", "--format", "json", "--matrix", str(project.matrix))
    doc = json.loads(plan.out)
    for target in doc["targets"]:
        assert target["args"]["BUILDKIT_SYNTAX"] == f"{frontend}@{first}", target["id"]

    # the tag moves upstream (a new frontend release): the refresh moves the pin
    push_image(registry.host, "lockfe/dockerfile", "1", "second")
    result = run_cli(capsys, "lock", "--base-only", "--matrix", str(project.matrix))
    second = json.loads((project.locks / "manifest.json").read_text())["frontend"]["digest"]
    assert second != first
    assert f"{first} -> {second}" in result.out
