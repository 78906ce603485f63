"""What bakery does with the selected builder before building: it says what the builder can do
for the request and adapts the bake (attestations off where they cannot be loaded, cache export
off where the driver cannot export), or stops with the command that creates a builder that can.

Pure rules (`fit_builder`), then `bakery bake` through the fake `docker` set to answer as each
driver and image store does (faults and refusals of buildx 0.13; the real toolchain runs the
same requests in tests/engine/test_bake_engine.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bakery.bake.builder import CREATE_BUILDER, fit_builder
from bakery.bake.invocations import plan_invocations
from bakery.docker.builder import BuilderInfo, parse_inspect
from bakery.errors import ConfigError
from bakery.plan.target import Target
from bakery.project import load_plan
from tests.support.cli import Result, run_cli
from tests.support.fake_docker import FakeDocker
from tests.support.repo import CPU, DEFAULT_IDS, GPU, ROOT

DISABLED = ("type=provenance,disabled=true", "type=sbom,disabled=true")


def targets(*ids: str) -> list[Target]:
    plan = load_plan(ROOT / "matrix.toml", use_git=False, env={}).plan
    return [plan.target(i) for i in ids]


def fit(info: BuilderInfo, output: str, *ids: str, overrides: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    chosen = targets(*ids)
    invocations = plan_invocations(chosen, fail_fast=False, metadata_dir=Path("m"))
    return fit_builder(info, output=output, targets=chosen, invocations=invocations,
                       overrides=overrides or {})


DOCKER_CLASSIC = BuilderInfo("default", "docker", containerd_store=False)
CONTAINER_CLASSIC = BuilderInfo("bakery", "docker-container", containerd_store=False)
DOCKER_CONTAINERD = BuilderInfo("default", "docker", containerd_store=True)


def test_the_docker_driver_on_the_classic_store_loads_without_attestations_or_cache_export() -> None:
    done = fit(DOCKER_CLASSIC, "load", GPU)
    assert dict(done.adjustments) == {GPU: (
        (f"{GPU}.attest", DISABLED[0]), (f"{GPU}.attest", DISABLED[1]), (f"{GPU}.cache-to", ""),
    )}
    assert len(done.notes) == 2
    assert done.notes[0].startswith("attestations off for this build")
    assert done.notes[1].startswith("cache export off for this build")
    assert done.summary == ("builder 'default': docker driver, classic image store; cache"
                            " export no, attestations no, multi-platform no")


def test_a_container_builder_on_the_classic_store_loads_without_attestations_only() -> None:
    done = fit(CONTAINER_CLASSIC, "load", GPU, CPU)
    assert dict(done.adjustments) == {
        t: tuple((f"{t}.attest", v) for v in DISABLED) for t in (GPU, CPU)}
    assert [n.split(" (")[0] for n in done.notes] == ["attestations off for this build"]
    assert "cannot load an image with attestations" in done.notes[0]


@pytest.mark.parametrize("info", [CONTAINER_CLASSIC, DOCKER_CONTAINERD])
def test_push_keeps_attestations_where_the_builder_makes_them(info: BuilderInfo) -> None:
    done = fit(info, "push", GPU)
    assert done.adjustments == {} and done.notes == ()


def test_the_containerd_store_loads_attestations() -> None:
    assert fit(DOCKER_CONTAINERD, "load", GPU).adjustments == {}


def test_push_on_a_builder_that_makes_no_attestations_stops_with_the_create_command() -> None:
    with pytest.raises(ConfigError) as raised:
        fit(DOCKER_CLASSIC, "push", GPU)
    assert "cannot make the attestations [publish] asks for" in str(raised.value)
    assert f"`{CREATE_BUILDER}`, then pass --builder bakery" in str(raised.value)


@pytest.mark.parametrize(("info", "output", "what"), [
    (DOCKER_CLASSIC, "cache", "cannot build an image of several platforms"),
    (CONTAINER_CLASSIC, "load", "cannot load an image of several platforms"),
])
def test_several_platforms_where_the_builder_cannot_stops_with_the_create_command(
    info: BuilderInfo, output: str, what: str,
) -> None:
    with pytest.raises(ConfigError) as raised:
        fit(info, output, GPU, overrides={"*.platform": "linux/amd64,linux/arm64"})
    assert what in str(raised.value) and CREATE_BUILDER in str(raised.value)


def test_several_platforms_on_a_container_builder_push() -> None:
    done = fit(CONTAINER_CLASSIC, "push", GPU, overrides={"*.platform": "linux/amd64,linux/arm64"})
    assert done.adjustments == {}


def test_an_unknown_store_changes_nothing() -> None:
    done = fit(BuilderInfo("x", "docker", None), "load", GPU)
    assert done.adjustments == {} and "unknown image store" in done.summary


def test_the_builder_name_and_driver_come_from_the_builder_section() -> None:
    output = ("Name:          bakery\nDriver:        docker-container\nLast Activity: x\n\n"
              "Nodes:\nName:      bakery0\nEndpoint:  unix:///var/run/docker.sock\n"
              "Status:    running\n")
    assert parse_inspect(output, None) == ("bakery", "docker-container", False)
    host = output.replace("Status:", 'Driver Options:   network="host"\nStatus:')
    assert parse_inspect(host, None) == ("bakery", "docker-container", True)
    assert parse_inspect("", "mine") == ("mine", None, False)


def loopback_targets() -> list[Target]:
    return [t.model_copy(update={"candidate": "localhost:5000/me/edge-staging:1"})
            for t in targets(GPU)]


def test_a_builder_in_its_own_network_cannot_push_to_a_loopback_registry() -> None:
    chosen = loopback_targets()
    invocations = plan_invocations(chosen, fail_fast=False, metadata_dir=Path("m"))
    with pytest.raises(ConfigError) as raised:
        fit_builder(CONTAINER_CLASSIC, output="push", targets=chosen, invocations=invocations,
                    overrides={})
    assert "cannot reach the registry localhost:5000 on this host's loopback" in str(raised.value)
    assert CREATE_BUILDER in str(raised.value)
    for able in (BuilderInfo("bakery", "docker-container", False, host_network=True),
                 DOCKER_CONTAINERD):
        fit_builder(able, output="push", targets=chosen, invocations=invocations,
                    overrides={})


# -- through `bakery bake` and the fake docker ----------------------------------------------


def bake(capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: str) -> Result:
    return run_cli(capsys, "bake", "--matrix", str(ROOT / "matrix.toml"), "--results",
                   str(tmp_path / "out" / "results.json"), "--progress", "quiet", *args)


def test_load_on_the_default_builder_of_a_classic_engine_builds_and_says_what_changed(
    fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    fake_docker.set("FAKE_DOCKER_DRIVER", "docker")
    fake_docker.set("FAKE_DOCKER_STORE", "classic")
    done = bake(capsys, tmp_path, "--load")
    assert done.code == 0, done.err
    # quiet: only what changed (and that the shipped matrix's unlocked targets build unlocked)
    said = [line for line in done.err.splitlines() if "never published" not in line]
    assert said[0].startswith("bakery: attestations off for this build")
    assert said[1].startswith("bakery: cache export off for this build")
    assert len(said) == 2
    for argv in fake_docker.bakes():
        target = argv[-1]
        assert f"{target}.attest={DISABLED[0]}" in argv and f"{target}.cache-to=" in argv


def test_without_the_adaptation_the_fake_refuses_as_buildx_does(
    fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    """The fake must refuse what buildx refuses, or the test above proves nothing."""
    import subprocess

    fake_docker.set("FAKE_DOCKER_DRIVER", "docker")
    fake_docker.set("FAKE_DOCKER_STORE", "classic")
    done = subprocess.run([str(fake_docker.path), "buildx", "bake", "--load", "--file",
                           "docker-bake.hcl", GPU], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 1
    assert "ERROR: Attestation is not supported for the docker driver." in done.stderr


def test_push_on_the_default_builder_of_a_classic_engine_stops_before_building(
    fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    from tests.support.locked import locked_project

    fake_docker.set("FAKE_DOCKER_DRIVER", "docker")
    fake_docker.set("FAKE_DOCKER_STORE", "classic")
    matrix = locked_project(tmp_path / "project")  # --push publishes only locked targets
    done = run_cli(capsys, "bake", "--matrix", str(matrix), "--results",
                   str(tmp_path / "out" / "results.json"), "--progress", "quiet", "--push")
    assert done.code == 2
    assert done.err.startswith("bakery: error: builder 'default' (docker driver, classic image"
                               " store) cannot make the attestations")
    assert CREATE_BUILDER in done.err
    assert fake_docker.bakes() == []


def test_plain_progress_says_what_the_builder_can_do_first(
    fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    fake_docker.set("FAKE_DOCKER_STORE", "classic")
    done = bake(capsys, tmp_path, "--load", "--progress", "plain")
    assert done.code == 0, done.err
    lines = done.out.splitlines() + done.err.splitlines()
    said = [line for line in lines if line.startswith("bakery: builder 'default'")]
    assert said == ["bakery: builder 'default': docker-container driver, classic image store;"
                    " cache export yes, attestations yes (not with --load), multi-platform yes"]
    assert len(fake_docker.bakes()) == len(DEFAULT_IDS)


def test_provenance_off_is_no_attestation_to_turn_off() -> None:
    chosen = [t.model_copy(update={"attest": ("type=provenance,disabled=true",), "cache_to": ()})
              for t in targets(GPU)]
    invocations = plan_invocations(chosen, fail_fast=False, metadata_dir=Path("m"))
    done = fit_builder(DOCKER_CLASSIC, output="load", targets=chosen, invocations=invocations,
                       overrides={})
    assert done.adjustments == {} and done.notes == ()


@pytest.mark.parametrize(("status", "store"), [
    ('[["driver-type","io.containerd.snapshotter.v1"]]', True),  # Docker 26, containerd store
    ('[["Backing Filesystem","extfs"],["Supports d_type","true"],["Using metacopy","false"],'
     '["Native Overlay Diff","true"],["userxattr","false"]]', False),  # overlay2, classic
    ("null", None), ("", None), ("Error: no such engine", None),
])
def test_the_image_store_is_read_from_docker_info(status: str, store: bool | None) -> None:
    from bakery.docker.buildx import containerd_store

    assert containerd_store(status) is store
