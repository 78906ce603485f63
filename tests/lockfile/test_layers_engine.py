"""The image's package layers on a real engine: the install steps of images/shared/Dockerfile
(its packages-* stages and the final stage's COPY lines, taken from the file itself), built
with BuildKit from two locks of the loopback wheel index that differ only in the last group,
keep the interpreter, CUDA and torch layers (same diff IDs) and change the last one; the update
cost of the second image over the first, read from a loopback registry, is exactly that
layer's compressed size.

What this engine cannot show: it is Debian's docker.io 20.10 (BuildKit 0.8, the Dockerfile
frontend built in, no buildx, nothing can be pulled), so the test build drops `--link` (a
Dockerfile 1.4 feature) and writes the lock directory into the mount sources (this frontend
does not expand build args there). The interpreter stage is a stand-in (Debian's python3 in a
venv at /opt/uv-python/standin, /opt/python linking to it: `uv python install` needs GitHub),
and `uv pip install` is told to install for the locked python (3.13) and platform.

The second test keeps the real file's `COPY --link` lines (BuildKit 0.10 and later, Docker 23+
with buildx) and adds the entrypoint's COPY: a feature flag (TensorRT's stand-ins) moves only
the layers its packages are in, and a new entrypoint moves no package layer.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tarfile
import uuid
from pathlib import Path

import pytest

from bakery.registry.cost import update_cost
from bakery.registry.read import Layer, http_reader, platform_image
from tests.engine.images import buildkit_build, buildkit_cli, docker
from tests.engine.standin import standin_rootfs
from tests.lockfile.conftest import Project
from tests.lockfile.test_lock import lock
from tests.support.repo import ROOT

pytestmark = pytest.mark.engine

SHARED = ROOT / "images" / "shared" / "Dockerfile"
KEY = "edge_amd-py313"
LAYER_STAGES = ("packages-cuda", "packages-torch", "packages-rest")

UV_SHIM = """#!/bin/sh
# the stand-in interpreter is Debian's python 3.11: install what the lock holds for 3.13
if [ "$1 $2" = "pip install" ]; then
    shift 2
    exec /usr/local/bin/uv-real pip install --python-version 3.13 \\
        --python-platform x86_64-manylinux_2_39 "$@"
fi
exec /usr/local/bin/uv-real "$@"
"""

PYTHON_STANDIN = """FROM {rootfs} AS python
COPY uv /usr/local/bin/uv-real
COPY uv-shim /usr/local/bin/uv
RUN chmod 0755 /usr/local/bin/uv /usr/local/bin/uv-real \\
 && python3 -m venv --without-pip /opt/uv-python/standin \\
 && ln -s uv-python/standin /opt/python
ENV PATH=/opt/python/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    UV_PYTHON=/opt/python/bin/python3 \\
    UV_PYTHON_DOWNLOADS=never \\
    UV_LINK_MODE=copy \\
    UV_NO_CONFIG=1
