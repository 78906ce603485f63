"""Every way a registry can answer wrongly, against every reader of registry answers: `bakery
update-cost` and `bakery lock --base-only` (the HTTP transport), verify's size, update-cost
and attestation reads and release's tag reads (the docker CLI transport). Each answer gives
one line naming the registry and the reference and what was wrong; never a traceback, never
a result made of a malformed answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bakery.docker.client import make_client
from bakery.docker.imagetools import _inspect, attestations, image_size, manifest_info
from bakery.matrix import parse_matrix
from bakery.plan import expand
from bakery.registry.documents import MAX_DOCUMENT
from bakery.registry.errors import RegistryError
from bakery.registry.http import HttpReader
from bakery.registry.read import platform_image
from bakery.verify.run import attestation_checks, image_size_checks, update_cost
from tests.faults.conftest import one_line_error, snapshot
from tests.faults.registries import (
    CONFIG,
    LAYER,
    OCI_INDEX,
    OCI_MANIFEST,
    FakeRegistry,
    fake_registry,
    layer_entry,
    manifest,
    sha,
)
from tests.support.cli import MINIMAL_MATRIX, run_cli
from tests.support.fake_docker import FakeDocker
from tests.support.registry import free_port


def _json(doc: object) -> bytes:
    return json.dumps(doc).encode()


def _layers(**changes: object) -> bytes:
    return _json(manifest(layers=[layer_entry(**changes)]))


# name -> (the body served as the image's manifest, what the error must say)
BODIES: dict[str, tuple[bytes, str]] = {
    "html": (b"<html><body>Please sign in</body></html>", "is not JSON (an HTML page)"),
    "empty": (b"", "is empty"),
    "null": (b"null", "is null, not a JSON object"),
    "list": (b"[]", "is a list, not a JSON object"),
    "string": (b'"manifest"', "is a string, not a JSON object"),
    "number": (b"42", "is a number, not a JSON object"),
    "broken": (b'{"layers": [', "is not JSON: Expecting"),
    "not-utf8": (b'{"x": "\xff\xfe"}', "is not UTF-8 text"),
    "no-config": (_json(manifest(config=None)), "config: Field required"),
    "config-string": (_json(manifest(config="sha256:x")), "config: Input should be"),
    "no-layers-key": (_json(manifest(layers=None)), "layers: Field required"),
    "no-layers": (_json(manifest(layers=[])), "layers: Tuple should have at least 1 item"),
    "layers-dict": (_json(manifest(layers={"a": 1})), "layers: Input should be a valid tuple"),
    "layers-string": (_json(manifest(layers="abc")), "layers: Input should be a valid tuple"),
    "layer-no-size": (_layers(size=None), "layers.0.size: Field required"),
    "layer-no-digest": (_layers(digest=None), "layers.0.digest: Field required"),
    "size-big": (_layers(size="big"), "layers.0.size: Input should be a valid integer"),
    "size-negative": (_layers(size=-5), "layers.0.size: Input should be greater than or equal"),
    "size-true": (_layers(size=True), "layers.0.size: Input should be a valid integer"),
    "size-float": (_layers(size=1.5), "layers.0.size: Input should be a valid integer"),
    "size-nan": (_json(manifest(layers=[layer_entry(size=0)])).replace(b'"size": 0', b'"size": NaN'),
                 "NaN is not a JSON number"),
    "digest-md5": (_layers(digest="md5:xyz"), "layers.0.digest: String should match pattern"),
    "digest-upper": (_layers(digest="sha256:" + "A" * 64),
                     "layers.0.digest: String should match pattern"),
    "deep": (b"[" * 1000 + b"]" * 1000, "is nested 1000 deep, more than the 32"),
    "deep-object": (b'{"a":' * 100 + b"1" + b"}" * 100, "is nested 100 deep"),
    "huge": (b'{"x": "' + b"x" * MAX_DOCUMENT + b'"}', f"more than the {MAX_DOCUMENT} bytes"),
    "index-unknown-platform": (
        _json({"mediaType": OCI_INDEX, "manifests": [
            {"digest": sha(b"a"), "size": 1, "platform": {"os": "unknown",
                                                        "architecture": "unknown"}}]}),
        "has no image for linux/amd64 (it has: none)"),
    "index-no-platforms": (_json({"mediaType": OCI_INDEX, "manifests": []}),
                           "has no image for linux/amd64"),
    "index-entry-no-digest": (
        _json({"mediaType": OCI_INDEX, "manifests": [
            {"size": 1, "platform": {"os": "linux", "architecture": "amd64"}}]}),
        "manifests.0.digest: Field required"),
    "index-manifests-null": (_json({"mediaType": OCI_INDEX, "manifests": None}),
                             "manifests: Input should be a valid tuple"),
}


def _serve(registry: FakeRegistry, name: str) -> str:
    body, _ = BODIES[name]
    media = "text/html" if name == "html" else OCI_MANIFEST
    registry.manifests["t"] = (200, media, body)
    return f"{registry.host}/bad/image:t"


def _reason(registry: FakeRegistry, reference: str, name: str, line: str) -> None:
    assert f"registry {registry.host}: {reference}" in line, line
    assert BODIES[name][1] in line, line


@pytest.mark.parametrize("name", sorted(BODIES))
def test_update_cost_names_the_registry_and_the_fault(capsys: pytest.CaptureFixture[str],
                                                      name: str) -> None:
    with fake_registry() as registry:
        reference = _serve(registry, name)
        result = run_cli(capsys, "update-cost", reference, "--platform", "linux/amd64")
    line = one_line_error(result.code, result.err, codes=(1,))
    _reason(registry, reference, name, line)
    assert result.out == ""


@pytest.mark.parametrize("name", ["html", "null", "no-config", "layer-no-size", "size-negative",
                                  "digest-md5", "deep", "index-entry-no-digest", "huge"])
def test_a_released_image_that_answers_wrongly_is_no_free_update(
        capsys: pytest.CaptureFixture[str], name: str) -> None:
    """A released image that answers garbage is an error, not "not released yet"."""
    with fake_registry() as registry:
        registry.serve_image("good")
        released = _serve(registry, name)
        result = run_cli(capsys, "update-cost", f"{registry.host}/bad/image:good",
                         "--released", released)
    line = one_line_error(result.code, result.err, codes=(1,))
    _reason(registry, released, name, line)


def _base_project(tmp_path: Path, image: str) -> Path:
    # the Dockerfile frontend, which lock pins next to the base, on a loopback port nothing
    # listens on: these tests are about the base image's registry (and Docker Hub is not asked)
    frontend = f"127.0.0.1:{free_port()}/dockerfile:1"
    text = MINIMAL_MATRIX.replace(
        'namespace = "acme"\n',
        f'namespace = "acme"\nbase_image = "{image}"\nfrontend = "{frontend}"\n')
    path = tmp_path / "project" / "matrix.toml"
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["html", "empty", "null", "list", "string", "no-config",
                                  "layers-dict", "layer-no-digest", "size-big", "deep",
                                  "index-unknown-platform", "index-entry-no-digest", "huge"])
def test_lock_base_only_keeps_the_pin_naming_the_fault(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    """As when the registry does not answer (lock's documented rule): the base is kept as it
    was, the reason said in one line; nothing under locks/ is written."""
    with fake_registry() as registry:
        registry.serve_image("t")
        reference = f"{registry.host}/bad/image:t"
        matrix = _base_project(tmp_path, reference)
        assert run_cli(capsys, "lock", "--base-only", "--matrix", str(matrix)).code == 0
        before = snapshot(matrix.parent)
        assert json.loads(before["locks/manifest.json"][1][0])["base"]["image"] == reference
        _serve(registry, name)
        result = run_cli(capsys, "lock", "--base-only", "--matrix", str(matrix))
    assert result.code == 0, result.err
    assert "Traceback" not in result.err + result.out
    reasons = [line for line in result.out.splitlines() if f"registry {registry.host}" in line]
    assert len(reasons) == 1, result.out
    _reason(registry, reference, name, reasons[0])
    assert "the committed pin is kept" in reasons[0]
    assert snapshot(matrix.parent) == before


@pytest.mark.parametrize("answer,reason", [
    ((200, "text/html", b"<html>login</html>"), "the token answer of .* is not JSON"),
    ((200, "application/json", b"null"), "the token answer of .* is null"),
    ((200, "application/json", b"[]"), "the token answer of .* is a list"),
    ((200, "application/json", b'{"token": 5}'), r"the token answer of .*: token: Input should"),
    ((200, "application/json", b"{}"), "returned no token"),
    ((500, "text/plain", b"down"), "token request to .* answered HTTP 500"),
])
def test_a_token_endpoint_that_answers_wrongly(capsys: pytest.CaptureFixture[str],
                                               answer: tuple[int, str, bytes],
                                               reason: str) -> None:
    import re

    with fake_registry() as registry:
        registry.token = answer
        registry.serve_image("t")
        result = run_cli(capsys, "update-cost", f"{registry.host}/bad/image:t")
    line = one_line_error(result.code, result.err, codes=(1,))
    assert f"registry {registry.host}" in line and re.search(reason, line), line


def test_content_that_does_not_hash_to_its_digest_is_refused(
        capsys: pytest.CaptureFixture[str]) -> None:
    with fake_registry() as registry:
        digest = registry.serve_image("t")
        real = registry.manifests[digest]
        registry.manifests[digest] = (200, OCI_MANIFEST,
                                      _json(manifest(layers=[layer_entry(size=1)])))
        result = run_cli(capsys, "update-cost", f"{registry.host}/bad/image:t")
        line = one_line_error(result.code, result.err, codes=(1,))
        assert f"the content served for {digest} hashes to sha256:" in line
        assert "refused" in line
        # asked by digest directly: the same refusal
        result = run_cli(capsys, "update-cost", f"{registry.host}/bad/image@{digest}")
        line = one_line_error(result.code, result.err, codes=(1,))
        assert f"the content served for {digest}" in line
        registry.manifests[digest] = real
        assert run_cli(capsys, "update-cost", f"{registry.host}/bad/image:t").code == 0


def test_an_image_config_that_does_not_hash_to_its_digest_is_refused(tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """lock reads a single-platform image's config blob to learn its platform."""
    with fake_registry() as registry:
        body = registry.serve_json("t", manifest())
        registry.blobs[json.loads(body)["config"]["digest"]] = (
            200, "application/octet-stream", b'{"os": "linux", "architecture": "arm64"}')
        matrix = _base_project(tmp_path, f"{registry.host}/bad/image:t")
        result = run_cli(capsys, "lock", "--base-only", "--matrix", str(matrix))
    # the base stays unpinned, so what needs it cannot be published: a failure (exit 1)
    assert result.code == 1 and "hashes to sha256:" in result.out, result.out


def test_a_trickling_registry_is_given_up_at_the_deadline() -> None:
    """16 bytes every half second: the whole read has a deadline, not each piece."""
    with fake_registry() as registry:
        registry.serve_image("t")
        registry.trickle = 0.5
        with (pytest.raises(RegistryError) as info,
              HttpReader(f"{registry.host}/bad/image:t", deadline=1.0) as reader):
            platform_image(reader, "linux/amd64")
    assert str(info.value) == (f"registry {registry.host}: {registry.host}/bad/image:t: no"
                               " complete answer within 1s (reading t)")


def test_an_answer_declared_too_big_is_refused_unread() -> None:
    with fake_registry() as registry:
        registry.manifests["t"] = (200, OCI_MANIFEST, b" " * (MAX_DOCUMENT + 1))
        with (pytest.raises(RegistryError, match=f"is {MAX_DOCUMENT + 1} bytes, more than"),
              HttpReader(f"{registry.host}/bad/image:t") as reader):
            reader.manifest()


# the docker CLI transport: what `imagetools inspect` prints is what the registry answered

REF = "127.0.0.1:5999/bad/image"


@pytest.mark.parametrize("name", sorted(n for n in BODIES if n not in ("huge", "not-utf8")))
def test_verify_size_reads_name_the_registry_and_the_fault(fake_docker: FakeDocker,
                                                            name: str) -> None:
    fake_docker.set("FAKE_DOCKER_INSPECT_ANSWER", BODIES[name][0].decode())
    client = make_client([str(fake_docker.path)])
    with pytest.raises(RegistryError) as info:
        image_size(client, f"{REF}:t", "linux/amd64")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"registry 127.0.0.1:5999: {REF}:t: "), message
    assert BODIES[name][1] in message, message


