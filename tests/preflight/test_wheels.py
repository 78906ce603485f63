"""Wheel availability for one package, on pages fetched from the fixture index."""

from __future__ import annotations

import pytest
from packaging.tags import Tag

from bakery.preflight.index import IndexFile, IndexRequest, fetch_many
from bakery.preflight.wheels import (
    Verdict,
    WheelCheck,
    WheelTarget,
    check_wheel,
    linux_platforms,
    supported_tags,
)
from tests.support.index_server import FIXTURES, IndexServer

PY313 = "3.13.9"
PY312 = "3.12.12"


@pytest.fixture(scope="module")
def pages(index_server: IndexServer) -> dict[str, tuple[IndexFile, ...]]:
    projects = sorted(p.name for p in FIXTURES.iterdir())
    fetched = fetch_many([IndexRequest(index_server.url(), p) for p in projects])
    return {request.project: page.files for request, page in fetched.items()}


def check(
    pages: dict[str, tuple[IndexFile, ...]],
    project: str,
    version: str,
    python: str = PY313,
    arch: str = "amd64",
    *,
    plain: bool = False,
) -> WheelCheck:
    target = WheelTarget(python=python, arch=arch, allow_plain_linux=plain)  # type: ignore[arg-type]
    return check_wheel(pages[project], project=project, version=version, target=target)


def test_cp313_wheel_present(pages: dict[str, tuple[IndexFile, ...]]) -> None:
    result = check(pages, "torch", "2.9.1", arch="arm64")
    assert result.ok and result.verdict is Verdict.OK
    assert result.wheel == "torch-2.9.1-cp313-cp313-manylinux_2_28_aarch64.whl"
    assert result.tag == "cp313-cp313-manylinux_2_28_aarch64"
    assert result.sha256 and result.url and result.url.endswith(".whl")
    assert result.reason == f"torch 2.9.1: {result.wheel}"
    assert not result.plain_linux


