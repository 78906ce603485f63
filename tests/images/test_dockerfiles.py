"""Static checks of the image Dockerfiles against what their users rely on.

No engine runs here. The Dockerfiles are read through tests/support/dockerfile_model.py: an
image target of the rendered docker-bake.hcl is followed from its Dockerfile's last stage down
to the base image through local stages and bake named contexts, the way BuildKit resolves them.
Where a RUN line carries logic (feature flags, the torch index, the CPU guards) the test runs
that exact shell text with a fake `uv` and checks what it did.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bakery.lockfile.groups import group_files
from bakery.matrix import load_matrix
from tests.bakehcl import resolve
from tests.support.dockerfile_model import (
    DEFAULT_SHELL,
    ROOT,
    SHARED,
    Instruction,
    Link,
    all_links,
    chain,
    dockerfiles,
    effective_config,
    ignored_by_dockerignore,
    load,
    run_commands,
    run_in_shell,
    script_lines,
    shell_scripts,
    simple_commands,
)
from tests.support.gnupg import gnupg_home

IMAGES = ("base_edge_node_amd64_gpu", "base_edge_node_amd64_cpu", "base_edge_node_arm64_cpu")
CPU_IMAGES = ("base_edge_node_amd64_cpu", "base_edge_node_arm64_cpu")
ENTRYPOINT = "/usr/local/bin/entrypoint.sh"
INIT = "/usr/bin/docker-init"  # Docker CE's tini
BASE_IMAGE = "ubuntu:24.04"
# The features reach the Dockerfiles through these two args only, whatever their names.
FEATURE_ARGS = ("FEATURE_PACKAGES", "FEATURE_INDEX_URLS")
# Build args whose value must come from matrix.toml through the bake file.
BAKE_OWNED = re.compile(r"(_VERSION|_SHA256|_PROFILE|_INDEX_URL)$|^(BASE_IMAGE|EE_DD_DEFAULT)$")
PACKAGE_PINS = re.compile(r"^(TORCH\w*|TRANSFORMERS_\w+|TOKENIZERS_\w+|FEATURE_\w+)$")
PACKAGE_LISTS = ("images/shared/runtime.packages", "images/shared/ffmpeg/*.build-deps")


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def bake() -> dict[str, dict[str, Any]]:
    path = ROOT / "docker-bake.hcl"
    assert path.exists(), "docker-bake.hcl is missing: run `bakery render`"
    return resolve(path.read_text())


def image_targets(bake: dict[str, dict[str, Any]], image: str) -> dict[str, dict[str, Any]]:
    found = {n: t for n, t in bake.items() if t.get("dockerfile") == f"images/{image}/Dockerfile"}
    assert found, f"docker-bake.hcl has no target building images/{image}/Dockerfile"
    return found


def all_image_targets(bake: dict[str, dict[str, Any]]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(image, name, t) for image in IMAGES for name, t in image_targets(bake, image).items()]


def link_for(links: list[Link], stage_name: str) -> Link:
    for link in links:
        if link.stage.name == stage_name:
            return link
    raise AssertionError(f"no stage {stage_name!r} in {[lk.stage.name for lk in links]}")


@pytest.fixture
def fake_uv(tmp_path: Path, allow_subprocess: None) -> tuple[dict[str, str], Path]:
    """A `uv` that records each call (one argument per line, calls separated by ---); tests
    that use it run RUN lines in a shell."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "uv.log"
    uv = bin_dir / "uv"
    uv.write_text(
        "#!/bin/sh\n"
        'for arg in "$@"; do printf "%s\\n" "$arg"; done >>"$UV_LOG"\n'
        'echo --- >>"$UV_LOG"\n'
        'if [ "$1 $2" = "pip freeze" ]; then echo "torch==0.0.0+fake"; fi\n'
    )
    uv.chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "UV_LOG": str(log), "HOME": str(tmp_path),
           "TMPDIR": str(tmp_path)}
    return env, log


def uv_calls(log: Path) -> list[list[str]]:
    if not log.exists():
        return []
    calls, current = [], []
    for line in log.read_text().splitlines():
        if line == "---":
            calls.append(current)
            current = []
        else:
            current.append(line)
    return calls


def arg_env(link: Link, **overrides: str) -> dict[str, str]:
    """The build args a RUN of this stage sees: declared defaults, then the bake values."""
    values = {k: v or "" for k, v in link.dockerfile.declared_args([link.stage]).items()}
    values.update({k: v for k, v in link.args.items() if k in values})
    values.update(overrides)
    return values


# --------------------------------------------------------------------------- layout and base


def test_each_image_has_its_dockerfile_and_bake_targets_on_its_platform(bake):
    for image in IMAGES:
        assert (ROOT / "images" / image / "Dockerfile").is_file()
        arch = "arm64" if "_arm64_" in image else "amd64"
        for name, target in image_targets(bake, image).items():
            assert target["context"] == ".", name
            assert target["platforms"] == [f"linux/{arch}"], name


def test_every_image_starts_from_ubuntu_2404_through_the_base_image_arg(bake):
    assert load(SHARED).global_args.get("BASE_IMAGE") == BASE_IMAGE
    for path in dockerfiles():
        for stage in load(path).stages:
            external = not load(path).has_stage(stage.base)
            # an external base is either the BASE_IMAGE arg or a bake named context
            if external and path == SHARED:
                assert stage.base == "${BASE_IMAGE}", f"{path}: FROM {stage.base}"
            assert "arm64v8/" not in stage.base
    for image, name, target in all_image_targets(bake):
        assert target["args"]["BASE_IMAGE"] == BASE_IMAGE, name
        base, links = chain(target, bake)
        assert base == BASE_IMAGE, f"{name} starts from {base!r}"
        assert links[-1].dockerfile.path == f"images/{image}/Dockerfile"