@pytest.mark.parametrize("name", ["html", "null", "size-negative", "digest-md5", "deep",
                                  "no-layers"])
def test_verify_fails_the_size_check_and_records_no_cost(fake_docker: FakeDocker,
                                                         name: str) -> None:
    fake_docker.set("FAKE_DOCKER_INSPECT_ANSWER", BODIES[name][0].decode())
    client = make_client([str(fake_docker.path)])
    image = f"{REF}@sha256:" + "1" * 64
    target = expand(parse_matrix(MINIMAL_MATRIX.replace(
        "[images.edge_cpu]\n", '[images.edge_cpu]\nsize_budget = "1 GB"\n'),
        source="matrix.toml")).target("edge_cpu-py313")
    size, (check,) = image_size_checks(client, target, image)
    assert size is None and not check.ok
    assert (check.found or "").startswith(f"unreadable: registry 127.0.0.1:5999: {image}: ")
    assert update_cost(client, target, image) is None


@pytest.mark.parametrize("answer,reason", [
    ("<html>", "is not JSON (an HTML page)"),
    ("[" * 1000 + "]" * 1000, "is nested 1000 deep"),
    ("[]", "is not a JSON object"),
    ('{"SLSA": NaN}', "NaN is not a JSON number"),
])
def test_an_attestation_document_that_is_not_one(fake_docker: FakeDocker, answer: str,
                                                 reason: str) -> None:
    fake_docker.set("FAKE_DOCKER_INSPECT_ANSWER", answer)
    client = make_client([str(fake_docker.path)])
    image = f"{REF}@sha256:" + "1" * 64
    with pytest.raises(RegistryError) as info:
        attestations(client, image)
    assert str(info.value).startswith(f"registry 127.0.0.1:5999: {image}: its provenance")
    assert reason in str(info.value)
    text = MINIMAL_MATRIX.replace("[release]\n", '[publish]\nsbom = true\n\n[release]\n')
    target = expand(parse_matrix(text, source="matrix.toml")).target("edge_cpu-py313")
    checks = attestation_checks(client, target, image)
    assert checks and all(not c.ok and (c.found or "").startswith("unreadable: registry")
                          for c in checks)


