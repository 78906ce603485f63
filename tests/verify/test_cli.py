"""`bakery verify` end to end through a fake `docker` (tests/verify/fake_docker): which image
runs, how, what is shown and what is recorded. Engine tests do the same for real."""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any

import pytest

from bakery.verify.run import gpu_source, probe_source
from tests.support.cli import Result, run_cli
from tests.support.fake_docker import FakeDocker
from tests.verify.gpu_reports import GOOD_GPU, GPU_FAILURES
from tests.verify.matrix import (
    ARM,
    ARM_PROBE,
    GOOD_PROBE,
    GPU,
    GPU_PROBE,
    MULTI_MATRIX,
    TARGET,
    probe,
    write_matrix,
    write_results,
)

REG = "localhost:5000"
DIGESTS = {TARGET: "sha256:" + "a" * 64, GPU: "sha256:" + "b" * 64, ARM: "sha256:" + "c" * 64}
REPOS = {TARGET: "acme/edge_cpu", GPU: "acme/edge_gpu", ARM: "acme/edge_arm"}
PLATFORMS = {TARGET: "linux/amd64", GPU: "linux/amd64", ARM: "linux/arm64"}


def ref(target: str) -> str:
    return f"{REG}/{REPOS[target]}@{DIGESTS[target]}"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """MULTI_MATRIX with a results file where all three default targets were pushed."""
    monkeypatch.chdir(tmp_path)
    write_matrix(tmp_path, MULTI_MATRIX)
    write_results(tmp_path / ".bakery" / "results.json",
                  {t: (f"{REG}/{REPOS[t]}:py311", DIGESTS[t]) for t in DIGESTS},
                  platform=PLATFORMS)
    return tmp_path