def test_only_cp312_wheels(pages: dict[str, tuple[IndexFile, ...]]) -> None:
    result = check(pages, "legacy-ext", "1.0")
    assert not result.ok and result.verdict is Verdict.NO_WHEEL_FOR_PYTHON
    assert result.wheel is None
    assert result.reason == (
        "legacy-ext 1.0 has no wheel for cp313 on linux x86_64 (manylinux, glibc 2.39): "
        "wheels for cp310-cp312 only"
    )
    assert result.pythons == ("cp310-cp312",)
    fallback = check(pages, "legacy-ext", "1.0", PY312)
    assert fallback.ok
    assert (
        fallback.wheel
        == "legacy_ext-1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    )


def test_abi3_wheel_serves_3_13(pages: dict[str, tuple[IndexFile, ...]]) -> None:
    for arch in ("amd64", "arm64"):
        result = check(pages, "stable-abi", "0.22.1", arch=arch)
        assert result.ok, result.reason
        assert result.tag is not None and result.tag.startswith("cp39-abi3-manylinux_2_17_")


def test_py3_none_manylinux_wheel(pages: dict[str, tuple[IndexFile, ...]]) -> None:
    for python in (PY313, PY312):
        for arch, machine in (("amd64", "x86_64"), ("arm64", "aarch64")):
            result = check(pages, "quantize", "0.48.2", python, arch)
            assert result.ok
            assert result.wheel == f"quantize-0.48.2-py3-none-manylinux_2_24_{machine}.whl"


def test_pure_python_wheel(pages: dict[str, tuple[IndexFile, ...]]) -> None:
    result = check(pages, "pure-python", "4.57.1", arch="arm64")
    assert result.ok and result.tag == "py3-none-any"


def test_sdist_only(pages: dict[str, tuple[IndexFile, ...]]) -> None:
    result = check(pages, "source-only", "2.8.3")
    assert not result.ok and result.verdict is Verdict.SDIST_ONLY
    assert "only a source distribution (source_only-2.8.3.tar.gz)" in result.reason


def test_only_yanked_wheels(pages: dict[str, tuple[IndexFile, ...]]) -> None:
    result = check(pages, "yanked-only", "1.2.0")
    assert not result.ok and result.verdict is Verdict.YANKED_ONLY
    assert "only yanked wheels" in result.reason
    assert "broken ABI, use 1.1.0 & wait" in result.reason
    assert check(pages, "yanked-only", "1.1.0").ok


def test_requires_python_excludes_3_13(pages: dict[str, tuple[IndexFile, ...]]) -> None:
    result = check(pages, "old-python", "3.0")
    assert not result.ok and result.verdict is Verdict.REQUIRES_PYTHON
    assert result.reason == "old-python 3.0: requires-python '<3.13,>=3.9' excludes python 3.13.9"
    assert check(pages, "old-python", "3.0", PY312).ok


def test_x86_64_only_bindings(pages: dict[str, tuple[IndexFile, ...]]) -> None:
    assert check(pages, "x86-bindings", "10.13.3.9").ok
    result = check(pages, "x86-bindings", "10.13.3.9", arch="arm64")
    assert not result.ok and result.verdict is Verdict.NO_WHEEL_FOR_PLATFORM
    assert result.reason == (
        "x86-bindings 10.13.3.9 has no wheel for linux aarch64 (manylinux, glibc 2.39): "
        "cp313 wheels for win_amd64, x86_64 only"
    )


def test_glibc_newer_than_the_target(pages: dict[str, tuple[IndexFile, ...]]) -> None:
    result = check(pages, "new-glibc", "1.0")
    assert not result.ok and result.verdict is Verdict.NO_WHEEL_FOR_PLATFORM
    assert "x86_64 with glibc 2.40" in result.reason
    newer = WheelTarget(python=PY313, arch="amd64", glibc=(2, 40))
    assert check_wheel(pages["new-glibc"], project="new-glibc", version="1.0", target=newer).ok


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("2.9.1+cu128", "torch-2.9.1+cu128-cp313-cp313-manylinux_2_28_x86_64.whl"),
        ("2.9.1+cpu", "torch-2.9.1+cpu-cp313-cp313-manylinux_2_28_x86_64.whl"),
        ("2.9.1", "torch-2.9.1-cp313-cp313-manylinux_2_28_x86_64.whl"),
    ],
)
def test_local_version_tags_match_exactly(
    pages: dict[str, tuple[IndexFile, ...]], version: str, expected: str
) -> None:
    result = check(pages, "torch", version)
    assert result.ok and result.wheel == expected


def test_local_variant_that_is_missing(pages: dict[str, tuple[IndexFile, ...]]) -> None:
    result = check(pages, "torch", "2.9.1+cu124")
    assert not result.ok and result.verdict is Verdict.NO_VERSION
    assert result.reason == (
        "torch 2.9.1+cu124 is not on the index "
        "(same release with other local tags: 2.9.1, 2.9.1+cpu, 2.9.1+cu128)"
    )
    # +cu128 exists for x86_64 only in the fixture, like the real CUDA index.
    arm = check(pages, "torch", "2.9.1+cu128", arch="arm64")
    assert arm.verdict is Verdict.NO_WHEEL_FOR_PLATFORM


def test_no_such_version(pages: dict[str, tuple[IndexFile, ...]]) -> None:
    result = check(pages, "quantize", "9.9")
    assert result.verdict is Verdict.NO_VERSION
    assert result.reason == "quantize 9.9 is not on the index (newest: 0.48.2)"


