"""Per-image decisions over answers of the fixture index."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bakery.matrix.models import FlagSetting
from bakery.preflight.decide import (
    FeatureSpec,
    ImageSpec,
    PackagePin,
    decide_image,
)
from bakery.preflight.decision import ImageDecision
from bakery.preflight.index import FetchOptions
from bakery.preflight.run import fetch_pages
from tests.support.index_server import IndexServer

BASE = {
    "arch": "amd64",
    "primary_python": "3.13.9",
    "fallback_python": "3.12.12",
}


def pin(name: str, version: str, index: str = "pypi") -> PackagePin:
    return PackagePin(name=name, version=version, index=index)


def flag(name: str, setting: FlagSetting, *pins: PackagePin) -> FeatureSpec:
    return FeatureSpec(name=name, setting=setting, packages=pins)


def image(
    *packages: PackagePin, features: tuple[FeatureSpec, ...] = (), **extra: object
) -> ImageSpec:
    return ImageSpec.model_validate(
        {"name": "img", **BASE, **extra, "packages": packages, "features": features}
    )


Decide = Callable[..., tuple[ImageDecision, ...]]


@pytest.fixture
def decide(index_server: IndexServer, tmp_path: Path) -> Decide:
    indexes = {"pypi": index_server.url(), "legacy": index_server.url("html-only")}

    def run(*images: ImageSpec) -> tuple[ImageDecision, ...]:
        pages, problems = fetch_pages(images, indexes, FetchOptions(cache_dir=tmp_path, retries=0))
        assert not problems
        return tuple(decide_image(spec, pages) for spec in images)

    return run


def test_primary_python_when_every_package_has_a_wheel(decide: Decide) -> None:
    (d,) = decide(
        image(
            pin("torch", "2.9.1+cu128"), pin("stable-abi", "0.22.1"), pin("pure-python", "4.57.1")
        )
    )
    assert d.ok and d.python == "3.13.9" and not d.fallback_used
    assert d.python_reason == "every required package has a wheel for python 3.13.9 on linux/amd64"
    assert d.package("torch").wheel == "torch-2.9.1+cu128-cp313-cp313-manylinux_2_28_x86_64.whl"
    assert d.package("Stable_ABI").tag == "cp39-abi3-manylinux_2_17_x86_64"


def test_fallback_names_the_package_that_forced_it(decide: Decide) -> None:
    (d,) = decide(image(pin("torch", "2.9.1"), pin("legacy-ext", "1.0")))
    assert d.ok and d.python == "3.12.12" and d.fallback_used
    assert d.python_reason.startswith(
        "fallback to python 3.12.12: legacy-ext 1.0 cannot use 3.13.9"
    )
    assert "wheels for cp310-cp312 only" in d.python_reason
    assert d.package("torch").wheel == "torch-2.9.1-cp312-cp312-manylinux_2_28_x86_64.whl"


def test_requires_python_forces_the_fallback(decide: Decide) -> None:
    (d,) = decide(image(pin("old-python", "3.0", "legacy")))
    assert d.python == "3.12.12" and "requires-python '<3.13,>=3.9'" in d.python_reason


def test_required_package_without_any_wheel_is_an_error(decide: Decide) -> None:
    (d,) = decide(image(pin("torch", "2.9.1"), pin("source-only", "2.8.3")))
    assert not d.ok and d.python is None
    (error,) = d.errors
    assert error.startswith(
        "required package source-only 2.8.3 (index 'pypi') has no installable wheel for "
        "python 3.13.9 or 3.12.12 on linux/amd64: 3.13.9: source-only 2.8.3 has no wheels"
    )


def test_platform_missing_on_arm64_is_an_error(decide: Decide) -> None:
    (d,) = decide(image(pin("x86-bindings", "10.13.3.9"), arch="arm64"))
    assert d.errors and "no wheel for linux aarch64" in d.errors[0]
    assert "on linux/arm64" in d.errors[0]


def test_project_missing_from_the_index(decide: Decide) -> None:
    (d,) = decide(image(pin("not-there", "1.0")))
    assert d.package("not-there").verdict == "not-on-index"
    assert "project 'not-there' is not on index http://127.0.0.1:" in d.errors[0]


def test_no_single_python_fits_every_package(decide: Decide) -> None:
    (d,) = decide(
        image(pin("legacy-ext", "1.0"), pin("yanked-only", "1.1.0"), fallback_python="3.12.12")
    )
    # legacy-ext needs 3.12, yanked-only 1.1.0 exists for cp313 only.
    assert d.python is None
    (error,) = d.errors
    assert error.startswith("no single python has wheels for every required package")
    assert "on 3.13.9: legacy-ext 1.0" in error and "on 3.12.12: yanked-only 1.1.0" in error


def test_auto_flags_follow_the_selected_python_and_platform(decide: Decide) -> None:
    features = (
        flag("flash-attn", "auto", pin("source-only", "2.8.3")),
        flag("bitsandbytes", "auto", pin("quantize", "0.48.2")),
        flag("tensorrt", "auto", pin("x86-bindings", "10.13.3.9")),
        flag("legacy", "off", pin("legacy-ext", "1.0")),
    )
    amd, arm = decide(
        image(pin("torch", "2.9.1"), features=features),
        image(pin("torch", "2.9.1"), features=features, arch="arm64", name="arm"),
    )
    assert amd.ok and arm.ok and amd.python == arm.python == "3.13.9"
    assert [f.name for f in amd.flags] == ["bitsandbytes", "flash-attn", "legacy", "tensorrt"]
    assert amd.flag("bitsandbytes").enabled and amd.flag("tensorrt").enabled
    assert amd.flag("tensorrt").reason == "auto: wheels found for python 3.13.9 on linux/amd64"
    assert amd.flag("tensorrt").packages[0].wheel == (
        "x86_bindings-10.13.3.9-cp313-none-manylinux_2_28_x86_64.whl"
    )
    fa = amd.flag("flash-attn")
    assert not fa.enabled and fa.reason.startswith(
        "auto: off because source-only 2.8.3 has no wheels"
    )
    # An "off" flag is looked up for information only: it stays off and never forces the
    # fallback (legacy-ext has cp310-cp312 wheels only, and the image still gets 3.13).
    legacy = amd.flag("legacy")
    assert legacy.enabled is False
    assert legacy.reason.startswith("off in the matrix (no wheel: legacy-ext 1.0 has no wheel for cp313")
    assert [p.ok for p in legacy.packages] == [False]
    trt = arm.flag("tensorrt")
    assert not trt.enabled and "no wheel for linux aarch64" in trt.reason
    assert arm.flag("bitsandbytes").enabled


def test_an_auto_flag_never_moves_the_python(decide: Decide) -> None:
    (d,) = decide(
        image(pin("torch", "2.9.1"), features=(flag("x", "auto", pin("legacy-ext", "1.0")),))
    )
    assert d.python == "3.13.9" and not d.flag("x").enabled


def test_an_on_flag_counts_as_required(decide: Decide) -> None:
    (d,) = decide(
        image(pin("torch", "2.9.1"), features=(flag("x", "on", pin("legacy-ext", "1.0")),))
    )
    assert d.ok and d.python == "3.12.12"
    assert "legacy-ext 1.0 (feature 'x') cannot use 3.13.9" in d.python_reason
    assert d.flag("x").enabled


def test_an_on_flag_without_wheels_is_an_error(decide: Decide) -> None:
    features = (flag("flash-attn", "on", pin("source-only", "2.8.3")),)
    (d,) = decide(image(pin("torch", "2.9.1"), features=features))
    assert not d.ok
    (error,) = d.errors
    assert error.startswith(
        "feature 'flash-attn' is set to \"on\" but source-only 2.8.3 has no installable wheel"
    )
    assert error.endswith('set it to "auto" or "off"')


def test_plain_linux_only_for_allowed_indexes(decide: Decide) -> None:
    (refused,) = decide(image(pin("torch", "2.8.0+cu128")))
    assert not refused.ok and "plain linux_x86_64" in refused.errors[0]
    (allowed,) = decide(image(pin("torch", "2.8.0+cu128"), plain_linux_indexes=("pypi",)))
    assert allowed.ok and allowed.package("torch").plain_linux


def test_decisions_do_not_depend_on_order(decide: Decide) -> None:
    features = (flag("b", "auto", pin("quantize", "0.48.2")), flag("a", "off", pin("x", "1")))
    first = decide(
        image(pin("torch", "2.9.1+cpu"), features=features, name="z"),
        image(pin("torch", "2.9.1"), name="a"),
    )
    second = decide(
        image(pin("torch", "2.9.1"), name="a"),
        image(pin("torch", "2.9.1+cpu"), features=tuple(reversed(features)), name="z"),
    )
    assert first == tuple(reversed(second))
    assert ImageDecision.model_validate_json(first[0].model_dump_json()) == first[0]


def test_index_down_is_reported_naming_the_index(dead_index_url: str) -> None:
    specs = [image(pin("torch", "2.9.1", "down"))]
    pages, problems = fetch_pages(specs, {"down": dead_index_url}, FetchOptions(retries=0))
    assert not pages
    assert dead_index_url in problems["down"].message


def test_offline_run_after_an_online_one(index_server: IndexServer, tmp_path: Path) -> None:
    specs = [image(pin("torch", "2.9.1"), features=(flag("b", "auto", pin("quantize", "0.48.2")),))]
    indexes = {"pypi": index_server.url()}
    online, _ = fetch_pages(specs, indexes, FetchOptions(cache_dir=tmp_path))
    offline, problems = fetch_pages(specs, indexes, FetchOptions(cache_dir=tmp_path, offline=True))
    assert not problems
    assert [decide_image(s, online) for s in specs] == [decide_image(s, offline) for s in specs]


def test_spec_validation() -> None:
    with pytest.raises(ValueError, match="primary_python"):
        image(primary_python="3.13.x")
    with pytest.raises(ValueError, match="extra"):
        PackagePin.model_validate({"name": "x", "version": "1", "url": "y"})
    with pytest.raises(ValueError, match=r"not a PEP 440 version: '2\.9\.1-cu128!'"):
        pin("torch", "2.9.1-cu128!")
    with pytest.raises(ValueError, match="setting"):
        FeatureSpec.model_validate({"name": "x", "setting": "maybe", "packages": [pin("x", "1")]})
