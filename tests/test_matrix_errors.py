"""Bad matrix input: exit 2 and one line naming file, key path and value."""

from __future__ import annotations

from pathlib import Path

import pytest

from bakery.errors import ConfigError
from bakery.matrix import parse_matrix
from tests.support.cli import MINIMAL_MATRIX, run_cli


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "matrix.toml"
    path.write_text(text)
    return path


def plan_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str) -> str:
    path = write(tmp_path, text)
    result = run_cli(capsys, "plan", "--matrix", str(path), "--format", "json", "--ref",
                     "refs/heads/main", "--sha", "0" * 40)
    assert result.code == 2, result
    assert result.out == ""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith(f"bakery: error: {path}: ") or lines[0].startswith("bakery: error:")
    assert "Traceback" not in result.err
    return lines[0]


def test_minimal_matrix_is_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, MINIMAL_MATRIX)
    assert run_cli(capsys, "plan", "--matrix", str(path), "--sha", "0" * 40).code == 0


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            'fallback = "3.12.12"', 'fallback = "3.12.12"\nfalback = 1',
            "python.falback: unknown key 'falback' (did you mean 'fallback'?)", id="unknown-key"),
        pytest.param(
            'aliases = ["cpu"]', 'aliases = ["cpu"]\ntorchh = 1',
            "images.edge_cpu.torchh: unknown key 'torchh' (did you mean 'torch'?)", id="unknown-image-key"),
        pytest.param(
            'primary = "3.13.9"', "primary = 3.13",
            "python.primary: input should be a valid string (got 3.13)", id="wrong-type"),
        pytest.param(
            'arch = "amd64"\naccelerator = "cpu"', 'arch = "amd65"\naccelerator = "cpu"',
            "images.edge_cpu.arch: 'amd65' is not one of 'amd64', 'arm64'"
            " (did you mean 'amd64'?)", id="unknown-arch"),
        pytest.param(
            'features = { bitsandbytes = "on" }', 'features = { bitsandbytes = "on", tensorrt = "on" }',
            "images.edge_cpu.features.tensorrt: 'on' but 'tensorrt' is GPU-only and this image's"
            " accelerator is 'cpu'", id="tensorrt-on-cpu"),
        pytest.param(
            'features = { bitsandbytes = "on" }', 'features = { bitsandbytes = "on", tensorrt = "auto" }',
            "images.edge_cpu.features.tensorrt: 'auto' but 'tensorrt' is GPU-only",
            id="tensorrt-auto-on-cpu"),
        pytest.param(
            'fallback = "3.12.12"', 'fallback = "3.14.1"',
            "python.fallback: '3.14.1' is not older than the primary '3.13.9'",
            id="fallback-newer"),
        pytest.param(
            'primary = "3.13.9"', 'primary = "3.13"',
            "python.primary: '3.13' must be an exact X.Y.Z release", id="inexact-python"),
        pytest.param(
            '"acme/edge:{machine}-{tag}"', '"acme/edge:{machin}-{tag}"',
            "images.edge_cpu.legacy_tags[0]: unknown placeholder {machin} in tag template"
            " 'acme/edge:{machine}-{tag}'".replace("{machine}", "{machin}"),
            id="template-unknown-placeholder"),
        pytest.param(
            '"acme/edge:{machine}-{tag}"', '"acme/edge:{machine-{tag}"',
            "images.edge_cpu.legacy_tags[0]: invalid tag template", id="template-broken-brace"),
        pytest.param(
            '"acme/edge:{machine}-{tag}"', '"acme/Edge:{machine}-{tag}"',
            "path component 'Edge' must be lowercase", id="template-uppercase-repo"),
        pytest.param(
            '"acme/edge:{machine}-{tag}"', '"acme/edge:-{machine}"',
            "'acme/edge:-x86_64' is not a valid image name: tag '-x86_64': a tag must match", id="template-bad-tag"),
        pytest.param(
            'aliases = ["gpu"]', 'aliases = ["cpu"]',
            "images.edge_gpu.aliases[0]: 'cpu' is already an alias of 'edge_cpu'",
            id="duplicate-alias"),
        pytest.param(
            'aliases = ["gpu"]', 'aliases = ["edge_cpu-py313"]',
            "images.edge_gpu.aliases[0]: 'edge_cpu-py313' is also the id of a target of image 'edge_cpu'", id="duplicate-id"),
        pytest.param(
            'legacy_tags = ["acme/edge:{machine}-{tag}"]',
            'legacy_tags = ["acme/edge:{machine}-{tag}", "acme/shared:latest"]',
            None, id="no-collision-yet"),
        pytest.param(
            'features = { tensorrt = "on", bitsandbytes = "off" }',
            'features = { tensorrt = "on", bitsandbytes = "off" }\n'
            'legacy_tags = ["acme/edge:{machine}-py{python}-th2.9.1.cpu-tr{transformers}"]',
            "tag 'acme/edge:x86_64-py3.13.9-th2.9.1.cpu-tr4.57.1' is claimed by two targets",
            id="tag-collision"),
        pytest.param(
            'index = "pytorch-cpu"', 'index = "pytorch-cpux"',
            "images.edge_cpu.torch.index: unknown index 'pytorch-cpux' (did you mean"
            " 'pytorch-cpu'?)", id="unknown-index"),
        pytest.param(
            'gpu_only = true\n', 'gpu_only = true\nextra_index = "pytorch-cpx"\n',
            "features.tensorrt.extra_index: unknown index 'pytorch-cpx' (did you mean"
            " 'pytorch-cpu'?)", id="unknown-extra-index"),
        pytest.param(
            'features = { bitsandbytes = "on" }', 'features = { bitsandbytez = "on" }',
            "images.edge_cpu.features.bitsandbytez: unknown feature 'bitsandbytez' (did you mean"
            " 'bitsandbytes'?)", id="unknown-feature"),
        pytest.param(
            '{ type = "sha" }', '{ type = "shaa" }',
            "release.rules[1]: unknown type 'shaa'", id="unknown-rule-type"),
        pytest.param(
            '{ type = "semver", pattern = "{{version}}" }', '{ type = "semver", pattern = "{{vesion}}" }',
            "release.rules[0].pattern: unknown placeholder {{vesion}} (did you mean 'version'?)",
            id="bad-semver-pattern"),
        pytest.param(
            'torchaudio = "2.9.1+cpu" }', 'torchaudio = "2.9.1+cu128" }',
            "images.edge_cpu.torch: torch, torchvision and torchaudio must share one local tag",
            id="mismatched-torch-set"),
        pytest.param('schema_version = 1', 'schema_version = 1\n[[oops', "invalid TOML", id="toml"),
        pytest.param('schema_version = 1', 'schema_version = 2',
                     "schema_version: 2 is not supported; this bakery reads schema_version = 1",
                     id="schema-version"),
        pytest.param('uv = "0.9.11"', 'uv = "0.9.11"\npython = "9.9.9"',
                     "versions.python: sets the build arg PYTHON_VERSION, which python already"
                     " sets", id="arg-versions-python"),
        # a feature's pins reach a shell as words (FEATURE_PACKAGES): names are checked
        pytest.param('package = "bitsandbytes"', 'package = "bits and bytes"',
                     "features.bitsandbytes.package: 'bits and bytes' is not a"
                     " package name", id="feature-package-name"),
        pytest.param('package = "bitsandbytes"', 'package = "bitsandbytes"\nalso = ["a;b"]',
                     "features.bitsandbytes.also: 'a;b' is not a package name",
                     id="feature-also-name"),
        pytest.param('package = "bitsandbytes"', 'package = "bitsandbytes"\nmodule = "bits-and"',
                     "features.bitsandbytes.module: 'bits-and' is not a module"
                     " name", id="feature-module-name"),
        pytest.param('package = "bitsandbytes"',
                     'package = "bitsandbytes"\nlayers = { cuda = ["x y"] }',
                     "features.bitsandbytes.layers.cuda: 'x y' is not a pattern",
                     id="feature-layer-pattern"),
        pytest.param('package = "bitsandbytes"',
                     'package = "bitsandbytes"\nlayers = { gpu = ["x"] }',
                     "features.bitsandbytes.layers.gpu", id="feature-layer-name"),
        pytest.param('[features.tensorrt]', '[artifacts.uv]\nversion = "0.9.11"\n\n'
                     '[features.tensorrt]',
                     "artifacts.uv: sets the build arg UV_VERSION, which versions.uv already"
                     " sets", id="arg-versions-and-artifacts"),
        pytest.param('fallback = "3.12.12"', 'fallback = "3.13.5"',
                     "python.fallback: '3.13.5' has the primary's minor version",
                     id="fallback-same-minor"),
        pytest.param('primary = "3.13.9"', 'primary = "v3.13.9"',
                     "python.primary: 'v3.13.9' must be an exact X.Y.Z release", id="python-v"),
        pytest.param('primary = "3.13.9"', 'primary = "03.013.09"',
                     "python.primary: '03.013.09' must be an exact X.Y.Z release",
                     id="python-zeros"),
        pytest.param('primary = "3.13.9"', 'primary = "3.13.9.post1"',
                     "python.primary: '3.13.9.post1' must be an exact X.Y.Z release",
                     id="python-post"),
        pytest.param('[release]', '[release]\nprefix = "a/b"',
                     "release.prefix: 'a/b' cannot be part of a tag", id="release-prefix"),
        pytest.param('pytorch-cpu = "https://download.pytorch.org/whl/cpu"',
                     'pytorch-cpu = "https://download.pytorch.org:99999/whl/cpu"',
                     "indexes.pytorch-cpu: 'https://download.pytorch.org:99999/whl/cpu': not a"
                     " URL", id="index-url-port"),
        pytest.param('pytorch-cpu = "https://download.pytorch.org/whl/cpu"',
                     'pytorch-cpu = "https:///whl/cpu"',
                     "indexes.pytorch-cpu: 'https:///whl/cpu': an http(s) URL needs a host",
                     id="index-url-host"),
        pytest.param('legacy_tags = ["acme/edge:{machine}-{tag}"]', 'legacy_tags = ["acme/{nope}"]',
                     "images.edge_cpu.legacy_tags[0]: unknown placeholder {nope}",
                     id="tag-unknown-field"),
        pytest.param('legacy_tags = ["acme/edge:{machine}-{tag}"]',
                     'legacy_tags = ["acme/edge:{tag:x}"]',
                     "images.edge_cpu.legacy_tags[0]: {tag:x} in template 'acme/edge:{tag:x}':"
                     " placeholders take no format spec", id="tag-format-spec"),
        pytest.param('legacy_tags = ["acme/edge:{machine}-{tag}"]',
                     'legacy_tags = ["acme/edge-{tag}"]',
                     "images.edge_cpu.legacy_tags[0]: 'acme/edge-{tag}' has no tag part",
                     id="tag-no-tag-part"),
        pytest.param('[release]', '[cache]\nfrom = ["type=registry,ref=acme/c:{nope}"]\n\n'
                     '[release]', "cache.from[0]: unknown placeholder {nope}",
                     id="cache-unknown-field"),
        pytest.param('[release]', '[cache]\nto = ["type=registry,ref=acme/c:{id!r}"]\n\n'
                     '[release]', "cache.to[0]: {id!r} in template", id="cache-conversion"),
        pytest.param('[release]', '[artifacts.tool]\nversion = "1.2.3"\nsha256 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"\n'
                     'url = "https://example.com/d/tool-1.2.2.zip"\n\n[release]',
                     "artifacts.tool: url 'https://example.com/d/tool-1.2.2.zip' does not name"
                     " version '1.2.3'", id="artifact-url-stale-version"),
        pytest.param('[release]', '[artifacts.tool]\nversion = "1.2.3"\n'
                     'url = "https://example.com/d/tool-1.2.3.zip"\n\n[release]',
                     "artifacts.tool: url without sha256", id="artifact-url-unchecked"),
        pytest.param('[release]', '[artifacts.tool]\nversion = "3.39"\nsha256 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"\n'
                     'url = "https://example.com/d/tool-3.39.9-linux.zip"\n\n[release]',
                     "artifacts.tool: url 'https://example.com/d/tool-3.39.9-linux.zip' does not"
                     " name version '3.39'", id="artifact-url-names-a-longer-version"),
        pytest.param('[release]', '[artifacts.tool]\nversion = "3.39"\nsha256 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"\n'
                     'url = "https://example.com/d/tool-13.39.zip"\n\n[release]',
                     "artifacts.tool: url 'https://example.com/d/tool-13.39.zip' does not"
                     " name version '3.39'", id="artifact-url-names-a-version-ending-in-it"),
        pytest.param('[release]', '[artifacts.tool]\nversion = "1.2.3"\nsha256 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"\n'
                     'url = "http://example.com/d/tool-1.2.3.zip"\n\n[release]',
                     "is not an https:// URL", id="artifact-url-http"),
        pytest.param('[release]', '[artifacts.tool]\nversion = "1.2.3"\nsha256 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"\n'
                     'url = { arm64 = "https://example.com/d/tool-1.2.3-arm64.zip" }\n\n[release]',
                     "artifacts.tool.url: no url for 'amd64', which the image 'edge_cpu' needs",
                     id="artifact-url-missing-arch"),
        pytest.param('[images.edge_cpu]\n', '[images.edge_cpu]\ngpu = { min_driver = "570.26",'
                     ' min_compute_capability = "7.5" }\n',
                     "images.edge_cpu.gpu: the driver and compute capability a GPU needs are"
                     " stated for a CUDA image only", id="gpu-needs-on-cpu-image"),
        pytest.param('[release]', '[runners]\narm64 = "ubuntu-24.04-arm"\n\n[release]',
                     "runners: no runner for 'amd64', which images.edge_cpu uses",
                     id="runner-missing-arch"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, expected: str | None
) -> None:
    assert old in MINIMAL_MATRIX
    text = MINIMAL_MATRIX.replace(old, new, 1)
    if expected is None:
        path = write(tmp_path, text)
        assert run_cli(capsys, "plan", "--matrix", str(path), "--sha", "0" * 40).code == 0
        return
    line = plan_error(tmp_path, capsys, text)
    assert expected in line