def test_from_lines_take_no_platform_flag():
    # The platform comes from the bake target (linux/arm64 for the Pi image); a constant
    # --platform would fight it (FromPlatformFlagConstDisallowed / RedundantTargetPlatform).
    for path in dockerfiles():
        for line in load(path).text.splitlines():
            if line.upper().startswith("FROM "):
                assert "--platform" not in line, f"{path}: {line}"
                assert re.fullmatch(r"FROM \S+( AS [a-z0-9][a-z0-9-]*)?", line), (
                    f"{path}: {line!r} (FromAsCasing / StageNameCasing)"
                )


def test_image_dockerfiles_reach_shared_stages_only_through_bake_named_contexts(bake):
    for image, name, target in all_image_targets(bake):
        dockerfile = load(f"images/{image}/Dockerfile")
        contexts = target.get("contexts", {})
        for stage in dockerfile.stages:
            for ref in stage.reads():
                if not dockerfile.has_stage(ref):
                    assert ref in contexts, f"{name}: {ref!r} is neither a stage nor a context"
                    inner = bake[contexts[ref].removeprefix("target:")]
                    assert inner["dockerfile"] == SHARED
                    assert load(SHARED).has_stage(inner["target"])
                    assert inner["platforms"] == target["platforms"], name
        # A context name that is an official Docker Hub image (python, node, ubuntu, ...)
        # would be pulled silently by a build that lacks the context.
        for ref in contexts:
            assert "-" in ref, f"context name {ref!r} could be an official image"


# --------------------------------------------------------------------------- installs


def test_there_is_no_virtualenv_anywhere():
    for where, text in run_commands():
        assert not re.search(r"-m\s+venv\b|\bvirtualenv\b|\buv\s+venv\b", text), where


def _without_assignments(words: list[str]) -> tuple[dict[str, str], list[str]]:
    """Leading VAR=value words (the command's environment) and the command itself."""
    env: dict[str, str] = {}
    while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
        name, _, value = words[0].partition("=")
        env[name] = value
        words = words[1:]
    return env, words


def test_every_pip_install_is_uv_pip_install_system_no_compile_and_caches_nothing_in_a_layer():
    installs = 0
    for where, text in run_commands():
        for words in simple_commands(text, keep_env=True):
            env, words = _without_assignments(words)
            for i in range(len(words) - 1):
                if words[i : i + 2] == ["pip", "install"]:
                    installs += 1
                    assert i == 1 and words[0] == "uv", f"{where}: {' '.join(words)}"
                    for flag in ("--system", "--no-compile"):
                        assert flag in words, f"{where}: {flag} missing in {' '.join(words)}"
                    # no cache in the image: --no-cache, or a cache dir that is a cache mount
                    assert "--no-cache" in words or "UV_CACHE_DIR" in env, (
                        f"{where}: uv pip install without --no-cache or UV_CACHE_DIR"
                    )
            assert words[:1] not in (["pip"], ["pip3"]), f"{where}: bare {' '.join(words)}"
            assert words[1:3] != ["-m", "pip"], f"{where}: {' '.join(words)}"
    assert installs >= 2, "found no uv pip install at all: the parser is broken"


def test_a_uv_cache_dir_is_always_a_buildkit_cache_mount():
    seen = 0
    for path in dockerfiles():
        for ins in load(path).instructions("RUN"):
            _flags, text = ins.split()
            for words in simple_commands(text, keep_env=True):
                env, _ = _without_assignments(words)
                if "UV_CACHE_DIR" in env:
                    seen += 1
                    targets = [m.get("target") for m in ins.mounts() if m.get("type") == "cache"]
                    assert env["UV_CACHE_DIR"] in targets, (
                        f"{ins.where()}: UV_CACHE_DIR={env['UV_CACHE_DIR']} is not a cache mount,"
                        " so the cache would land in the layer"
                    )
    assert seen >= 1, "the ML stack install should use the uv cache mount"


def test_every_pinned_build_arg_is_set_by_every_bake_target_that_builds_it(bake):
    for _image, name, target in all_image_targets(bake):
        _, links = chain(target, bake)
        for link in links:
            if link.dockerfile.path == SHARED:
                needed = link.dockerfile.declared_args(link.dockerfile.closure(link.stage.name))
                given = link.args
            else:
                needed = link.dockerfile.declared_args(link.dockerfile.stages)
                given = target["args"]
            for arg in needed:
                if BAKE_OWNED.search(arg) or arg in FEATURE_ARGS:
                    assert arg in given, (
                        f"{name}: {link.dockerfile.path} stage {link.stage.name} declares "
                        f"ARG {arg} but the bake target does not set it"
                    )


def test_bake_passes_the_shared_stages_no_arg_they_ignore(bake):
    # An arg that no stage declares is a pin that silently does nothing.
    for name, target in bake.items():
        if target.get("dockerfile") == SHARED:
            shared = load(SHARED)
            declared = shared.declared_args(shared.closure(target["target"]))
            # BUILDKIT_SYNTAX is read by BuildKit itself: the frontend that reads the file
            unused = set(target.get("args", {})) - set(declared) - {"BUILDKIT_SYNTAX"}
            assert not unused, f"{name}: args {sorted(unused)} reach no ARG"