@pytest.mark.parametrize("answer,reason", [
    ("<html>", "is not JSON (an HTML page)"),
    ("null", "is null"),
    ('{"digest": "md5:xyz"}', "digest: String should match pattern"),
    ('{"mediaType": "x"}', "digest: Field required"),
    ('{"digest": "sha256:' + "1" * 64 + '", "manifests": [{"size": 3}]}',
     "manifests.0.digest: Field required"),
])
def test_release_tag_reads_name_the_fault(fake_docker: FakeDocker, answer: str,
                                          reason: str) -> None:
    fake_docker.set("FAKE_DOCKER_INSPECT_ANSWER", answer)
    client = make_client([str(fake_docker.path)])
    with pytest.raises(RegistryError) as info:
        manifest_info(client, f"{REF}:latest")
    assert str(info.value).startswith(f"registry 127.0.0.1:5999: {REF}:latest: ")
    assert reason in str(info.value)


def test_a_docker_that_never_answers_is_named(tmp_path: Path, allow_subprocess: None) -> None:
    docker = tmp_path / "docker"
    docker.write_text("#!/bin/sh\nexec sleep 30\n")
    docker.chmod(0o755)
    client = make_client([str(docker)])
    with pytest.raises(RegistryError) as info:
        _inspect(client, f"{REF}:t", "--raw", timeout=0.5)
    assert str(info.value) == (f"registry 127.0.0.1:5999: `docker buildx imagetools inspect"
                               f" {REF}:t` did not answer within 0.5s")


