"""Unit tests (no Docker, no subprocess): plan target -> EXPECT_* variables, host matching,
the script's environment and the image chosen for a target."""

from __future__ import annotations

from pathlib import Path

import pytest

from bakery.bake.results import load_results
from bakery.imagetest import env_file, expectation_env, host_skip_reason
from bakery.imagetest.hostmatch import handler_enabled, qemu_handler
from bakery.imagetest.run import GPU_PROBE, PROBE, image_for, script_env, script_path
from bakery.matrix.models import docker_arch
from bakery.project import LoadedPlan, load_plan
from bakery.verify.compare import codec_promise
from tests.engine.standin import DEBIAN_DOCKER, DEBIAN_PYTHON, MATCHING_PACKAGES, MATCHING_TOOLS
from tests.imagetest.matrix import ARM_TARGET, CPU_TARGET, MATRIX, write_project
from tests.support.cli import MINIMAL_MATRIX, run_cli
from tests.verify.matrix import write_results


def _loaded(tmp_path: Path, text: str = MATRIX) -> LoadedPlan:
    path = tmp_path / "matrix.toml"
    path.write_text(text)
    return load_plan(path, env={}, use_git=False)


def test_the_standin_target_expects_what_the_standin_holds(tmp_path: Path) -> None:
    loaded = _loaded(tmp_path)
    env = expectation_env(loaded.plan.target(CPU_TARGET), loaded.matrix)
    assert env == {
        "EXPECT_PLATFORM": "linux/amd64",
        "EXPECT_ACCELERATOR": "cpu",
        "EXPECT_PYTHON": DEBIAN_PYTHON,
        "EXPECT_ARCH": "x86_64",
        **{f"EXPECT_{name.upper()}": MATCHING_PACKAGES[name]
           for name in ("torch", "torchvision", "torchaudio", "transformers", "tokenizers")},
        "EXPECT_TORCH_CUDA": "none",
        **{f"EXPECT_{name.upper()}": version for name, version in MATCHING_TOOLS.items()},
        "EXPECT_DOCKER": DEBIAN_DOCKER,
        "EXPECT_DOCKERD": DEBIAN_DOCKER,
        "EXPECT_PACKAGES": "bitsandbytes=0.48.2 tensorrt-cu12-bindings=absent",
        "EXPECT_IMPORTS": "torch torchvision torchaudio transformers tokenizers bitsandbytes",
        "EXPECT_TORCH_OP": "ok",
        "EXPECT_PYTHON_HEADERS": "ok",
        "EXPECT_FFMPEG_CODECS": " ".join(
            line.replace(" ", ":") for line in codec_promise("full")),
        "EXPECT_EE_DD": "false",
    }


def test_an_arm64_target_expects_aarch64_and_no_cuda(tmp_path: Path) -> None:
    loaded = _loaded(tmp_path)
    env = expectation_env(loaded.plan.target(ARM_TARGET), loaded.matrix)
    assert env["EXPECT_PLATFORM"] == "linux/arm64"
    assert env["EXPECT_ARCH"] == "aarch64"
    assert env["EXPECT_TORCH"] == "2.9.1"
    assert env["EXPECT_TORCH_CUDA"] == "none"  # PyPI's aarch64 torch is the CPU build
    assert env["EXPECT_PACKAGES"] == "bitsandbytes=absent tensorrt-cu12-bindings=absent"


def test_a_gpu_target_expects_its_feature_and_no_unknown_cuda(tmp_path: Path) -> None:
    loaded = _loaded(tmp_path, MINIMAL_MATRIX)
    gpu = next(t for t in loaded.plan.targets if t.accelerator == "cuda")
    env = expectation_env(gpu, loaded.matrix)
    assert env["EXPECT_ACCELERATOR"] == "cuda"
    assert env["EXPECT_PACKAGES"] == "bitsandbytes=absent tensorrt-cu12=10.13.3.9"
    assert "EXPECT_TORCH_CUDA" not in env  # x86_64 PyPI torch: its CUDA is not in the version
    assert "EXPECT_FFMPEG" not in env  # not pinned in this matrix: the script checks presence
    assert all(key.startswith("EXPECT_") for key in env)


def test_env_file_is_what_the_script_reads() -> None:
    text = env_file({"EXPECT_PYTHON": "3.11.2", "EXPECT_PACKAGES": "a=1 b=absent"},
                    comment="t, from matrix.toml")
    assert text == ("# t, from matrix.toml\nEXPECT_PYTHON=3.11.2\n"
                    "EXPECT_PACKAGES=a=1 b=absent\n")