def test_versions_and_checksums_come_only_from_build_args():
    literal_pin = re.compile(r"(?<![\w$])[A-Za-z][\w.+-]*(==|=|@)v?\d+\.\d+")
    for path in dockerfiles():
        dockerfile = load(path)
        for name, default in dockerfile.declared_args(dockerfile.stages).items():
            if re.search(r"_(VERSION|SHA256)$", name):
                assert not default, f"{path}: ARG {name} has a default {default!r}"
        for ins in dockerfile.instructions():
            if ins.kind != "ARG":
                assert not literal_pin.search(ins.value), f"{ins.where()}: {ins.value}"
        assert not re.search(r"\b[0-9a-fA-F]{64}\b", dockerfile.text), f"{path}: sha256 literal"
    for where, text in run_commands():
        assert not literal_pin.search(text), f"{where}: {text}"
    lists = [p for pattern in PACKAGE_LISTS for p in ROOT.glob(pattern)]
    assert lists
    for path in lists:
        for line in script_lines(path):
            assert re.fullmatch(r"[a-z0-9][a-z0-9+.-]*", line.strip()), f"{path}: {line!r}"


LAYERS = ("cuda", "torch", "rest")
LAYER_STAGES = tuple(f"packages-{layer}" for layer in LAYERS)
UNLOCKED = "images/shared/unlocked"


def layer_run(link: Link) -> Instruction:
    (run,) = link.stage.of("RUN")
    return run


def test_the_packages_are_three_layers_each_installed_from_its_own_group_file():
    """Ordered by how often they change: the CUDA runtime wheels, torch and its kin, the rest.
    Each builder stage binds only its own group file, so the cache key (and so the layer) of
    the CUDA wheels never sees a change to transformers."""
    shared = load(SHARED)
    assert group_files() == tuple(f"{i}-{layer}.txt" for i, layer in enumerate(LAYERS, 1))
    for layer, stage_name, group in zip(LAYERS, LAYER_STAGES, group_files(), strict=True):
        stage = shared.stage(stage_name)
        assert stage.base == "python", stage_name
        run = layer_run(Link(shared, stage, {}, DEFAULT_SHELL))
        binds = [m for m in run.mounts() if m.get("type") == "bind"]
        lock_binds = [m["source"] for m in binds
                      if m["source"] != "images/shared/install-packages.sh"]
        assert (ROOT / UNLOCKED / group).is_file()
        _flags, text = run.split()
        assert f"install-packages.sh {layer} " in text and text.endswith(" /stage"), run.where()
        assert lock_binds == [f"${{PACKAGES_LOCK:-{UNLOCKED}}}/{group}"], run.where()
        # the cache key of a layer holds only the build args its stage declares: the CUDA
        # and torch layers read no pin, so a new transformers pin cannot rebuild them
        declared = set(stage.args())
        if layer != "rest":
            assert declared == {"PACKAGES_LOCK"}, stage_name


def test_the_final_stage_copies_interpreter_packages_then_tools_each_as_a_linked_layer():
    stage = load(SHARED).stage("edge-node-base")
    copies = [i for i in stage.instructions if i.kind == "COPY"]
    sources = [(i.copy_from(), i.split()[1]) for i in copies if i.copy_from() != "apt-repos"]
    assert sources[:4] == [("python", "/opt/ /opt/"),
                           *[(name, "/stage/ /") for name in LAYER_STAGES]]
    # the tools come after every package layer
    tools = [source for source, _ in sources[4:]]
    assert {"ffmpeg", "node", "uv", None} <= set(tools), tools
    for ins in copies[1:]:
        assert "--link" in ins.split()[0], f"{ins.where()}: not a --link layer"
    # the packages layers are copies, never RUNs on top of the apt layer
    runs = stage.of("RUN")
    assert all(i.line < copies[1].line or "check-versions" in i.value for i in runs)


def test_each_layer_installs_its_group_or_for_an_unlocked_target_the_pins_last(
    bake, fake_uv, tmp_path
):
    env, log = fake_uv
    checked = 0
    for _image, name, target in all_image_targets(bake):
        args = target["args"]
        links = all_links(target, bake)
        calls = []
        for layer, stage_name, group in zip(LAYERS, LAYER_STAGES, group_files(), strict=True):
            link = link_for(links, stage_name)
            log.unlink(missing_ok=True)
            stage = tmp_path / name / layer
            done = run_in_shell(link, layer_run(link), env | arg_env(link),
                                paths={"/stage": str(stage)})
            assert done.returncode == 0, (name, layer, done.stderr)
            assert stage.is_dir(), (name, layer)
            calls.append(uv_calls(log))
            if not args["PACKAGES_LOCK"]:
                continue
            lock = ROOT / args["PACKAGES_LOCK"] / group
            if not re.search(r"^[a-z0-9]", lock.read_text(), re.MULTILINE):
                assert calls[-1] == [], f"{name}: the empty {group} installs nothing"
                continue
            # a locked target installs exactly this group, every file checked by sha256
            ((*install, requirements),) = calls[-1]
            assert install[:4] == ["pip", "install", "--system", "--no-compile"], name
            assert install[4] == "--prefix" and install[5].startswith(f"{stage}/"), name
            assert install[6:] == ["--no-deps", "--require-hashes", "--only-binary", ":all:",
                                   "-r"], name
            assert requirements == str(lock), name
        checked += 1
        if args["PACKAGES_LOCK"]:
            continue
        # unlocked: the pins (and their dependencies) resolved in the last layer
        assert calls[0] == calls[1] == [], name
        ((*install,),) = calls[2]
        # wheels only: no source distribution is built at image build time
        assert install[:8] == ["pip", "install", "--system", "--no-compile", "--only-binary",
                               ":all:", "--prefix", install[7]], name
        index = args["TORCH_INDEX_URL"]
        expected_index = ["--extra-index-url", index] if index else []
        pins = [f"{pkg}=={args[f'{pkg.upper()}_VERSION']}"
                for pkg in ("torch", "torchvision", "torchaudio", "transformers", "tokenizers")]
        for url in args["FEATURE_INDEX_URLS"].split():
            expected_index += ["--extra-index-url", url]
        pins += args["FEATURE_PACKAGES"].split()
        assert install[8:] == expected_index + pins, name
        assert not any(a.startswith("--index-strategy") for a in install), name
    assert checked >= len(IMAGES)
    locked = [t for _i, _n, t in all_image_targets(bake) if t["args"]["PACKAGES_LOCK"]]
    assert locked, "the shipped matrix has locked targets (arm64)"


