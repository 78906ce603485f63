"""Attestations: provenance (mode) and SBOM switched in the matrix, emitted as bake `attest`,
and checked on a pushed candidate by `bakery verify` (read through the fake docker, in the
format buildx prints)."""

from __future__ import annotations

import json

import pytest
from python_on_whales import DockerClient

from bakery.matrix import parse_matrix
from bakery.plan import expand
from bakery.render.bakefile import bake_targets
from bakery.verify.run import attestation_checks
from tests.release.conftest import FakeRegistry
from tests.release.data import candidate, digest
from tests.support.cli import MINIMAL_MATRIX
from tests.support.fake_docker import FakeDocker

ON = MINIMAL_MATRIX + '\n[publish]\nprovenance = "max"\nsbom = true\n'


@pytest.mark.parametrize(("publish", "attest"), [
    # off is said: with no provenance entry, buildx adds a minimal provenance of its own
    ("", ("type=provenance,disabled=true",)),
    ('provenance = "min"', ("type=provenance,mode=min",)),
    ('provenance = "max"\nsbom = true', ("type=provenance,mode=max", "type=sbom")),
    ("sbom = true", ("type=provenance,disabled=true", "type=sbom")),
])
def test_matrix_switches_become_bake_attest(publish: str, attest: tuple[str, ...]) -> None:
    plan = expand(parse_matrix(MINIMAL_MATRIX + f"\n[publish]\n{publish}\n",
                               source="matrix.toml"))
    for target in plan.targets:  # the DinD variant is a build of its own: attested too
        assert target.attest == attest
    for entry in bake_targets(plan):
        assert entry["attrs"].get("attest", []) == list(attest)


def test_an_unknown_provenance_mode_is_refused() -> None:
    from bakery.errors import ConfigError

    with pytest.raises(ConfigError, match=r"publish\.provenance"):
        parse_matrix(MINIMAL_MATRIX + '\n[publish]\nprovenance = "full"\n', source="matrix.toml")


@pytest.mark.parametrize(("carried", "ok"), [
    (["provenance", "sbom"], {"attestation provenance": True, "attestation sbom": True}),
    (["sbom"], {"attestation provenance": False, "attestation sbom": True}),
    ([], {"attestation provenance": False, "attestation sbom": False}),
])
def test_verify_reports_whether_the_candidate_carries_them(
    fake_docker: FakeDocker, registry: FakeRegistry, monkeypatch: pytest.MonkeyPatch,
    carried: list[str], ok: dict[str, bool],
) -> None:
    target = expand(parse_matrix(ON, source="matrix.toml")).target("edge_cpu-py313")
    d = digest("edge_cpu-py313")
    monkeypatch.setenv("FAKE_DOCKER_ATTESTED", json.dumps({d: carried}))
    client = DockerClient(client_call=[str(fake_docker.path)])
    image = f"{candidate('edge_cpu-py313').rsplit(':', 1)[0]}@{d}"
    checks = attestation_checks(client, target, image)
    assert {c.name: c.ok for c in checks} == ok
    assert {c.name: c.expected for c in checks} == {
        "attestation provenance": "present (mode=max)", "attestation sbom": "present"}
    assert {c.found for c in checks if not c.ok} <= {None}


def test_an_unreadable_registry_fails_the_check_naming_it(
    fake_docker: FakeDocker, registry: FakeRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = expand(parse_matrix(ON, source="matrix.toml")).target("edge_cpu-py313")
    monkeypatch.setenv("FAKE_DOCKER_REGISTRY_DOWN", "1")
    client = DockerClient(client_call=[str(fake_docker.path)])
    checks = attestation_checks(client, target, f"acme/edge_cpu-staging@{digest('x')}")
    assert checks and not any(c.ok for c in checks)
    assert all((c.found or "").startswith("unreadable: registry docker.io: cannot read")
               for c in checks)