"""


def image_layers(reference: str, platform: str) -> tuple[Layer, ...]:
    with http_reader(reference) as reader:
        return platform_image(reader, platform).layers


def install_steps(lock_dir: str, *, entrypoint: bool = False, link: bool = False) -> str:
    """The packages-* stages and the final stage's COPY lines of the real Dockerfile, for
    this engine: no --link, the lock directory written into the mount sources; with
    `entrypoint`, the final stage's COPY of entrypoint.sh too (a layer after the packages);
    with `link`, the COPY lines keep `--link`, as the real file has them (BuildKit 0.10+)."""
    text = SHARED.read_text()
    start = text.index(f"FROM python AS {LAYER_STAGES[0]}")
    end = text.index("# ------", start)
    stages = text[start:end]
    copies = [line for line in text[end:].splitlines()
              if re.match(r"COPY --link --from=(python|packages-\w+) ", line)]
    assert len(copies) == 1 + len(LAYER_STAGES), copies
    if entrypoint:
        copies += [line for line in text[end:].splitlines()
                   if re.match(r"COPY --link (--chmod=\S+ )?entrypoint\.sh ", line)]
        assert len(copies) == 2 + len(LAYER_STAGES), copies
    final = "\n".join(copies)
    for name in LAYER_STAGES:
        assert f"FROM python AS {name}" in stages, name
    body = f"{stages}\nFROM {{rootfs}} AS edge-node-base\n{final}\n"
    body = body.replace("${PACKAGES_LOCK:-images/shared/unlocked}", lock_dir)
    assert "${" not in "".join(re.findall(r"--mount=\S+", body)), "an unexpanded mount source"
    return body if link else body.replace("COPY --link ", "COPY ")


def build_context(root: Path, project: Project, python_extra: str = "",
                  entrypoint: str | None = None) -> Path:
    context = root / "context"
    shutil.rmtree(context, ignore_errors=True)
    (context / "images" / "shared").mkdir(parents=True)
    shutil.copy(ROOT / "images" / "shared" / "install-packages.sh", context / "images/shared")
    shutil.copytree(ROOT / "images" / "shared" / "unlocked", context / "images/shared/unlocked")
    shutil.copytree(project.locks, context / "locks")
    uv = Path(sys.executable).parent / "uv"
    shutil.copy(uv, context / "uv")
    (context / "uv-shim").write_text(UV_SHIM)
    rootfs = standin_rootfs()
    if entrypoint is not None:
        (context / "entrypoint.sh").write_text(entrypoint)
    dockerfile = PYTHON_STANDIN + python_extra + "\n" + install_steps(
        f"locks/{KEY}", entrypoint=entrypoint is not None, link=entrypoint is not None)
    (context / "Dockerfile").write_text(dockerfile.replace("{rootfs}", rootfs))
    return context


def step_cached(log: str, title: str) -> bool:
    """Whether the build step whose title matches `title` was taken from the cache (BuildKit's
    plain progress: `#7 [stage 1/1] RUN ...`, later `#7 CACHED`)."""
    found = re.search(rf"^#(\d+) {title}", log, re.MULTILINE)
    assert found, f"no step {title!r} in the build log"
    return re.search(rf"^#{found[1]} CACHED$", log, re.MULTILINE) is not None


def diff_ids(ref: str) -> list[str]:
    out = docker("image", "inspect", "--format", "{{json .RootFS.Layers}}", ref).stdout
    return list(json.loads(out))


def layer_paths(ref: str, tmp: Path) -> dict[str, set[str]]:
    """{diff ID: the paths in that layer} of the image's last layers (from `docker save`)."""
    archive = tmp / f"{uuid.uuid4().hex}.tar"
    docker("image", "save", "-o", str(archive), ref, timeout=300)
    out: dict[str, set[str]] = {}
    with tarfile.open(archive) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))  # type: ignore[arg-type]
        config = json.load(outer.extractfile(manifest[0]["Config"]))  # type: ignore[arg-type]
        ids = config["rootfs"]["diff_ids"]
        for diff_id, name in list(zip(ids, manifest[0]["Layers"], strict=True))[1:]:
            with tarfile.open(fileobj=outer.extractfile(name)) as layer:
                out[diff_id] = {m.name for m in layer.getmembers()}
    archive.unlink()
    return out


def packages_in(paths: set[str]) -> set[str]:
    return {m[1] for p in paths if (m := re.search(r"site-packages/([^/]+)-[^/-]+\.dist-info$",
                                                   p))}