def test_an_unlocked_target_installs_exactly_the_feature_pins_it_is_given(bake, fake_uv,
                                                                          tmp_path, monkeypatch):
    """The one install path of every feature: FEATURE_PACKAGES' pins join the resolution of
    the target's pins, FEATURE_INDEX_URLS become extra indexes after the torch one; the script
    knows no feature's name, and a word of the wrong shape stops the build."""
    env, log = fake_uv
    target = next(iter(image_targets(bake, "base_edge_node_amd64_gpu").values()))
    link = link_for(all_links(target, bake), "packages-rest")
    run = layer_run(link)
    stage = {"/stage": str(tmp_path / "stage")}
    torch_index = target["args"]["TORCH_INDEX_URL"]
    assert torch_index
    core = [f"{pkg}=={target['args'][f'{pkg.upper()}_VERSION']}"
            for pkg in ("torch", "torchvision", "torchaudio", "transformers", "tokenizers")]
    cases = [
        ("", "", []),
        ("some-gpu-lib==1.2.3 some-gpu-lib-cu12==1.2.3", "https://a.example/simple",
         ["https://a.example/simple"]),
        (" x==1\tother==2.0.post1 ", "https://a.example/simple https://b.example/simple",
         ["https://a.example/simple", "https://b.example/simple"]),
        # a glob character is part of a word, never expanded against the build's files
        ("x==1*", "", []),
    ]
    # a file the glob would match, where the shell runs
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x==1.0").write_text("")
    for packages, urls, indexes in cases:
        log.unlink(missing_ok=True)
        done = run_in_shell(link, run, env | arg_env(
            link, PACKAGES_LOCK="", FEATURE_PACKAGES=packages, FEATURE_INDEX_URLS=urls),
            paths=stage)
        assert done.returncode == 0, done.stderr
        ((*install,),) = uv_calls(log)
        assert install[install.index("--only-binary") + 1] == ":all:"
        expected_index = [a for url in [torch_index, *indexes] for a in ("--extra-index-url", url)]
        assert install[8:] == expected_index + core + packages.split(), packages
    for bad in ({"FEATURE_PACKAGES": "x"}, {"FEATURE_PACKAGES": "x>=1"},
                {"FEATURE_PACKAGES": "==1"}, {"FEATURE_PACKAGES": "--index-url=https://e.example"},
                {"FEATURE_INDEX_URLS": "http://a.example/simple"},
                {"FEATURE_INDEX_URLS": "--index-url=https://e.example"}):
        log.unlink(missing_ok=True)
        done = run_in_shell(link, run, env | arg_env(link, PACKAGES_LOCK="", **bad), paths=stage)
        assert done.returncode != 0, f"{bad} must stop the build"
        assert "install-packages.sh: FEATURE_" in done.stderr, bad
        assert uv_calls(log) == [], bad


def test_the_shipped_feature_pins_are_what_a_lock_of_the_target_requires():
    """What the unlocked path installs for a target is what its lock is resolved from: the
    same pins and indexes (bakery.lockfile.spec), so locking a target never changes its set."""
    from bakery.lockfile.spec import lock_spec
    from bakery.project import load_plan

    loaded = load_plan(ROOT / "matrix.toml", use_git=False, env={})
    matrix, plan = loaded.matrix, loaded.plan
    for target in plan.targets:
        spec = lock_spec(matrix, target)
        pins = target.args["FEATURE_PACKAGES"].split()
        assert list(spec.requirements[len(spec.requirements) - len(pins):]) == pins, target.id
        urls = target.args["FEATURE_INDEX_URLS"].split()
        assert [u for u in spec.extra_index_urls if u in urls] == urls, target.id
    assert any(t.args["FEATURE_INDEX_URLS"] for t in plan.targets)


def test_the_gpu_dockerfile_installs_no_package():
    """Feature packages come from the lock, through the shared packages-* stages: a RUN on top
    of the final stage would depend on every layer below it and re-ship on any change."""
    gpu = load("images/base_edge_node_amd64_gpu/Dockerfile")
    assert [i.where() for st in gpu.stages for i in st.of("RUN")] == []
    finals = [load(SHARED).stage("edge-node-base"),
              *(st for image in IMAGES for st in load(f"images/{image}/Dockerfile").stages)]
    for stage in finals:
        for ins in stage.of("RUN"):
            assert "pip install" not in ins.value, ins.where()
            assert "install-packages" not in ins.value, ins.where()


@pytest.mark.parametrize("image", CPU_IMAGES)
def test_cpu_images_name_no_feature_and_get_no_gpu_only_pin(bake, image):
    """A GPU-only feature on a CPU image is refused by the matrix checks (tests/
    test_matrix_errors.py, "tensorrt-on-cpu"), so the CPU Dockerfiles hold no guard of their
    own: no feature arg, no package, and their pins hold no GPU-only package."""
    dockerfile = load(f"images/{image}/Dockerfile")
    assert set(dockerfile.declared_args(dockerfile.stages)) == {"EE_DD_DEFAULT"}
    assert [i.where() for st in dockerfile.stages for i in st.of("RUN")] == []
    matrix = load_matrix(ROOT / "matrix.toml")
    gpu_only = {name for f in matrix.features.values() if f.gpu_only for name in f.packages}
    assert gpu_only, "the shipped matrix has GPU-only features"
    for target in image_targets(bake, image).values():
        for link in all_links(target, bake):
            pins = link.args.get("FEATURE_PACKAGES", "").split()
            assert not {p.split("==")[0] for p in pins} & gpu_only, (image, pins)