def results_doc(repo: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((repo / ".bakery" / "results.json").read_text())
    return doc


def record(repo: Path, target: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = next(
        r for r in results_doc(repo)["targets"] if r["id"] == target).get("verify")
    return found


def verify(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    return run_cli(capsys, "verify", *args)


ALL_GOOD = {ref(TARGET): {"probe": GOOD_PROBE}, ref(GPU): {"probe": GPU_PROBE},
            ref(ARM): {"probe": ARM_PROBE}}


def test_every_target_in_the_results_passes_and_is_recorded(
    repo: Path, fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_docker.images_by_ref(ALL_GOOD)
    # the registry holds the candidates; the fake's manifests (`imagetools inspect --raw`) are
    # made up and do not hash to these made-up digests, so bakery refuses to read a size from
    # them (sizes from a real registry: tests/verify/test_size_registry.py) and still passes
    registry = repo / "registry.json"
    registry.write_text(json.dumps({f"{REG}/{REPOS[t]}:py311": DIGESTS[t] for t in DIGESTS}))
    fake_docker.set("FAKE_DOCKER_REGISTRY", str(registry))
    done = verify(capsys)
    assert done.code == 0, done.out + done.err
    for target in (TARGET, GPU, ARM):
        assert f"{target}: passed" in done.out
        saved = record(repo, target)
        assert saved is not None and saved["ok"] is True
        assert saved["image"] == ref(target) and saved["digest"] == DIGESTS[target]
        assert saved["mismatches"] == []
        assert saved["compressed_size"] is None
    assert "3 target(s): 3 passed, 0 not" in done.out
    assert "verdicts recorded in .bakery/results.json" in done.err
    # the dind variants have no bake result: not selected by default; the cuda target also
    # tried its GPU check, which cannot run on this (fake) host and is left out
    probes = [r for r in fake_docker.runs() if "--gpus" not in r]
    assert len(probes) == 3
    assert len(fake_docker.runs()) == 4


def test_require_gpu_fails_a_cuda_target_whose_gpu_check_cannot_run(
    repo: Path, fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_docker.images_by_ref(ALL_GOOD)
    done = verify(capsys, "--target", GPU, "--require-gpu")
    assert done.code == 1
    assert ("gpu device expected a CUDA device, found cannot run here: docker: Error response"
            in " ".join(done.out.split()))
    behaviour = {**ALL_GOOD, ref(GPU): {**ALL_GOOD[ref(GPU)], "gpu": json.dumps(GOOD_GPU)}}
    fake_docker.images_by_ref(behaviour)
    assert verify(capsys, "--target", GPU, "--require-gpu").code == 0
    # the GPU report is recorded: release reads it as the proof the image ran on a GPU
    assert record(repo, GPU)["probe"]["gpu"] == GOOD_GPU  # type: ignore[index]
    gpu_run = next(r for r in fake_docker.runs() if "--gpus" in " ".join(r))
    assert gpu_run[-2:] == [gpu_source(), "tensorrt"]  # tensorrt on, bitsandbytes off
    # the probe imports the module of each feature that is on (matrix.toml's `module`), never
    # one that is off (its package must be absent)
    probe_run = next(r for r in fake_docker.runs() if probe_source() in r)
    assert probe_run[-3:] == ["bitsandbytes", "tensorrt-cu12-bindings", "--import=tensorrt"]


def test_a_gpu_behaviour_that_fails_on_the_gpu_fails_verify_naming_it(
    repo: Path, fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str]
) -> None:
    report, check, found = GPU_FAILURES["cuDNN missing (loaded lazily, import torch passes)"]
    fake_docker.images_by_ref({**ALL_GOOD, ref(GPU): {**ALL_GOOD[ref(GPU)],
                                                      "gpu": json.dumps(report)}})
    done = verify(capsys, "--target", GPU, "--require-gpu", "--format", "json")
    assert done.code == 1
    (entry,) = json.loads(done.out)["targets"]
    assert [(c["name"], c["found"]) for c in entry["checks"] if not c["ok"]] == [(check, found)]


def test_the_probe_runs_without_gpu_or_network_with_python3_as_entrypoint(
    repo: Path, fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_docker.images_by_ref(ALL_GOOD)
    assert verify(capsys, "--target", ARM).code == 0
    calls = fake_docker.calls()
    assert calls[0][0] == "version"
    assert calls[1][:2] == ["system", "info"]  # the engine's architecture decides the Pi gate
    assert calls[2] == ["image", "inspect", ref(ARM)]
    assert calls[3] == ["image", "pull", "--quiet", "--platform=linux/arm64", ref(ARM)]
    run = fake_docker.runs()[0]
    image_at = run.index(ref(ARM))
    flags, command = run[2:image_at], run[image_at + 1:]
    assert flags[flags.index("--entrypoint") + 1] == "python3"  # EE_DD=true never starts dockerd
    assert flags[flags.index("--platform") + 1] == "linux/arm64"
    assert flags[flags.index("--network") + 1] == "none"
    assert "--rm" in flags
    assert not any(flag.startswith("--gpus") for flag in flags)
    # an arm64 image runs as the Raspberry Pi 4's CPU where it is emulated (qemu reads this)
    assert flags[flags.index("--env") + 1] == "QEMU_CPU=cortex-a72"
    # the feature packages to report (an arm64 image with no feature on: no module to import)
    assert command == ["-c", probe_source(), "bitsandbytes", "tensorrt-cu12-bindings"]


def test_on_an_arm64_engine_the_probe_runs_under_the_hosts_qemu_as_a_cortex_a72(
    repo: Path, fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Natively QEMU_CPU does nothing: the image's python runs under the host's static
    qemu-aarch64, mounted read-only, `-cpu cortex-a72`."""
    qemu = "/usr/bin/qemu-aarch64-static"
    monkeypatch.setattr("bakery.verify.run.host_qemu", lambda: qemu)
    fake_docker.set("FAKE_DOCKER_ARCH", "aarch64")
    fake_docker.images_by_ref(ALL_GOOD)
    assert verify(capsys, "--target", ARM).code == 0
    run = fake_docker.runs()[0]
    image_at = run.index(ref(ARM))
    flags, command = run[2:image_at], run[image_at + 1:]
    assert flags[flags.index("--entrypoint") + 1] == "sh"
    assert flags[flags.index("--volume") + 1] == (
        f"{qemu}:/run/bakery-pi-gate/qemu-aarch64:ro")
    envs = [flags[i + 1] for i, flag in enumerate(flags) if flag == "--env"]
    assert sorted(envs) == ["PROBE_CPU=cortex-a72",
                            "PROBE_QEMU=/run/bakery-pi-gate/qemu-aarch64"]
    assert command[0] == "-c" and 'exec "$0" -cpu "$PROBE_CPU" "$python" "$@"' in command[1]
    assert command[2:] == ["/run/bakery-pi-gate/qemu-aarch64", "-c", probe_source(),
                           "bitsandbytes", "tensorrt-cu12-bindings"]


def test_on_an_arm64_engine_without_qemu_the_gate_fails_closed(
    repo: Path, fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("bakery.verify.run.host_qemu", lambda: None)
    fake_docker.set("FAKE_DOCKER_ARCH", "aarch64")
    fake_docker.images_by_ref(ALL_GOOD)
    done = verify(capsys, "--target", ARM, "--format", "json")
    assert done.code == 1
    (entry,) = json.loads(done.out)["targets"]
    assert entry["status"] == "error"
    assert entry["message"].startswith("the Raspberry Pi gate cannot run on this arm64 host:"
                                       " no qemu-aarch64-static on PATH")
    assert fake_docker.runs() == []  # nothing ran natively, outside the gate


def test_an_arm64_report_with_lse_atomics_fails_the_pi_gate(
    repo: Path, fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str]
) -> None:
    """A recorded report from a CPU with LSE atomics (a native arm64 runner without the
    gate): everything else matches, and the verdict is still a failure that says why."""
    fake_docker.images_by_ref({**ALL_GOOD, ref(ARM): {
        "probe": probe(ARM_PROBE, lse_atomics=True, emulated_cpu=None)}})
    done = verify(capsys, "--target", ARM, "--format", "json")
    assert done.code == 1
    (entry,) = json.loads(done.out)["targets"]
    failed = [c for c in entry["checks"] if not c["ok"]]
    assert [c["name"] for c in failed] == ["pi gate"]
    assert failed[0]["found"].startswith("the Raspberry Pi gate was not in force: the probe ran"
                                         " on a CPU with LSE atomics")
    mismatches = record(repo, ARM)["mismatches"]  # type: ignore[index]
    assert [m["check"] for m in mismatches] == ["pi gate"]


def test_a_local_image_is_not_pulled(
    repo: Path, fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_docker.images_by_ref({ref(GPU): {"probe": GPU_PROBE, "local": True}})
    assert verify(capsys, "--target", "gpu").code == 1  # gpu: edge_gpu and its dind variant
    assert not [c for c in fake_docker.calls() if c[:2] == ["image", "pull"]]


def test_mismatches_fail_only_their_target_and_are_recorded(
    repo: Path, fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_docker.images_by_ref({
        ref(TARGET): {"probe": probe(packages={"torch": "2.9.0+cpu"})},
        ref(GPU): {"probe": probe(GPU_PROBE, torch_cuda="12.6")},
        ref(ARM): {"probe": ARM_PROBE},
    })
    done = verify(capsys)
    assert done.code == 1
    assert f"{TARGET}: FAILED: torch expected 2.9.1+cpu, found 2.9.0+cpu" in done.out
    assert f"{GPU}: FAILED: torch cuda expected 12.8, found 12.6" in done.out
    assert f"{ARM}: passed" in done.out
    assert "MISMATCH" in done.out
    assert f"bakery: error: verify: 2 of 3 target(s) did not pass: {TARGET}, {GPU}" in done.err
    cpu = record(repo, TARGET)
    assert cpu is not None and cpu["ok"] is False
    assert cpu["mismatches"] == [{"check": "torch", "expected": "2.9.1+cpu",
                                  "found": "2.9.0+cpu"}]
    assert cpu["probe"]["packages"]["torch"] == "2.9.0+cpu"


def test_an_image_that_cannot_be_pulled_fails_alone_with_dockers_first_line(
    repo: Path, fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_docker.images_by_ref({
        ref(TARGET): {"pull_error": "manifest for it not found: manifest unknown"},
        ref(GPU): {"probe": GPU_PROBE}, ref(ARM): {"probe": ARM_PROBE},
    })
    done = verify(capsys)
    assert done.code == 1
    assert (f"{TARGET}: ERROR: cannot pull {ref(TARGET)}: Error response from daemon:"
            " manifest for it not found: manifest unknown") in done.out
    assert "second line" not in done.out
    assert f"{GPU}: passed" in done.out and f"{ARM}: passed" in done.out
    cpu = record(repo, TARGET)
    assert cpu is not None and cpu["ok"] is False
    assert cpu["mismatches"][0]["check"] == "probe"


@pytest.mark.parametrize(("behaviour", "message"), [
    ({"run_error": "docker: Error response from daemon: failed to create shim task:"
                   ' exec: "python3": executable file not found in $PATH: unknown.\nmore',
      "code": 127},
     "ERROR: docker: Error response from daemon: failed to create shim task:"),
    ({"run_error": "Traceback (most recent call last):\n  File x\nMemoryError: out", "code": 1},
     "ERROR: the command exited 1: MemoryError: out"),
    ({"stdout": "hello, not json\n"}, "ERROR: the probe printed no report: hello, not json"),
])
def test_a_probe_that_does_not_answer_is_an_error_for_its_target(
    repo: Path, fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str],
    behaviour: dict[str, Any], message: str,
) -> None:
    fake_docker.images_by_ref({ref(TARGET): behaviour})
    done = verify(capsys, "--target", TARGET)
    assert done.code == 1
    assert f"{TARGET}: {message}" in done.out


def test_targets_without_an_image_are_not_built_and_not_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_docker: FakeDocker,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    write_matrix(tmp_path, MULTI_MATRIX)
    write_results(tmp_path / ".bakery" / "results.json",
                  {TARGET: (f"{REG}/acme/edge_cpu:py311", DIGESTS[TARGET]), GPU: ("y", None),
                   ARM: ("z", None)},
                  status={GPU: "failed"}, platform=PLATFORMS)
    fake_docker.images_by_ref({ref(TARGET): {"probe": GOOD_PROBE}})
    done = verify(capsys, "--format", "json")
    assert done.code == 1
    doc = json.loads(done.out)
    status = {t["id"]: (t["status"], t["message"]) for t in doc["targets"]}
    assert status[GPU] == ("not built", "its build is failed")
    assert status[ARM] == ("not built", "the bake result has no digest")
    assert status[TARGET][0] == "passed"
    assert doc["ok"] is False and doc["recorded"] == [TARGET]
    assert len(fake_docker.runs()) == 1
    assert record(tmp_path, GPU) is None and record(tmp_path, ARM) is None


def test_a_build_without_push_or_load_has_no_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_docker: FakeDocker,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    write_matrix(tmp_path)
    write_results(tmp_path / ".bakery" / "results.json", {TARGET: ("x", DIGESTS[TARGET])},
                  output="cache")
    done = verify(capsys)
    assert done.code == 1
    assert f"{TARGET}: NOT BUILT: built without --push or --load" in done.out
    assert fake_docker.runs() == []


def test_json_document(
    repo: Path, fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_docker.images_by_ref({ref(TARGET): {"probe": probe(tools={"uv": None},
                                                            uv_pip_check=None)}})
    done = verify(capsys, "--target", TARGET, "--format", "json")
    assert done.code == 1
    doc = json.loads(done.out)
    assert set(doc) == {"schema_version", "ok", "results", "recorded", "targets"}
    assert doc["schema_version"] == 1 and doc["ok"] is False
    assert doc["results"] == ".bakery/results.json" and doc["recorded"] == [TARGET]
    (entry,) = doc["targets"]
    assert set(entry) == {"id", "ok", "status", "image", "digest", "message", "mismatches",
                          "checks", "probe"}
    assert entry["mismatches"] == [
        {"check": "uv", "expected": "0.9.11", "found": None},
        {"check": "uv pip check", "expected": "ok", "found": None}]
    assert {"name": "torch", "expected": "2.9.1+cpu", "found": "2.9.1+cpu", "ok": True} in (
        entry["checks"])
    assert entry["probe"]["tools"]["uv"] is None
    assert "[1/1] edge_cpu-py311: probing" in done.err  # progress: stderr, never in the JSON


def test_image_option_without_results_shows_but_does_not_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_docker: FakeDocker,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    write_matrix(tmp_path)
    image = "registry.example/acme/candidate:1"
    fake_docker.images_by_ref({image: {"probe": GOOD_PROBE, "local": True}})
    done = verify(capsys, "--target", TARGET, "--image", image)
    assert done.code == 0, done.err
    assert f"{TARGET}: passed" in done.out
    assert "the verdict is shown, not recorded" in done.err
    assert not (tmp_path / ".bakery").exists()
    assert fake_docker.runs()[0].count(image) == 1


def test_image_option_with_results_records_what_ran(
    repo: Path, fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str]
) -> None:
    other = f"{REG}/acme/edge_cpu@sha256:{'d' * 64}"
    fake_docker.images_by_ref({other: {"probe": GOOD_PROBE}})
    assert verify(capsys, "--target", TARGET, "--image", other).code == 0
    saved = record(repo, TARGET)
    # release compares this digest with the built one, so it cannot publish the wrong image
    assert saved is not None and saved["image"] == other and saved["digest"] == "sha256:" + "d" * 64


@pytest.mark.parametrize(("args", "message"), [
    (["--image", "x"], "--image runs one image; --target selects 3 targets"),
    (["--target", "cpu", "--image", "x"], "--image runs one image; --target selects 2"),
    (["--target", "nope"], "--target 'nope' is neither a target nor a group"),
    (["--format", "yaml"], "Invalid value for '--format'"),
])
def test_usage_errors_exit_2_before_docker_runs(
    repo: Path, fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str],
    args: list[str], message: str,
) -> None:
    done = verify(capsys, *args)
    assert done.code == 2
    assert message in done.err and done.err.startswith("bakery: error: ")
    assert fake_docker.calls() == []


def test_no_results_file_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_docker: FakeDocker,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    write_matrix(tmp_path)
    done = verify(capsys)
    assert done.code == 2 and "no build results; run `bakery bake` first" in done.err
    done = verify(capsys, "--image", "x")
    assert done.code == 2 and "--image needs --target" in done.err


def test_missing_docker_cli_is_one_line_exit_2(
    repo: Path, fake_docker: FakeDocker, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("BAKERY_DOCKER", "no-such-docker")  # a name looked up on PATH
    done = verify(capsys)
    assert done.code == 2
    assert done.err.count("\n") == 1
    assert "the docker CLI" in done.err and "no-such-docker" in done.err
    assert results_doc(repo)["targets"][0].get("verify") is None


def test_an_engine_that_does_not_answer_is_one_line_exit_2(
    repo: Path, fake_docker: FakeDocker, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FAKE_DOCKER_ENGINE_DOWN", "1")
    done = verify(capsys)
    assert done.code == 2
    assert done.err.startswith("bakery: error: no Docker engine answers")
    assert "Cannot connect to the Docker daemon" in done.err
    assert done.err.count("\n") == 1
    assert fake_docker.runs() == []


def test_a_failed_write_leaves_the_results_file_whole(
    repo: Path, fake_docker: FakeDocker, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = (repo / ".bakery" / "results.json").read_text()
    fake_docker.images_by_ref(ALL_GOOD)

    def refuse(self: Path, target: Path) -> Path:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "replace", refuse)
    done = verify(capsys)
    assert done.code == 1 and "Traceback" not in done.err
    assert "results.json: cannot write: No space left on device; left unchanged" in done.err
    assert (repo / ".bakery" / "results.json").read_text() == before
    assert sorted(p.name for p in (repo / ".bakery").iterdir()) == ["results.json"]


def test_a_loaded_build_runs_its_local_tag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_docker: FakeDocker,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    write_matrix(tmp_path)
    tag = "acme/edge_cpu:py3.11.2-th2.9.1.cpu-tr4.57.1"
    write_results(tmp_path / ".bakery" / "results.json", {TARGET: (tag, DIGESTS[TARGET])},
                  output="load")
    fake_docker.images_by_ref({tag: {"probe": GOOD_PROBE, "local": True}})
    assert verify(capsys).code == 0
    saved = record(tmp_path, TARGET)
    assert saved is not None and saved["image"] == tag and saved["digest"] == DIGESTS[TARGET]
    assert not [c for c in fake_docker.calls() if c[:2] == ["image", "pull"]]
