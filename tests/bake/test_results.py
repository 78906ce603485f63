"""Per-target results from an invocation, and the results file verify and release read."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bakery.bake.buildlog import BuildLog
from bakery.bake.invocations import Invocation
from bakery.bake.results import (
    Results,
    TargetResult,
    exit_code,
    invocation_results,
    load_results,
    read_metadata,
    results_json,
    skipped_results,
)
from bakery.errors import ConfigError
from bakery.plan.target import GitInfo
from tests.bake.test_buildlog import CAUSE, MULTI, SINGLE, feed
from tests.support.repo import ROOT

T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
PLATFORMS = {"gpu": "linux/amd64", "cpu": "linux/amd64"}
DIGEST = "sha256:" + "ab" * 32


def results_of(invocation: Invocation, *, code: int, log: BuildLog | None = None,
               metadata: dict[str, object] | None = None,
               cancelled: bool = False) -> list[TargetResult]:
    return invocation_results(
        invocation, command=("docker", "buildx", "bake"), exit_code=code, metadata=metadata,
        log=log or BuildLog(), started_at=T0, duration_s=12.3456, cancelled=cancelled,
        platforms=PLATFORMS, log_file="logs/x.log",
    )


def one(target: str = "gpu") -> Invocation:
    return Invocation(name=target, targets=(target,), metadata_file=Path(f"{target}.json"))


BOTH = Invocation(name="fail-fast", targets=("gpu", "cpu"), metadata_file=Path("ff.json"))


def test_ok_reads_digest_tags_and_ref_from_metadata_keyed_by_target() -> None:
    (result,) = results_of(one(), code=0, metadata={"gpu": {
        "containerimage.digest": DIGEST, "image.name": "acme/gpu:py3.13,acme/gpu:x",
        "buildx.build.ref": "default/default0/abc"}})
    assert result == TargetResult(
        id="gpu", status="ok", platform="linux/amd64", digest=DIGEST,
        tags=("acme/gpu:py3.13", "acme/gpu:x"), duration_s=12.346, started_at=T0,
        command=("docker", "buildx", "bake"), build_ref="default/default0/abc",
        log_file="logs/x.log",
    )


# what buildx 0.13.1 on Docker 26.1.5 wrote here: a --load with provenance on the containerd
# image store (an index: the image manifest and its attestation manifest) ...
ATTESTED = {"gpu": {
    "buildx.build.ref": "default/default/ng34saudxfbw3ttfgdmyaaahk",
    "containerimage.descriptor": {
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "digest": "sha256:c862302bcf59e36b9b5b37988adb9241092f79b1b2d5ae04b83b543d607a0f5b",
        "size": 855},
    "containerimage.digest":
        "sha256:c862302bcf59e36b9b5b37988adb9241092f79b1b2d5ae04b83b543d607a0f5b",
    "image.name": "docker.io/library/i20e-x:t"}}
# ... and a --load into the classic image store with the docker driver: no descriptor, and the
# digest is the image id
CLASSIC_LOAD = {"gpu": {
    "buildx.build.ref": "default/default/kn5e0yfk080mulv2b241gti61",
    "containerimage.config.digest":
        "sha256:d631d70a1a9ef3a457db780c23a2208f527baa8d68a51afe94041387064bc580",
    "containerimage.digest":
        "sha256:d631d70a1a9ef3a457db780c23a2208f527baa8d68a51afe94041387064bc580",
    "image.name": "docker.io/library/i20e-x:t"}}


def test_an_attested_build_records_the_index_release_copies() -> None:
    (result,) = results_of(one(), code=0, metadata=ATTESTED)
    assert result.digest == ATTESTED["gpu"]["containerimage.descriptor"]["digest"]  # type: ignore[index]
    assert result.media_type == "application/vnd.oci.image.index.v1+json"


def test_the_descriptor_wins_over_containerimage_digest() -> None:
    other = "sha256:" + "cd" * 32
    metadata = {"gpu": {**ATTESTED["gpu"], "containerimage.digest": other}}
    (result,) = results_of(one(), code=0, metadata=metadata)
    assert result.digest == ATTESTED["gpu"]["containerimage.descriptor"]["digest"]  # type: ignore[index]


def test_a_classic_store_load_records_the_image_id_and_no_media_type() -> None:
    (result,) = results_of(one(), code=0, metadata=CLASSIC_LOAD)
    assert result.status == "ok" and result.media_type is None
    assert result.digest == CLASSIC_LOAD["gpu"]["containerimage.digest"]


def test_ok_without_metadata_has_no_digest() -> None:
    (result,) = results_of(one(), code=0, metadata=None)
    assert result.status == "ok" and result.digest is None and result.tags == ()


def test_failed_single_target_carries_step_message_and_tail() -> None:
    (result,) = results_of(one(), code=1, log=feed(SINGLE))
    assert result.status == "failed" and result.digest is None
    assert result.error is not None
    assert result.error.step is not None and result.error.step.startswith("[python 3/4] RUN uv")
    assert result.error.message == f"failed to solve: {CAUSE}"
    assert result.error.log_tail[-1].endswith("(503 Service Unavailable)")


def test_fail_fast_failure_marks_the_named_target_failed_and_the_rest_cancelled() -> None:
    gpu, cpu = results_of(BOTH, code=1, log=feed(MULTI))
    assert (gpu.status, cpu.status) == ("cancelled", "failed")
    assert cpu.error is not None and cpu.error.message == f"failed to solve: {CAUSE}"
    assert gpu.error is not None and "cpu failed in the same bake" in gpu.error.message


def test_fail_fast_failure_that_names_no_target_fails_them_all() -> None:
    results = results_of(BOTH, code=1, log=feed("ERROR: failed to find target nope\n"))
    assert [r.status for r in results] == ["failed", "failed"]


def test_cancelled_invocation() -> None:
    log = feed("#4 [gpu base 2/4] RUN make\n#4 CANCELED\n"
               "ERROR: failed to solve: Canceled: context canceled\n")
    (result,) = results_of(one(), code=1, log=log, cancelled=True)
    assert result.status == "cancelled"
    assert result.error is not None and result.error.step == "[base 2/4] RUN make"


def test_a_build_that_succeeded_despite_a_cancel_request_is_ok() -> None:
    (result,) = results_of(one(), code=0, cancelled=True,
                           metadata={"gpu": {"containerimage.digest": DIGEST}})
    assert result.status == "ok" and result.digest == DIGEST


def test_skipped() -> None:
    results = skipped_results(BOTH, command=("c",), platforms=PLATFORMS, reason="skipped: x")
    assert [(r.id, r.status, r.started_at, r.duration_s) for r in results] == [
        ("gpu", "skipped", None, None), ("cpu", "skipped", None, None)]


def test_exit_code_is_zero_only_when_every_target_is_ok() -> None:
    ok = TargetResult(id="a", status="ok")
    assert exit_code([ok, ok]) == 0
    for status in ("failed", "cancelled", "skipped"):
        assert exit_code([ok, TargetResult(id="b", status=status)]) == 1
    assert exit_code([]) == 1


def test_read_metadata(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    assert read_metadata(path) is None
    path.write_text("{not json")
    assert read_metadata(path) is None
    path.write_text("[]")
    assert read_metadata(path) is None
    path.write_text('{"gpu": {}}')
    assert read_metadata(path) == {"gpu": {}}


def sample(targets: tuple[TargetResult, ...]) -> Results:
    return Results(
        bakery_version="0.1.0", matrix="matrix.toml", bake_file="docker-bake.hcl",
        builder=None, output="push", fail_fast=False, jobs=2,
        git=GitInfo(ref="refs/heads/main", sha="0" * 40, source="env"),
        started_at=T0, duration_s=20.0, ok=False, targets=targets,
    )


def test_results_file_round_trips(tmp_path: Path) -> None:
    doc = sample(tuple(results_of(one(), code=1, log=feed(SINGLE)))
                 + tuple(results_of(one("cpu"), code=0, metadata={"cpu": {
                     "containerimage.digest": DIGEST}})))
    path = tmp_path / "results.json"
    path.write_text(results_json(doc))
    raw = json.loads(path.read_text())
    assert raw["schema_version"] == 1
    assert raw["started_at"] == "2026-11-28T10:00:00Z"
    assert set(raw["targets"][0]) == {"id", "status", "platform", "digest", "media_type", "tags",
                                      "duration_s",
                                      "started_at", "error", "command", "build_ref", "log_file",
                                      "verify"}
    assert raw["targets"][0]["verify"] is None  # bake writes no verdict; `bakery verify` does
    assert set(raw["targets"][0]["error"]) == {"step", "message", "log_tail"}
    loaded = load_results(path)
    assert loaded == doc
    assert loaded.target("cpu").digest == DIGEST
    assert [r.id for r in loaded.with_status("failed")] == ["gpu"]
    with pytest.raises(KeyError):
        loaded.target("nope")


@pytest.mark.parametrize(("content", "message"), [
    (None, "no build results; run `bakery bake` first"),
    ("{oops", "not valid JSON"),
    ('{"schema_version": 2}', "schema_version 2 is not the one this bakery reads"),
    ('[1]', "schema_version None"),
])
def test_load_results_errors(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "results.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_results(path)


def test_load_results_names_the_bad_field(tmp_path: Path) -> None:
    raw = json.loads(results_json(sample((TargetResult(id="a", status="ok"),))))
    raw["targets"][0]["status"] = "done"
    path = tmp_path / "results.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(ConfigError, match=r"targets\.0\.status"):
        load_results(path)


def test_the_documented_example_is_valid() -> None:
    text = (ROOT / "docs" / "building.md").read_text()
    blocks = re.findall(r"```json\n(.*?)```", text, re.DOTALL)
    example = next(b for b in blocks if '"schema_version"' in b)
    doc = Results.model_validate_json(example)
    assert {r.status for r in doc.targets} == {"ok", "failed", "cancelled", "skipped"}