# --------------------------------------------------------------------------- runtime config


def test_entrypoint_cmd_and_dind_defaults_of_every_image(bake):
    for _image, name, target in all_image_targets(bake):
        _, links = chain(target, bake)
        config = effective_config(links)
        # an init as PID 1 (signals forwarded, zombies reaped), then the entrypoint
        assert config["entrypoint"] == [INIT, "--", ENTRYPOINT], name
        # no CMD: without a command the entrypoint runs dockerd (EE_DD on) or a shell
        assert config["cmd"] is None, name
        assert config["env"].get("DOCKER_TLS_CERTDIR") == "/certs", name
        assert config["env"].get("EE_DD") == "${EE_DD_DEFAULT}", name
        # derived images get the default shell back
        assert config["shell"] in (None, list(DEFAULT_SHELL)), name
        copies = [
            i for lk in links for i in lk.stage.of("COPY")
            if i.copy_from() is None and i.split()[1].split() == ["entrypoint.sh", ENTRYPOINT]
        ]
        assert len(copies) == 1, f"{name}: entrypoint.sh must be copied once, unchanged"
        assert target["args"]["EE_DD_DEFAULT"] in ("false", "true")


def test_ee_dd_default_is_false_and_set_last_so_the_dind_variant_shares_every_layer():
    for image in IMAGES:
        dockerfile = load(f"images/{image}/Dockerfile")
        *_, arg, env = dockerfile.instructions()
        assert (arg.kind, arg.value) == ("ARG", "EE_DD_DEFAULT=false"), arg.where()
        assert (env.kind, env.value) == ("ENV", "EE_DD=${EE_DD_DEFAULT}"), env.where()
    for path in dockerfiles():
        text = load(path).text
        uses = [line for line in text.splitlines()
                if "EE_DD" in line and not line.lstrip().startswith("#")]
        if path == SHARED:
            assert uses == [], f"{path} must not depend on EE_DD: {uses}"
        else:
            assert len(uses) == 2, f"{path}: EE_DD only in its last two lines: {uses}"


def test_dind_variant_is_derived_from_its_image_and_changes_only_config(bake):
    """Each DinD variant is built FROM its image's own target (the named context `image`) with
    images/shared/Dockerfile.dind, which has no instruction that adds a layer."""
    variants = {n: t for n, t in bake.items()
                if t.get("dockerfile") == "images/shared/Dockerfile.dind"}
    assert len(variants) >= len(IMAGES)
    for name, target in variants.items():
        parent_ref = target["contexts"]["image"]
        assert parent_ref.startswith("target:"), name
        parent = bake[parent_ref.removeprefix("target:")]
        assert parent["args"]["EE_DD_DEFAULT"] == "false", name
        assert target["args"] == {"EE_DD_DEFAULT": "true"}, name
        assert target["platforms"] == parent["platforms"], name
    text = (ROOT / "images" / "shared" / "Dockerfile.dind").read_text()
    instructions = [line.split()[0].upper() for line in text.splitlines()
                    if line.strip() and not line.lstrip().startswith("#")]
    assert set(instructions) <= {"ARG", "FROM", "ENV", "LABEL"}, instructions


def test_apt_lists_and_build_tools_stay_out_of_the_images(bake):
    for _image, _name, target in all_image_targets(bake):
        _, links = chain(target, bake)
        for link in links:
            for ins in link.stage.of("RUN"):
                text = ins.split()[1]
                if "apt-get install" in text:
                    assert "rm -rf /var/lib/apt/lists/*" in text, ins.where()
                assert not re.search(r"\bbuild-essential\b|\S+-dev\b", text), ins.where()
            for ins in link.stage.of("COPY"):
                if ins.copy_from():
                    sources = ins.split()[1].split()[:-1]
                    assert "/" not in sources, f"{ins.where()} copies a whole stage"
    runtime = script_lines(ROOT / "images/shared/runtime.packages")
    assert not [p for p in runtime if p.endswith("-dev") or p in {"build-essential", "gcc"}]


def test_package_pins_do_not_reach_the_python_or_ffmpeg_builders():
    # A changed package list must not rebuild the interpreter or ffmpeg.
    shared = load(SHARED)
    for stage_name in ("python", "ffmpeg"):
        closure = shared.closure(stage_name)
        assert "python-packages" not in [s.name for s in closure]
        pins = [a for s in closure for a in s.args() if PACKAGE_PINS.match(a)]
        assert pins == [], f"stage {stage_name} depends on {pins}"


# --------------------------------------------------------------------------- downloads


FINGERPRINTS = re.compile(r"^[0-9A-F]{40}( [0-9A-F]{40})*$")


def _output_file(command: list[str]) -> str | None:
    for flag in ("-o", "--output"):
        if flag in command:
            return command[command.index(flag) + 1]
    return None


def download_checks(text: str, declared: dict[str, str | None]) -> list[tuple[str, str]]:
    """(downloaded file, how it is checked or 'UNCHECKED') for every download of a RUN line.

    A file is checked when a `sha256sum -c` reads a line naming it (the command right before
    it in the pipeline names the file), or when `gpgv --keyring K` verifies it against a keyring
    exported from build args holding pinned fingerprints only."""
    commands = simple_commands(text)
    found = []
    for number, command in enumerate(commands):
        if command[:1] not in (["curl"], ["wget"]):
            continue
        target = _output_file(command)
        if target is None:
            # only an index read by jq (it selects a file, which is checked by its own sha256)
            assert commands[number + 1][:1] == ["jq"], f"a download to stdout: {command}"
            continue
        how = "UNCHECKED"
        for before, after in itertools.pairwise(commands):
            if after[:1] == ["sha256sum"] and "-c" in after and any(target in w for w in before):
                how = "sha256"
        for gpgv in (c for c in commands if c[:1] == ["gpgv"]):
            if target in gpgv and "--keyring" in gpgv:
                keyring = gpgv[gpgv.index("--keyring") + 1]
                exports = [c for c in commands if c[:3] == ["gpg", "--batch", "--export"]]
                keys = [w for c in exports for w in c[3:] if not w.startswith((">", "<"))]
                pinned = [re.fullmatch(r"\$\{(\w+)\}", w) for w in keys]
                if keys and all(m and FINGERPRINTS.match(declared.get(m[1]) or "")
                                for m in pinned) and keyring in text:
                    how = "pinned signing keys"
        found.append((target, how))
    return found