def test_a_new_rest_group_changes_only_the_last_layer_and_costs_exactly_it(
    capsys, project, tmp_path, registry
):
    cli = buildkit_cli()
    if cli is None:
        pytest.skip("no docker CLI here runs BuildKit without buildx (a 20.10 client does)")
    assert lock(capsys, project, "--target", KEY).code == 0
    tag = uuid.uuid4().hex[:12]
    first, second = f"bakery-test-layers:{tag}-1", f"bakery-test-layers:{tag}-2"
    build_args = ["--network", "host", "--build-arg", f"PACKAGES_LOCK=locks/{KEY}"]
    try:
        buildkit_build(cli, build_context(tmp_path, project), first, *build_args)

        # a newer numpy, allowed for this package only: the rest group's file moves alone
        project.index.publish("numpy", "1.1")
        before = project.snapshot()
        assert lock(capsys, project, "--target", KEY, "--upgrade-package", "numpy").code == 0
        after = project.snapshot()
        moved = sorted(k for k in after if after[k] != before.get(k))
        assert moved == [f"locks/{KEY}/3-rest.txt", "locks/manifest.json"]
        buildkit_build(cli, build_context(tmp_path, project), second, *build_args)

        one, two = diff_ids(first), diff_ids(second)
        assert len(one) == len(two) == 1 + 1 + len(LAYER_STAGES)  # rootfs, python, 3 groups
        # the rootfs, the interpreter, the CUDA and the torch layers: the same bytes
        assert one[:-1] == two[:-1]
        assert one[-1] != two[-1]
        paths_one = layer_paths(first, tmp_path)
        paths_two = layer_paths(second, tmp_path)
        interpreter, cuda, torch, rest = (paths_one[d] for d in one[1:])
        assert "opt/python" in interpreter and not packages_in(interpreter)
        assert packages_in(cuda) == {"nvidia_cublas_cu12"}
        assert packages_in(torch) == {"torch", "torchvision", "torchaudio", "triton"}
        assert packages_in(rest) == {"transformers", "tokenizers", "numpy", "x86_helper"}
        assert packages_in(paths_two[two[-1]]) == packages_in(rest)
        for ref, version in ((first, "1.0"), (second, "1.1")):
            done = docker("run", "--rm", "--entrypoint", "/opt/python/bin/python3", ref, "-c",
                          "import numpy, torch; print(numpy.VERSION, torch.VERSION)")
            assert done.stdout.split() == [version, "2.9.1"], ref

        # the builder stages rebuilt from scratch (as a new uv or base image makes them), the
        # same packages installed again: BuildKit keys a COPY by the content it copies, not by
        # the stage that made it or the files' times, so every layer keeps its bytes
        third = f"bakery-test-layers:{tag}-3"
        rebuilt = "RUN echo 'the builder changed' >/etc/bakery-builder\n"
        log = buildkit_build(cli, build_context(tmp_path, project, rebuilt), third, *build_args)
        for stage in LAYER_STAGES:
            assert not step_cached(log, rf"\[{stage} \d+/\d+\] RUN "), f"{stage} did not run"
        assert step_cached(log, r"\[edge-node-base \d+/\d+\] COPY --from=packages-cuda ")
        assert diff_ids(third) == two
        docker("image", "rm", "--force", third, check=False)

        # the update cost of the second over the first: exactly the new last layer
        released, _ = registry.push(first, "layers/edge", "released")
        candidate, _ = registry.push(second, "layers/edge", "candidate")
        layers_one = image_layers(released, "linux/amd64")
        layers_two = image_layers(candidate, "linux/amd64")
        assert [x.digest for x in layers_one[:-1]] == [x.digest for x in layers_two[:-1]]
        cost = update_cost(http_reader, candidate, released, "linux/amd64")
        assert cost.new_layers == (layers_two[-1],)
        assert cost.download == layers_two[-1].size + cost.config  # and the new config
        assert cost.total == cost.config + sum(x.size for x in layers_two)
    finally:
        docker("image", "rm", "--force", first, second, check=False)


TRT_FEATURE = """
[features.trt]
package = "tensorrt-cu12-bindings"
version = "10.13.3.9"
also = ["tensorrt-cu12-libs"]
layers = { cuda = ["tensorrt-*-libs"] }

"""