def test_script_env_replaces_stale_expectations_and_adds_the_cli_settings() -> None:
    base = {"PATH": "/bin", "EXPECT_TORCH": "stale", "EXPECT_OTHER": "stale",
            "DIND_RUN_FLAGS": "--cap-add ALL", "SKIP_NESTED": "0"}
    env = script_env(base, {"EXPECT_PYTHON": "3.11.2"}, skip_nested=True, nested_via="socket")
    assert env == {"PATH": "/bin", "DIND_RUN_FLAGS": "--cap-add ALL", "SKIP_NESTED": "1",
                   "EXPECT_PYTHON": "3.11.2", "NESTED_VIA": "socket", "PROBE": str(PROBE),
                   "GPU_PROBE": str(GPU_PROBE)}
    assert PROBE.is_file() and GPU_PROBE.is_file()
    assert script_env(base, {})["SKIP_NESTED"] == "0"  # the caller's SKIP_NESTED is honoured


@pytest.mark.parametrize(("name", "expected"), [
    ("x86_64", "amd64"), ("amd64", "amd64"), ("aarch64", "arm64"), ("arm64", "arm64"),
    ("riscv64", "riscv64"),
])
def test_docker_arch(name: str, expected: str) -> None:
    assert docker_arch(name) == expected


def test_host_matching_and_qemu_handlers(tmp_path: Path) -> None:
    handler = qemu_handler("arm64", tmp_path)
    assert handler == tmp_path / "qemu-aarch64"
    assert qemu_handler("amd64", tmp_path).name == "qemu-x86_64"
    assert not handler_enabled(handler)
    handler.write_text("disabled\ninterpreter /usr/bin/qemu-aarch64-static\n")
    assert not handler_enabled(handler)
    handler.write_text("enabled\ninterpreter /usr/bin/qemu-aarch64-static\n")
    assert handler_enabled(handler)

    assert host_skip_reason("amd64", "x86_64", handler, enabled=False) is None
    assert host_skip_reason("arm64", "aarch64", handler, enabled=False) is None
    assert host_skip_reason("arm64", "x86_64", handler, enabled=True) is None
    assert host_skip_reason("arm64", "x86_64", handler, enabled=False) == (
        "linux/arm64 does not match the linux/amd64 host and no qemu binfmt handler is"
        f" registered ({handler}); run it on a arm64 host"
    )


def test_image_for_a_target(tmp_path: Path) -> None:
    loaded = _loaded(tmp_path)
    cpu = loaded.plan.target(CPU_TARGET)
    assert image_for(cpu, None, "my/image:1") == ("my/image:1", None)
    assert image_for(cpu, None, None) == (cpu.candidate, None)
    digest = "sha256:" + "a" * 64
    pushed = load_results(write_results(tmp_path / "r.json",
                                        {CPU_TARGET: ("localhost:5000/acme/edge_cpu:x", digest)}))
    assert image_for(cpu, pushed, None) == (f"localhost:5000/acme/edge_cpu@{digest}", None)
    arm = loaded.plan.target(ARM_TARGET)
    assert image_for(arm, pushed, None)[0] == arm.candidate  # not in the results


def test_script_path_is_next_to_the_matrix(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p")
    assert script_path(project / "matrix.toml") == project / "images" / "test_image.sh"


def test_cli_print_env(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = write_project(tmp_path / "p")
    done = run_cli(capsys, "test", "-m", str(project / "matrix.toml"), "--target", CPU_TARGET,
                   "--print-env")
    assert done.code == 0, done.err
    assert done.out.startswith(f"# {CPU_TARGET}, from ")
    assert "\nEXPECT_TORCH=2.9.1+cpu\n" in done.out


def test_cli_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = write_project(tmp_path / "p")
    matrix = str(project / "matrix.toml")
    done = run_cli(capsys, "test", "-m", matrix, "--target", "all", "--image", "x:1")
    assert done.code == 2
    assert "--image needs exactly one target; --target selects 4" in done.err
    done = run_cli(capsys, "test", "-m", matrix, "--target", "nope")
    assert done.code == 2 and "'nope' is neither a target nor a group" in done.err
    (project / "images" / "test_image.sh").unlink()
    done = run_cli(capsys, "test", "-m", matrix, "--target", CPU_TARGET)
    assert done.code == 2
    assert "images/test_image.sh is missing" in done.err