def test_every_download_is_checked_by_sha256_or_a_pinned_signing_key():
    downloads = []
    scripts_with_downloads = set()
    for path in dockerfiles():
        dockerfile = load(path)
        for stage in dockerfile.stages:
            declared = dockerfile.declared_args([stage])
            for ins in stage.of("RUN"):
                text = ins.split()[1]
                for c in simple_commands(text):
                    if c[:1] in (["curl"], ["wget"]):
                        assert "--proto" in c and "=https" in c[c.index("--proto") + 1], (
                            f"{ins.where()}: download not restricted to https: {' '.join(c)}")
                downloads += [(ins.where(), f, how) for f, how in download_checks(text, declared)]
    for where, text in run_commands():
        if where.endswith(".sh") and any(c[:1] in (["curl"], ["wget"])
                                         for c in simple_commands(text)):
            scripts_with_downloads.add(where)
    unchecked = [d for d in downloads if d[2] == "UNCHECKED"]
    assert not unchecked, unchecked
    # uv, ffmpeg, Node's signed sums and tarball, npm, ngrok: every one is seen and checked
    assert {how for _w, _f, how in downloads} == {"sha256", "pinned signing keys"}
    assert len(downloads) == 6, downloads
    assert any(f == "/tmp/ngrok.zip" and how == "sha256" for _w, f, how in downloads)
    # apt repository keys: the one script that downloads; its fingerprint check is tested below
    assert scripts_with_downloads == {"images/shared/apt-repo.sh"}
    for where, text in run_commands():
        assert not re.search(r"apt-key|trusted=yes|allow-unauthenticated|--insecure|-k\b", text), (
            where
        )


def test_every_apt_repository_is_added_with_a_pinned_fingerprint():
    calls = []
    for path in dockerfiles():
        dockerfile = load(path)
        for stage in dockerfile.stages:
            declared = dockerfile.declared_args([stage])
            for ins in stage.of("RUN"):
                for c in simple_commands(ins.split()[1]):
                    if c[:2] == ["sh", "/usr/local/bin/apt-repo"]:
                        arg = re.fullmatch(r"\$\{(\w+)\}", c[4])
                        assert arg, f"{ins.where()}: fingerprint is not a build arg: {c[4]}"
                        assert FINGERPRINTS.match(declared.get(arg[1]) or ""), (
                            f"{ins.where()}: {arg[1]} holds no pinned fingerprint")
                        calls.append(c[2])
    assert calls == ["docker"]


@pytest.fixture
def signing_keys(tmp_path: Path, allow_subprocess: None
                 ) -> Iterator[tuple[dict[str, str], list[str]]]:
    gpg = shutil.which("gpg")
    if gpg is None:
        pytest.skip("gpg is not installed (apt-get install gnupg)")
    # key generation starts a gpg-agent: gnupg_home stops it when the test is done
    with gnupg_home(tmp_path / "gnupg") as env:
        yield _make_keys(gpg, env, tmp_path)


def _make_keys(gpg: str, env: dict[str, str], tmp_path: Path
               ) -> tuple[dict[str, str], list[str]]:
    for n in (1, 2):
        subprocess.run(
            [gpg, "--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase", "",
             "--quick-gen-key",
             f"test key {n} <key{n}@example.invalid>", "ed25519", "sign", "never"],
            env=env, check=True, capture_output=True, timeout=60,
        )
    listing = subprocess.run([gpg, "--batch", "--with-colons", "--list-keys"], env=env,
                             check=True, capture_output=True, text=True).stdout
    fingerprints = re.findall(r"^pub:.*\nfpr:+([0-9A-F]{40}):", listing, re.M)
    assert len(fingerprints) == 2
    files = {}
    for fpr, label in zip(fingerprints, ("one", "other"), strict=True):
        out = tmp_path / f"{label}.asc"
        out.write_bytes(subprocess.run([gpg, "--batch", "--armor", "--export", fpr], env=env,
                                       check=True, capture_output=True).stdout)
        files[label] = f"file://{out}"
    both = tmp_path / "both.asc"
    both.write_text((tmp_path / "one.asc").read_text() + (tmp_path / "other.asc").read_text())
    files["both"] = f"file://{both}"
    return files, fingerprints


def test_apt_repository_keys_are_checked_against_their_pinned_fingerprints(
    tmp_path, signing_keys
):
    keys, (one, other) = signing_keys
    script = ROOT / "images/shared/apt-repo.sh"

    def add(key: str, fingerprints: str, out: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["sh", str(script), "example", keys[key], fingerprints, "https://apt.example.invalid",
             "noble", "stable", str(tmp_path / out)],
            capture_output=True, text=True, timeout=60, check=False,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)},
        )

    done = add("one", one.lower(), "good")
    assert done.returncode == 0, done.stderr
    source = (tmp_path / "good/sources/example.sources").read_text()
    assert "Signed-By: /etc/apt/keyrings/example.asc" in source
    assert (tmp_path / "good/keyrings/example.asc").read_text() == Path(
        keys["one"].removeprefix("file://")
    ).read_text()
    assert add("other", one, "wrong").returncode != 0, "a different key must be refused"
    assert add("both", one, "extra").returncode != 0, "an extra key must be refused"
    assert add("both", f"{one} {other}", "pair").returncode == 0
    unpinned = add("one", " ", "unpinned")
    assert unpinned.returncode == 2 and "no signing key fingerprint" in unpinned.stderr
    for refused in ("wrong", "extra", "unpinned"):
        assert not (tmp_path / refused).exists(), refused