def test_the_entrypoint_moves_no_package_layer_and_a_flag_moves_only_its_own(
    capsys, project, tmp_path
):
    """A feature is locked like any package: TensorRT's native libraries land in the CUDA
    layer and its bindings in the last one, so turning it on moves exactly those two layers;
    a new entrypoint (a layer after the packages) moves no package layer. The real file's
    `COPY --link` lines, as BuildKit 0.10 and later run them: each layer keyed by what it
    copies, never by the layers under it."""
    cli = buildkit_cli()
    if cli is None:
        pytest.skip("no docker CLI here runs BuildKit")
    project.index.publish("tensorrt-cu12-bindings", "10.13.3.9",
                          requires=("tensorrt-cu12-libs==10.13.3.9",))
    project.index.publish("tensorrt-cu12-libs", "10.13.3.9", "py3-none-manylinux_2_28_x86_64")

    def write(trt: str) -> None:
        project.write()
        text = project.matrix.read_text().replace("[release]", TRT_FEATURE + "[release]", 1)
        text = text.replace('features = { extra = "off" }',
                            f'features = {{ extra = "off", trt = "{trt}" }}', 1)  # edge_amd
        project.matrix.write_text(text)

    entrypoint = (ROOT / "entrypoint.sh").read_text()
    tag = uuid.uuid4().hex[:12]
    refs = [f"bakery-test-layers:{tag}-{n}" for n in ("off", "on", "entrypoint")]
    build_args = ["--network", "host", "--build-arg", f"PACKAGES_LOCK=locks/{KEY}"]
    try:
        write("off")
        assert lock(capsys, project, "--target", KEY).code == 0
        buildkit_build(cli, build_context(tmp_path, project, entrypoint=entrypoint), refs[0],
                       *build_args)
        before = project.snapshot()
        write("on")
        assert lock(capsys, project, "--target", KEY).code == 0
        after = project.snapshot()
        moved = sorted(k for k in after if after[k] != before.get(k))
        assert moved == [f"locks/{KEY}/1-cuda.txt", f"locks/{KEY}/3-rest.txt",
                         "locks/manifest.json"]
        buildkit_build(cli, build_context(tmp_path, project, entrypoint=entrypoint), refs[1],
                       *build_args)
        changed = entrypoint.replace("me=entrypoint.sh", "me=entrypoint.sh  # a new entrypoint")
        assert changed != entrypoint
        buildkit_build(cli, build_context(tmp_path, project, entrypoint=changed), refs[2],
                       *build_args)

        off, on, new_entrypoint = (diff_ids(ref) for ref in refs)
        # rootfs, interpreter, CUDA, torch, rest, entrypoint
        assert len(off) == len(on) == len(new_entrypoint) == 2 + len(LAYER_STAGES) + 1
        _rootfs, _python, cuda, torch, rest, script = range(6)
        packages = range(script)  # the base, the interpreter and the three package layers
        # the flag: of them, the CUDA and the last package layer move, nothing else. (The
        # entrypoint's few-KB layer after them is copied again with this build's file times:
        # BuildKit reruns a `--link` copy of a context file here.)
        assert [i for i in packages if off[i] != on[i]] == [cuda, rest]
        paths = layer_paths(refs[1], tmp_path)
        assert "tensorrt_cu12_libs" in packages_in(paths[on[cuda]])
        assert "tensorrt_cu12_bindings" in packages_in(paths[on[rest]])
        assert not {"tensorrt_cu12_libs", "tensorrt_cu12_bindings"} & packages_in(
            paths[on[torch]])
        # the entrypoint: its own layer moves, every package layer keeps its digest
        assert [i for i in packages if on[i] != new_entrypoint[i]] == []
        assert on[script] != new_entrypoint[script]
    finally:
        docker("image", "rm", "--force", *refs, check=False)
