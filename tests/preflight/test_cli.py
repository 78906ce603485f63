"""`bakery preflight` end to end against the fixture index on 127.0.0.1, and the lock that
plan, render and bake read."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.index_server import IndexServer
from tests.support.repo import ROOT

MATRIX = """\
schema_version = 1
namespace = "acme"

[python]
primary = "3.13.9"
fallback = "3.12.12"

[indexes]
pypi = "{pypi}"
gpu-index = "{gpu}"

[versions]
transformers = "4.57.1"
tokenizers = "0.22.1"

[features.quant]
package = "quantize"
version = "0.48.2"

[features.trt]
package = "x86-bindings"
version = "10.13.3.9"
gpu_only = true

[features.fa]
package = "source-only"
version = "2.8.3"
gpu_only = true

[release]
rules = [{{ type = "sha" }}]

[images.edge_gpu]
arch = "amd64"
accelerator = "cuda"
aliases = ["gpu"]
torch = {{ index = "gpu-index", torch = "2.9.1+cu128", torchvision = "0.24.1+cu128", torchaudio = "2.9.1+cu128" }}
features = {{ quant = "auto", trt = "auto", fa = "auto" }}

[images.edge_arm]
arch = "arm64"
accelerator = "cpu"
aliases = ["arm64"]
torch = {{ torch = "2.9.1", torchvision = "0.24.1", torchaudio = "2.9.1" }}
features = {{ quant = "auto" }}
"""


@pytest.fixture(autouse=True)
def _git_context(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_SHA", "0" * 40)  # no `git` run for the release tags


@pytest.fixture
def project(tmp_path: Path, index_server: IndexServer) -> Path:
    path = tmp_path / "matrix.toml"
    path.write_text(MATRIX.format(pypi=index_server.url(), gpu=index_server.url()))
    return path


def preflight(capsys: pytest.CaptureFixture[str], matrix: Path, *args: str):  # type: ignore[no-untyped-def]
    cache = matrix.parent / "cache"
    return run_cli(capsys, "preflight", "--matrix", str(matrix), "--cache-dir", str(cache), *args)


def plan_targets(capsys: pytest.CaptureFixture[str], matrix: Path) -> dict[str, dict]:  # type: ignore[type-arg]
    result = run_cli(capsys, "plan", "--matrix", str(matrix), "--format", "json", "--sha", "0" * 40)
    assert result.code == 0, result.err
    return {t["id"]: t for t in json.loads(result.out)["targets"]}


def test_preflight_decides_and_plan_reads_the_lock(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # no lock yet: plan refuses, naming the flag and what to run
    refused = run_cli(capsys, "plan", "--matrix", str(project))
    assert refused.code == 2
    assert "images.edge_gpu.features.fa: 'auto' is decided by preflight" in refused.err
    assert "matrix.lock.json does not exist" in refused.err
    assert "run `bakery preflight --target edge_gpu`" in refused.err

    done = preflight(capsys, project)
    assert done.code == 0, done.err
    assert "flag fa (auto)" in done.out and "source-only" in done.out
    lock = project.with_name("matrix.lock.json")
    assert lock.is_file()

    targets = plan_targets(capsys, project)
    gpu, arm = targets["edge_gpu-py313"], targets["edge_arm-py313"]
    assert gpu["python"]["version"] == arm["python"]["version"] == "3.13.9"
    assert gpu["python"]["reason"] == (
        "preflight: every required package has a wheel for python 3.13.9 on linux/amd64"
    )
    assert gpu["flags"]["quant"]["enabled"] and gpu["flags"]["trt"]["enabled"]
    assert not gpu["flags"]["fa"]["enabled"]
    assert gpu["flags"]["fa"]["reason"].startswith("preflight: auto: off because source-only 2.8.3")
    assert arm["flags"]["quant"]["enabled"]
    assert arm["flags"]["trt"]["reason"] == "GPU-only; this is a cpu image"
    # what preflight decided is what the build installs: trt on, fa off
    assert gpu["args"]["FEATURE_PACKAGES"] == "quantize==0.48.2 x86-bindings==10.13.3.9"
    shutil.copy(ROOT / "docker-bake.hcl.j2", project.parent)
    render = run_cli(capsys, "render", "--matrix", str(project))
    assert render.code == 0, render.err
    assert ('FEATURE_PACKAGES = "quantize==0.48.2 x86-bindings==10.13.3.9"'
            in project.with_name("docker-bake.hcl").read_text())


def test_the_lock_is_deterministic(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert preflight(capsys, project).code == 0
    lock = project.with_name("matrix.lock.json")
    first = lock.read_bytes()
    assert preflight(capsys, project, "--offline").code == 0
    assert lock.read_bytes() == first
    doc = json.loads(first)
    assert doc["schema_version"] == 1 and sorted(doc["images"]) == ["edge_arm", "edge_gpu"]
    wheel = doc["images"]["edge_arm"]["decision"]["packages"][0]
    assert wheel["wheel"] == "torch-2.9.1-cp313-cp313-manylinux_2_28_aarch64.whl"
    assert len(wheel["sha256"]) == 64


def test_a_changed_pin_makes_only_that_image_stale(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert preflight(capsys, project).code == 0
    text = project.read_text()
    # an edit preflight does not depend on: the lock stays fresh
    project.write_text(text.replace('namespace = "acme"', 'namespace = "acme2"'))
    assert run_cli(capsys, "plan", "--matrix", str(project)).code == 0
    # a torch pin of the GPU image: that entry is stale
    project.write_text(text.replace('torch = "2.9.1+cu128"', 'torch = "2.8.0+cu128"'))
    stale = run_cli(capsys, "plan", "--matrix", str(project))
    assert stale.code == 2
    assert "images.edge_gpu was decided for other matrix values" in stale.err
    assert "run `bakery preflight --target edge_gpu`" in stale.err
    bake = run_cli(capsys, "bake", "--matrix", str(project), "--dry-run")
    assert bake.code == 2 and "images.edge_gpu was decided for other matrix values" in bake.err
    # re-deciding only that image fixes it and keeps the other entry as it was
    before = json.loads(project.with_name("matrix.lock.json").read_text())["images"]["edge_arm"]
    assert preflight(capsys, project, "--target", "gpu").code == 0
    after = json.loads(project.with_name("matrix.lock.json").read_text())["images"]
    assert after["edge_arm"] == before
    assert run_cli(capsys, "plan", "--matrix", str(project)).code == 0


def test_index_down_is_an_error_naming_it_and_nothing_is_written(
    project: Path, capsys: pytest.CaptureFixture[str], dead_index_url: str,
    index_server: IndexServer,
) -> None:
    project.write_text(MATRIX.format(pypi=index_server.url(), gpu=dead_index_url))
    done = preflight(capsys, project, "--format", "json")
    assert done.code == 1
    assert "preflight could not decide edge_gpu" in done.err
    assert not project.with_name("matrix.lock.json").exists()
    doc = json.loads(done.out)
    assert doc["ok"] is False and doc["lock_written"] is False
    gpu, arm = doc["images"]
    assert gpu["python"] is None
    assert dead_index_url in gpu["errors"][0] and "torch, torchvision, torchaudio" in gpu["errors"][0]
    # what the reachable index says still shows: flags of the GPU image, the arm64 image
    assert {f["name"]: f["enabled"] for f in gpu["flags"]} == {"fa": False, "quant": True,
                                                               "trt": True}
    assert arm["python"] == "3.13.9" and arm["errors"] == []

    # the same index through a mirror given on the command line
    mirrored = preflight(capsys, project, "--index-url", f"gpu-index={index_server.url()}")
    assert mirrored.code == 0, mirrored.err


def test_offline_uses_only_the_cache(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    miss = preflight(capsys, project, "--offline")
    assert miss.code == 1
    assert "offline: no cached answer" in miss.out
    assert preflight(capsys, project).code == 0
    assert preflight(capsys, project, "--offline").code == 0


def test_dry_run_writes_nothing(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    done = preflight(capsys, project, "--dry-run")
    assert done.code == 0 and "no lock written" in done.err
    assert not project.with_name("matrix.lock.json").exists()


@pytest.mark.parametrize(("args", "message"), [
    (("--index-url", "gpu-index"), "--index-url: 'gpu-index': not NAME=URL"),
    (("--index-url", "gpu-index=http://[::1"), "--index-url: 'gpu-index=http://[::1': not a URL"),
    (("--index-url", "gpu-index=ftp://x/simple"), "not an http(s) URL"),
    (("--max-age", "-1"), "--max-age: -1.0 is not a number of seconds"),
    (("--max-age", "nan"), "--max-age: nan is not a number of seconds"),
    (("--index-url", "nope=http://127.0.0.1:1/simple/"), "no index named 'nope'"),
    (("--target", "gpux"), "did you mean"),
])
def test_bad_input_exits_2(
    project: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    done = preflight(capsys, project, *args)
    assert done.code == 2 and message in done.err


def test_a_broken_lock_is_a_clear_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project.with_name("matrix.lock.json").write_text("{not json")
    done = run_cli(capsys, "plan", "--matrix", str(project))
    assert done.code == 2 and "matrix.lock.json: not valid JSON" in done.err
    assert "run `bakery preflight`" in done.err