def test_apt_pin_selects_the_exact_upstream_version_or_fails(tmp_path, allow_subprocess):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "apt-cache"
    fake.write_text(
        "#!/bin/sh\n"
        "cat <<'EOF'\n"
        " docker-ce | 5:28.5.20-1~ubuntu.24.04~noble | https://download.docker.com stable\n"
        " docker-ce | 5:28.5.2-1~ubuntu.24.04~noble | https://download.docker.com stable\n"
        " docker-ce | 5:28.5.1-1~ubuntu.24.04~noble | https://download.docker.com stable\n"
        "EOF\n"
    )
    fake.chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
    script = str(ROOT / "images/shared/apt-pin.sh")

    def pin(version: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["sh", script, "docker-ce", version], env=env, capture_output=True,
                              text=True, timeout=30, check=False)

    assert pin("28.5.2").stdout.strip() == "docker-ce=5:28.5.2-1~ubuntu.24.04~noble"
    assert pin("28.5.20").stdout.strip() == "docker-ce=5:28.5.20-1~ubuntu.24.04~noble"
    for missing in ("28.5", "28.5.3", ""):
        done = pin(missing)
        assert done.returncode != 0 and done.stdout == "", missing


# --------------------------------------------------------------------------- ffmpeg


def profile(name: str, kind: str) -> set[str]:
    return set(script_lines(ROOT / f"images/shared/ffmpeg/{name}.{kind}"))


def test_ffmpeg_profiles_slim_is_a_lighter_subset_of_full_with_matching_dev_packages():
    for kind in ("build-deps", "configure"):
        assert profile("slim", kind) < profile("full", kind), kind
    for heavy in ("--enable-libx265", "--enable-libaom", "--enable-libvpx"):
        assert heavy in profile("full", "configure") and heavy not in profile("slim", "configure")
    dev = {"gnutls": "libgnutls28-dev", "libfreetype": "libfreetype-dev"}
    for name in ("full", "slim"):
        for switch in profile(name, "configure"):
            lib = switch.removeprefix("--enable-")
            assert dev.get(lib, f"{lib}-dev") in profile(name, "build-deps"), (name, switch)


def test_arm64_image_gets_the_slim_ffmpeg_and_amd64_the_full(bake):
    for image, name, target in all_image_targets(bake):
        expected = "slim" if "_arm64_" in image else "full"
        assert target["args"]["FFMPEG_PROFILE"] == expected, name