def test_several_problems_are_counted() -> None:
    text = MINIMAL_MATRIX.replace('arch = "amd64"', 'arch = "amd65"').replace(
        'uv = "0.9.11"', 'uv = 9')
    with pytest.raises(ConfigError, match=r"and \d+ more problem"):
        parse_matrix(text)


def test_missing_matrix_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "plan", "--matrix", str(tmp_path / "nope.toml"))
    assert result.code == 2
    assert "nope.toml: no such matrix file" in result.err


def test_debug_shows_the_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, MINIMAL_MATRIX.replace('arch = "amd64"', 'arch = "amd65"', 1))
    result = run_cli(capsys, "--debug", "plan", "--matrix", str(path), "--sha", "0" * 40)
    assert result.code == 2
    assert "Traceback" in result.err and "ConfigError" in result.err
    assert result.err.splitlines()[-1].startswith(f"bakery: error: {path}: images.edge_cpu.arch")


def test_debug_is_a_global_option_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, MINIMAL_MATRIX)
    after = run_cli(capsys, "plan", "--matrix", str(path), "--debug")
    assert after.code == 2 and "Traceback" not in after.err
    assert after.err.strip() == (
        "bakery: error: No such option: --debug (see 'bakery plan --help')"
    )
    # "--debug" as the value of an option is that value, not the switch
    value = run_cli(capsys, "plan", "--matrix", "--debug")
    assert value.code == 2 and "Traceback" not in value.err
    assert value.err.startswith("bakery: error: --debug: no such matrix file")


def test_auto_flag_needs_a_lock(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = MINIMAL_MATRIX.replace('features = { bitsandbytes = "on" }',
                                  'features = { bitsandbytes = "auto" }')
    line = plan_error(tmp_path, capsys, text)
    assert "images.edge_cpu.features.bitsandbytes: 'auto' is decided by preflight" in line
    assert "run `bakery preflight --target edge_cpu`" in line


def test_bad_ref_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, MINIMAL_MATRIX)
    result = run_cli(capsys, "plan", "--matrix", str(path), "--ref", "v1.2.3")
    assert result.code == 2
    assert "'v1.2.3' is not a full git ref" in result.err
    assert "refs/tags/v1.2.3" in result.err


def test_unknown_target_suggests(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, MINIMAL_MATRIX)
    result = run_cli(capsys, "plan", "--matrix", str(path), "--sha", "0" * 40, "--target", "gpuu")
    assert result.code == 2
    assert "--target 'gpuu' is neither a target nor a group (did you mean 'gpu'?)" in result.err
