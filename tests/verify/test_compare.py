"""What verify expects of a target, and how it judges a probe report (pure)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.version import Version

from bakery.matrix import parse_matrix
from bakery.plan import expand
from bakery.plan.target import Target
from bakery.tags.git import GitContext
from bakery.verify.compare import codec_promise, compare, expectations, expected_cuda
from tests.support.cli import MINIMAL_MATRIX
from tests.verify.matrix import GOOD_PROBE, MULTI_MATRIX, STANDIN_MATRIX, TARGET

GOOD = GOOD_PROBE


@pytest.fixture(scope="module")
def target() -> tuple[Target, Any]:
    matrix = parse_matrix(STANDIN_MATRIX, source="matrix.toml")
    plan = expand(matrix, git=GitContext(), source="matrix.toml")
    return plan.target(TARGET), matrix


def failures(target: tuple[Target, Any], probe: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    checks = compare(expectations(*target), probe)
    return {c.name: (c.expected, c.found) for c in checks if not c.ok}


def changed(**edits: Any) -> dict[str, Any]:
    probe = copy.deepcopy(GOOD)
    for path, value in edits.items():
        node = probe
        *parents, last = path.split("__")
        for part in parents:
            node = node[part]
        node[last.replace("_dash_", "-")] = value
    return probe


def test_a_matching_report_passes_every_check(target: tuple[Target, Any]) -> None:
    checks = compare(expectations(*target), GOOD)
    assert [c.name for c in checks] == [
        "python", "arch", "torch", "torchvision", "torchaudio", "transformers", "tokenizers",
        "torch cuda", "bitsandbytes", "tensorrt-cu12-bindings",
        "import torch", "import torchvision", "import torchaudio", "import transformers",
        "import tokenizers", "import bitsandbytes", "torch op", "python headers",
        "ffmpeg", "node", "npm", "docker", "dockerd", "ngrok", "uv",
        *(f"ffmpeg {line}" for line in codec_promise("full")),
        "EE_DD default", "uv pip check", "every import"]
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]


def test_the_codec_promise_is_written_down_once_per_profile() -> None:
    full, slim = codec_promise("full"), codec_promise("slim")
    assert "encoder libx264" in full and "decoder libdav1d" in full
    assert set(slim) < set(full)  # slim promises less, nothing else
    assert codec_promise("unknown") == []


@pytest.mark.parametrize(("probe", "expected"), [
    (changed(packages__torch="2.9.1+cu128"), {"torch": ("2.9.1+cpu", "2.9.1+cu128")}),
    (changed(packages__torch="2.9.1"), {"torch": ("2.9.1+cpu", "2.9.1")}),
    (changed(python="3.12.12"), {"python": ("3.11.2", "3.12.12")}),
    (changed(arch="aarch64"), {"arch": ("x86_64", "aarch64")}),
    (changed(torch_cuda="12.8"), {"torch cuda": ("none", "12.8")}),
    (changed(packages__bitsandbytes=None), {"bitsandbytes": ("0.48.2", None)}),
    (changed(packages__tensorrt_dash_cu12_dash_bindings="10.13.3.9"),
     {"tensorrt-cu12-bindings": ("absent", "10.13.3.9")}),
    (changed(tools__ngrok=None), {"ngrok": ("3.30.0", None)}),
    (changed(tools__dockerd="28.5.2"), {"dockerd": ("20.10.24+dfsg1", "28.5.2")}),
    (changed(uv_pip_check={"ok": False, "output": "torchvision requires torch==2.9.0"}),
     {"uv pip check": ("ok", "failed: torchvision requires torch==2.9.0")}),
    (changed(uv_pip_check=None, tools__uv=None),
     {"uv": ("0.9.11", None), "uv pip check": ("ok", None)}),
    (changed(errors={"torch_cuda": "ImportError: libcudart.so.12"}),
     {"torch cuda": ("none", "import torch failed: ImportError: libcudart.so.12")}),
])
def test_each_difference_is_named(
    target: tuple[Target, Any], probe: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert failures(target, probe) == expected


@pytest.mark.parametrize(("torch", "arch", "cuda"), [
    ("2.9.1+cu128", "amd64", "12.8"), ("2.6.0+cu124", "amd64", "12.4"),
    ("2.9.1+cpu", "amd64", "none"), ("2.9.1", "arm64", "none"), ("2.9.1", "amd64", None),
])
def test_cuda_comes_from_the_local_tag(torch: str, arch: str, cuda: str | None) -> None:
    assert expected_cuda(torch, arch) == cuda


def test_feature_pins_are_the_ones_the_build_got(target: tuple[Target, Any]) -> None:
    """A feature on is expected at the pin FEATURE_PACKAGES handed the build; off, absent."""
    plan_target, matrix = target
    expect = expectations(plan_target, matrix)
    built = dict(pin.split("==") for pin in plan_target.args["FEATURE_PACKAGES"].split())
    for flag, feature in matrix.features.items():
        if plan_target.flags[flag].enabled:
            assert expect[feature.package] == built[feature.package] == feature.version
        else:
            assert expect[feature.package] == "absent" and feature.package not in built
    assert built, "the test target has a feature on"


def test_only_what_the_plan_sets_is_checked() -> None:
    matrix = parse_matrix(MINIMAL_MATRIX, source="matrix.toml")
    plan = expand(matrix, git=GitContext(), source="matrix.toml")
    cpu = expectations(plan.target("edge_cpu-py313"), matrix)
    profile = plan.target("edge_cpu-py313").args.get("FFMPEG_PROFILE", "")
    codecs = {f"ffmpeg {line}" for line in codec_promise(profile)}
    assert set(cpu) == {
        "python", "arch", "torch", "torchvision", "torchaudio", "transformers", "tokenizers",
        "torch cuda", "bitsandbytes", "tensorrt-cu12", "uv", "uv pip check", "every import",
        "import torch", "import torchvision", "import torchaudio", "import transformers",
        "import tokenizers", "import bitsandbytes", "torch op", "python headers",
        *codecs, *(["EE_DD default"] if "EE_DD_DEFAULT" in plan.target("edge_cpu-py313").args
                   else [])}
    gpu = expectations(plan.target("edge_gpu-py313"), matrix)
    assert "torch cuda" not in gpu  # PyPI's x86_64 torch: its CUDA is not in the version
    assert gpu["bitsandbytes"] == "absent" and gpu["tensorrt-cu12"] == "10.13.3.9"
    # an enabled feature must import under the name its users import
    assert gpu["import tensorrt"] == "ok" and "import bitsandbytes" not in gpu


@pytest.mark.parametrize(("edit", "check", "found"), [
    ({"imports": {"tensorrt": "ModuleNotFoundError: No module named 'tensorrt'"}},
     "import tensorrt", "failed: ModuleNotFoundError: No module named 'tensorrt'"),
    ({"python_headers": None}, "python headers", None),
    ({"ee_dd": "true"}, "EE_DD default", "true"),
    ({"torch_op": "RuntimeError: bad"}, "torch op", "RuntimeError: bad"),
])
def test_behaviour_checks_fail_on_what_metadata_hides(
    edit: dict[str, Any], check: str, found: str | None,
) -> None:
    expect = {"import tensorrt": "ok", "python headers": "ok", "EE_DD default": "false",
              "torch op": "ok"}
    report = {"imports": {"tensorrt": None}, "python_headers": "/x/Python.h", "ee_dd": "false",
              "torch_op": "ok", **edit}
    failed = {c.name: c.found for c in compare(expect, report) if not c.ok}
    assert failed == {check: found}


def test_every_import_names_each_module_that_failed_and_how() -> None:
    report = {"imports": {"torch": "killed by SIGILL (illegal instruction on cortex-a72)",
                          "numpy": None, "PIL": "ImportError: libjpeg.so.62: cannot open"}}
    (check,) = compare({"every import": "ok"}, report)
    assert not check.ok
    assert check.found == ("import PIL: ImportError: libjpeg.so.62: cannot open; import torch:"
                           " killed by SIGILL (illegal instruction on cortex-a72)")
    (passed,) = compare({"every import": "ok"}, {"imports": {"numpy": None}})
    assert passed.ok


@pytest.mark.parametrize(("report", "ok", "found"), [
    ({"arch": "aarch64", "lse_atomics": False}, True, "ok"),
    # a native arm64 runner without the gate: its CPU has LSE atomics
    ({"arch": "aarch64", "lse_atomics": True}, False, "the Raspberry Pi gate was not in force:"
     " the probe ran on a CPU with LSE atomics"),
    ({"arch": "aarch64", "lse_atomics": None, "errors": {"lse_atomics": "OSError: no libc"}},
     False, "the Raspberry Pi gate was not in force: the probe could not read"),
    ({"arch": "x86_64", "lse_atomics": None}, False, "the Raspberry Pi gate was not in force:"
     " the probe ran on x86_64"),
])
def test_the_pi_gate_fails_closed(report: dict[str, Any], ok: bool, found: str) -> None:
    (check,) = compare({"pi gate": "ok"}, report)
    assert check.ok is ok
    assert (check.found or "").startswith(found)


def test_only_arm64_targets_expect_the_pi_gate() -> None:
    matrix = parse_matrix(MULTI_MATRIX, source="matrix.toml")
    plan = expand(matrix, git=GitContext(), source="matrix.toml")
    gated = {t.arch: "pi gate" in expectations(t, matrix) for t in plan.targets}
    assert gated == {"amd64": False, "arm64": True}


def test_a_codec_missing_from_the_profile_fails() -> None:
    expect = {"ffmpeg encoder libx264": "present", "ffmpeg decoder h264": "present"}
    report = {"ffmpeg_codecs": {"encoders": ["aac"], "decoders": ["h264"]}}
    failed = [c.name for c in compare(expect, report) if not c.ok]
    assert failed == ["ffmpeg encoder libx264"]


versions = st.builds(
    lambda release, local: ".".join(map(str, release)) + (f"+{local}" if local else ""),
    st.lists(st.integers(0, 30), min_size=1, max_size=4),
    st.sampled_from([None, "cpu", "cu118", "cu126", "cu128", "rocm6.4"]),
)


@given(expected=versions, found=versions)
def test_versions_match_exactly_local_tag_included(expected: str, found: str) -> None:
    (check,) = compare({"torch": expected}, {"packages": {"torch": found}})
    # the probe's stdlib comparison means what PEP 440 (packaging) means
    assert check.ok == (Version(expected) == Version(found))
    if Version(expected).local != Version(found).local:
        assert not check.ok


@given(major=st.integers(10, 13), minor=st.integers(0, 9), arch=st.sampled_from(["amd64", "arm64"]))
def test_cuda_of_any_cu_tag(major: int, minor: int, arch: str) -> None:
    assert expected_cuda(f"2.9.1+cu{major}{minor}", arch) == f"{major}.{minor}"


optional_text = st.none() | st.text(max_size=12)
reports = st.fixed_dictionaries({}, optional={
    "arch": optional_text, "python": optional_text, "torch_cuda": optional_text,
    "packages": st.dictionaries(st.sampled_from(["torch", "bitsandbytes", "tokenizers"]),
                                optional_text),
    "tools": st.dictionaries(st.sampled_from(["uv", "ffmpeg", "docker"]), optional_text),
    "uv_pip_check": st.none() | st.fixed_dictionaries({"ok": st.booleans(),
                                                        "output": st.text(max_size=20)}),
    "errors": st.dictionaries(st.just("torch_cuda"), st.text(max_size=12)),
})


@given(report=reports)
def test_any_report_is_judged_without_crashing(target: tuple[Target, Any],
                                               report: dict[str, Any]) -> None:
    checks = compare(expectations(*target), report)
    assert [c.name for c in checks] == list(expectations(*target))
    for check in checks:
        assert isinstance(check.ok, bool)
        if check.found is None:  # nothing found passes only where nothing is expected
            assert check.ok == (check.expected == "absent")