def test_ffmpeg_build_refuses_an_unknown_profile(allow_subprocess):
    done = subprocess.run(
        ["sh", str(ROOT / "images/shared/ffmpeg/build.sh"), "install-deps", "tiny"],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert done.returncode != 0 and "unknown FFMPEG_PROFILE" in done.stderr


# --------------------------------------------------------------------------- context and lint


def test_build_context_sources_exist_and_are_not_dockerignored():
    sources = set()
    for path in dockerfiles():
        for ins in load(path).instructions():
            if ins.kind in ("COPY", "ADD") and ins.copy_from() is None:
                sources.update(ins.split()[1].split()[:-1])
            # a build-arg source is checked at its default (the package lock: its directory)
            sources.update(re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", m["source"])
                           for m in ins.mounts() if m.get("type") == "bind" and "from" not in m)
    assert "entrypoint.sh" in sources
    for source in sorted(sources):
        assert (ROOT / source).exists(), f"{source} is used by a Dockerfile but missing"
        files = [ROOT / source] if (ROOT / source).is_file() else (ROOT / source).rglob("*")
        for file in files:
            relative = str(file.relative_to(ROOT))
            assert not ignored_by_dockerignore(relative), f".dockerignore hides {relative}"


def test_hadolint_finds_nothing(allow_subprocess):
    hadolint = Path(sys.executable).parent / "hadolint"
    files = dockerfiles()
    assert len(files) == len(IMAGES) + 1, files
    done = subprocess.run([str(hadolint), "--no-color", *files], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0 and done.stdout.strip() == "", done.stdout + done.stderr


def test_shell_scripts_are_posix_sh_and_shellcheck_clean(allow_subprocess):
    scripts = shell_scripts()
    assert scripts
    for script in scripts:
        assert script.read_text().startswith("#!/bin/sh\n"), f"{script}: not POSIX sh"
    shellcheck = Path(sys.executable).parent / "shellcheck"
    done = subprocess.run([str(shellcheck), "--shell=sh", *map(str, scripts)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_docs_show_a_derived_image_adding_a_compiler_hadolint_clean(
    tmp_path: Path, allow_subprocess: None,
) -> None:
    """The images ship no C compiler (docs/running.md says why); its way to add one is a valid,
    lint-clean Dockerfile on top of an image."""
    running = (ROOT / "docs" / "running.md").read_text()
    section = running[running.index("## A C compiler"):]
    block = re.search(r"```dockerfile\n(.*?)```", section, re.S)
    assert block is not None
    text = block.group(1)
    assert text.startswith("FROM ratio1/base_edge_node_") and "gcc" in text
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(text.replace("<tag>", "1.0.0"))
    hadolint = Path(sys.executable).parent / "hadolint"
    done = subprocess.run([str(hadolint), "--no-color", "--ignore", "DL3008", str(dockerfile)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    # and no image installs one itself
    for path in dockerfiles():
        assert not re.search(r"\b(gcc|g\+\+|build-essential)\b", load(path).text.split(
            "FROM ${BASE_IMAGE} AS edge-node-base")[-1]), path


# --------------------------------------------------------------------------- image details


def test_every_tar_extraction_drops_the_archive_owner():
    """Node's tarball records its builder's uid 1001: extracted as root without
    --no-same-owner, the image's node and npm files would belong to that uid."""
    extractions = []
    for where, text in run_commands():
        for words in simple_commands(text):
            if words and words[0] == "tar" and any(re.match(r"^-[a-zA-Z]*x", w) for w in words):
                extractions.append(where)
                assert "--no-same-owner" in words, f"{where}: {' '.join(words)}"
    node = [w for w in extractions if "(node)" in w]
    assert len(node) == 2, extractions  # Node's tarball and npm's


def test_uv_leftovers_never_reach_the_image(bake, tmp_path, allow_subprocess):
    """uv leaves its lock file (mode 0777) and a temporary directory in the prefix it installs
    to: neither the interpreter's /opt nor a package layer carries them."""
    shared = load(SHARED)
    (python_run,) = shared.stage("python").of("RUN")
    assert "rm -rf /opt/uv-python/.lock /opt/uv-python/.temp" in python_run.value
    # the package layers: a uv that leaves both behind, as the real one does
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "uv").write_text(
        "#!/bin/sh\n"
        'while [ "$#" -gt 0 ]; do\n'
        '  if [ "$1" = --prefix ]; then mkdir -p "$2/.temp/x" && : >"$2/.lock"'
        ' && chmod 0777 "$2/.lock"; fi\n'
        "  shift\n"
        "done\n"
    )
    (bin_dir / "uv").chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path), "TMPDIR": str(tmp_path)}
    target = next(t for _i, _n, t in all_image_targets(bake) if t["args"]["PACKAGES_LOCK"])
    for stage_name in LAYER_STAGES:
        link = link_for(all_links(target, bake), stage_name)
        stage = tmp_path / stage_name
        done = run_in_shell(link, layer_run(link), env | arg_env(link),
                            paths={"/stage": str(stage)})
        assert done.returncode == 0, done.stderr
        assert [p for p in stage.rglob("*") if p.name in (".lock", ".temp")] == []


def test_dockers_packages_are_each_pinned_by_a_build_arg_from_the_matrix(bake):
    """containerd.io moves under a pinned engine unless it is pinned too; the buildx and compose
    plugins make `docker build` inside DinD BuildKit, not the deprecated legacy builder."""
    (run,) = [i for i in load(SHARED).stage("edge-node-base").of("RUN") if "apt-pin" in i.value]
    pinned = {words[2]: words[3] for words in simple_commands(run.split()[1])
              if words[:2] == ["sh", "/tmp/apt-pin.sh"]}
    assert pinned == {
        "docker-ce": "${DOCKER_VERSION}", "docker-ce-cli": "${DOCKER_VERSION}",
        "containerd.io": "${CONTAINERD_VERSION}", "docker-buildx-plugin": "${BUILDX_VERSION}",
        "docker-compose-plugin": "${COMPOSE_VERSION}",
    }
    runtime = script_lines(ROOT / "images/shared/runtime.packages")
    assert not set(pinned) & set(runtime), "a pinned package is also in the unpinned list"
    matrix = load_matrix(ROOT / "matrix.toml")
    for _image, _name, target in all_image_targets(bake):
        for name in ("docker", "containerd", "buildx", "compose"):
            assert target["args"][f"{name.upper()}_VERSION"] == matrix.versions[name]
    checks = (ROOT / "images/shared/check-versions.sh").read_text()
    for probe in ("containerd --version", "docker buildx version", "docker compose version"):
        assert probe in checks, probe


def test_every_image_has_time_zones():
    assert "tzdata" in script_lines(ROOT / "images/shared/runtime.packages")
    assert "/usr/share/zoneinfo/" in (ROOT / "images/shared/check-versions.sh").read_text()


def test_every_build_runs_the_frontend_the_dockerfiles_name_pinned_once_locked(bake):
    """The `# syntax=` line of every Dockerfile names matrix.toml's frontend; once `bakery lock`
    pinned it by digest every build gets it as BUILDKIT_SYNTAX (tests/lockfile/test_base.py),
    which BuildKit takes in place of the line. Unpinned, no build is given another."""
    matrix = load_matrix(ROOT / "matrix.toml")
    for path in dockerfiles():
        first = (ROOT / path).read_text().splitlines()[0]
        assert first == f"# syntax={matrix.frontend}", path
    built = 0
    for name, target in bake.items():
        if target.get("dockerfile") in dockerfiles():
            pinned = target["args"].get("BUILDKIT_SYNTAX")
            assert pinned is None or pinned.split("@")[0] == matrix.frontend, name
            built += 1
    assert built >= 2 * len(IMAGES)  # every image target and its shared stage


def test_no_dockerfile_or_script_names_a_feature():
    """A feature is data (matrix.toml): its packages, module and flag reach the images through
    FEATURE_PACKAGES alone, so no instruction or command line names one."""
    from bakery.plan.values import arg_name

    matrix = load_matrix(ROOT / "matrix.toml")
    names = {word for flag, f in matrix.features.items()
             for word in (*f.packages, f.import_name, flag, arg_name(flag))}
    files = sorted({*(ROOT / "images").rglob("Dockerfile*"), *(ROOT / "images").rglob("*.sh")})
    assert len(files) > 5
    for path in files:
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            code = line.strip()
            if code.startswith("#"):
                continue
            found = {n for n in names if re.search(rf"(?<![\w.-]){re.escape(n)}(?![\w-])", code)}
            assert not found, f"{path}:{number} names the feature {sorted(found)}: {line}"