def test_plain_linux_tags_only_when_allowed(pages: dict[str, tuple[IndexFile, ...]]) -> None:
    refused = check(pages, "torch", "2.8.0+cu128")
    assert refused.verdict is Verdict.PLAIN_LINUX_ONLY
    assert "plain linux_x86_64" in refused.reason and "not manylinux" in refused.reason
    allowed = check(pages, "torch", "2.8.0+cu128", plain=True)
    assert allowed.ok and allowed.plain_linux
    assert allowed.tag == "cp313-cp313-linux_x86_64"
    assert "plain linux tag" in allowed.reason


def test_best_tag_and_build_number_win() -> None:
    def f(name: str) -> IndexFile:
        return IndexFile(filename=name, url=f"http://127.0.0.1/{name}")

    files = [
        f("p-1.0-py3-none-any.whl"),
        f("p-1.0-cp39-abi3-manylinux_2_17_x86_64.whl"),
        f("p-1.0-1-cp313-cp313-manylinux_2_17_x86_64.whl"),
        f("p-1.0-2-cp313-cp313-manylinux_2_17_x86_64.whl"),
        f("p-1.0-cp313-cp313-manylinux_2_34_x86_64.whl"),
        f("other-1.0-cp313-cp313-manylinux_2_39_x86_64.whl"),
        f("p-1.0-cp313-cp313-not a wheel.whl"),
    ]
    target = WheelTarget(python=PY313, arch="amd64")
    result = check_wheel(files, project="p", version="1.0", target=target)
    assert result.wheel == "p-1.0-cp313-cp313-manylinux_2_34_x86_64.whl"
    result = check_wheel(files[:4], project="p", version="1.0", target=target)
    assert result.wheel == "p-1.0-2-cp313-cp313-manylinux_2_17_x86_64.whl"


def test_supported_tags_shape() -> None:
    tags = supported_tags(WheelTarget(python=PY313, arch="amd64"))
    assert tags[0] == Tag("cp313", "cp313", "manylinux_2_39_x86_64")
    assert Tag("cp39", "abi3", "manylinux2014_x86_64") in tags
    assert Tag("cp313", "none", "manylinux_2_28_x86_64") in tags
    assert Tag("py3", "none", "manylinux1_x86_64") in tags
    assert Tag("py3", "none", "any") in tags
    assert Tag("cp313", "cp313", "linux_x86_64") not in tags
    assert Tag("cp313", "cp313t", "manylinux_2_28_x86_64") not in tags
    assert Tag("cp312", "cp312", "manylinux_2_28_x86_64") not in tags
    arm = linux_platforms("aarch64", (2, 39), allow_plain=False)
    assert arm[-1] == "manylinux2014_aarch64" and "manylinux2010_aarch64" not in arm


def test_target_validation() -> None:
    with pytest.raises(ValueError, match="invalid python version"):
        WheelTarget(python="3", arch="amd64")
    with pytest.raises(ValueError, match="unknown arch"):
        WheelTarget(python=PY313, arch="riscv64")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("platform", "arch", "ok"),
    [
        ("manylinux_2_39_x86_64", "amd64", True),
        ("manylinux_2_40_x86_64", "amd64", False),
        ("manylinux_2_5_x86_64", "amd64", True),
        ("manylinux1_x86_64", "amd64", True),
        ("manylinux2010_x86_64", "amd64", True),
        ("manylinux2014_aarch64", "arm64", True),
        ("manylinux_2_17_aarch64", "arm64", True),
        ("manylinux_2_16_aarch64", "arm64", False),
        ("manylinux2010_aarch64", "arm64", False),
        ("manylinux_2_28_x86_64", "arm64", False),
        ("musllinux_1_2_aarch64", "arm64", False),
        ("linux_aarch64", "arm64", False),
    ],
)
def test_platform_boundaries(platform: str, arch: str, ok: bool) -> None:
    files = [IndexFile(filename=f"p-1.0-cp313-cp313-{platform}.whl", url="http://127.0.0.1/p")]
    target = WheelTarget(python=PY313, arch=arch)  # type: ignore[arg-type]
    assert check_wheel(files, project="p", version="1.0", target=target).ok is ok