@pytest.mark.parametrize("answer,reason", [
    ("<html>", "is not JSON (an HTML page)"),
    ("[" * 1000 + "]" * 1000, "is nested 1000 deep"),
    ('{"digest": "md5:xyz"}', "digest: String should match pattern"),
])
def test_release_fails_each_tag_it_cannot_read_and_creates_nothing(
        tmp_path: Path, fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str],
        answer: str, reason: str) -> None:
    from tests.release.data import IDS, REF_ARGS, entry, write_results
    from tests.support.locked import write_locks

    (tmp_path / "matrix.toml").write_text(MINIMAL_MATRIX)
    write_locks(tmp_path / "matrix.toml")  # release publishes only locked targets
    write_results(tmp_path / ".bakery" / "results.json", [entry(t) for t in IDS])
    fake_docker.set("FAKE_DOCKER_INSPECT_ANSWER", answer)
    done = run_cli(capsys, "release", "--matrix", str(tmp_path / "matrix.toml"), *REF_ARGS,
                   "--target", "edge_cpu-py313", "--format", "json")
    assert done.code == 1, done.err
    assert "Traceback" not in done.err
    tags = json.loads(done.out)["tags"]
    assert tags and all(t["state"] == "failed" for t in tags)
    for tag in tags:
        assert tag["message"].startswith("registry docker.io: "), tag["message"]
        assert reason in tag["message"] and "\n" not in tag["message"]
    assert not [a for a in fake_docker.calls() if a[:3] == ["buildx", "imagetools", "create"]]


def test_an_anonymous_token_is_fetched_and_used(capsys: pytest.CaptureFixture[str]) -> None:
    """The control case of the token corpus: a registry that asks for a bearer token (Docker
    Hub's flow) and gets one answers the read."""
    with fake_registry() as registry:
        registry.token = (200, "application/json", b'{"token": "anonymous"}')
        registry.serve_image("t")
        result = run_cli(capsys, "update-cost", f"{registry.host}/bad/image:t", "--format",
                         "json")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert doc["download"] == doc["total"] == len(CONFIG) + len(LAYER)
