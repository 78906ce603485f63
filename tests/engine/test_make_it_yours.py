"""README's "Make it yours", followed as written on the real toolchain: the namespace the
README sets (`localhost:5000/me`), a loopback docker-registry on that port, the engine's own
builder (the containerd image store, so bakery proposes no other), then every command of the
README's path in order: `lock --base-only`, `plan`, `bake --push`, `verify`, `release`.

The shipped images cannot be built here (their upstreams are unreachable), so the project is a
stand-in with the README's namespace: one arm64 image (alias `arm64`, as the README's target)
and its DinD variant, `FROM` an arm64 stand-in image that holds the pins of its plan, built and
run emulated, with legacy and compatibility names written `{namespace}/...` as the shipped
matrix writes them. Its base image is a small image in the same registry, so `bakery lock
--base-only` pins it for real; the package locks are stand-ins (no index is reachable).
Afterwards every repository in the registry is under the namespace, and the plan named nothing
outside it.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.engine.images import build_scratch_image, docker
from tests.engine.standin import DEBIAN_DOCKER, MATCHING_TOOLS, StandIn, build_standin
from tests.support.engine import Engine
from tests.support.locked import write_locks
from tests.support.registry import running_registry
from tests.support.repo import ROOT

pytestmark = pytest.mark.engine

SHA = "0123456789abcdef0123456789abcdef01234567"
ARM_PACKAGES = {"torch": "2.9.1", "torchvision": "0.24.1", "torchaudio": "2.9.1",
                "transformers": "4.57.1", "tokenizers": "0.22.1"}
ARM_TOOLS = {**MATCHING_TOOLS, "docker": DEBIAN_DOCKER, "dockerd": DEBIAN_DOCKER}
README_PORT = 5000

# The stand-in matrix: the pins the arm64 stand-in holds, the shipped matrix's kinds of names.
MATRIX = """\
schema_version = 1
namespace = "{namespace}"
base_image = "{namespace}/ubuntu:24.04"

[python]
primary = "3.11.2"

[versions]
transformers = "4.57.1"
tokenizers = "0.22.1"
docker = "20.10.24+dfsg1"

[artifacts.uv]
version = "0.9.11"
[artifacts.ffmpeg]
version = "7.1.5"
[artifacts.node]
version = "22.23.3"
[artifacts.npm]
version = "10.9.9"
[artifacts.ngrok]
version = "3.30.0"

[release]
rules = [{{ type = "edge" }}, {{ type = "sha" }}]

[publish]
provenance = "max"
sbom = false   # BuildKit's SBOM scanner image cannot be pulled here

[images.edge_arm]
arch = "arm64"
accelerator = "cpu"
aliases = ["arm64"]
ffmpeg_profile = "full"
torch = {{ torch = "2.9.1", torchvision = "0.24.1", torchaudio = "2.9.1" }}
legacy_tags = ["{{namespace}}/edge_node:{{machine}}-{{tag}}"]
dind_tags = ["{{namespace}}/edge_node_dind:{{machine}}-{{tag}}"]
"""


def section(text: str, title: str) -> str:
    found = re.search(rf"^## {re.escape(title)}$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert found is not None, f"README has no '## {title}' section"
    return found.group(1)


def readme_path() -> tuple[str, list[list[str]]]:
    """(the namespace README sets, the bakery commands of its path, comments dropped)."""
    text = section((ROOT / "README.md").read_text(), "Make it yours")
    (namespace,) = re.findall(r'^namespace = "([^"]+)"$', text, re.M)
    blocks = re.findall(r"^```sh\n(.*?)^```", text, re.M | re.S)
    (path,) = [b for b in blocks if "bakery bake" in b]
    commands = [shlex.split(line, comments=True) for line in path.splitlines()]
    return namespace, [c for c in commands if c[:1] == ["bakery"]]


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def catalog(host: str) -> list[str]:
    with urllib.request.urlopen(f"http://{host}/v2/_catalog?n=1000", timeout=30) as answer:
        return list(json.load(answer)["repositories"])


def tags(host: str, repository: str) -> list[str]:
    with urllib.request.urlopen(f"http://{host}/v2/{repository}/tags/list", timeout=30) as answer:
        return list(json.load(answer)["tags"] or [])


def test_make_it_yours_as_the_readme_says(
    tmp_path: Path, containerd_engine: Engine, arm64_emulation: None,
) -> None:
    namespace, commands = readme_path()
    assert namespace == "localhost:5000/me"
    assert [c[1] for c in commands] == ["lock", "plan", "bake", "verify", "release"]
    # the README's port when it is free (a fresh machine), else any: the same path either way
    port = README_PORT if port_free(README_PORT) else None
    standin = build_standin(StandIn(arch="arm64", packages=ARM_PACKAGES, tools=ARM_TOOLS))
    base = build_scratch_image("bakery-test-busybox")

    with running_registry(tmp_path / "registry", port=port) as registry:
        ours = namespace.replace("localhost:5000", registry.host)
        # the base image the matrix names, in the registry (what Docker Hub is for the shipped)
        docker("tag", base, f"{ours}/ubuntu:24.04")
        docker("push", f"{ours}/ubuntu:24.04", timeout=300)

        project = tmp_path / "project"
        (project / "images" / "shared").mkdir(parents=True)
        (project / "images" / "edge_arm").mkdir(parents=True)
        (project / "matrix.toml").write_text(MATRIX.format(namespace=ours))
        (project / "docker-bake.hcl.j2").write_text((ROOT / "docker-bake.hcl.j2").read_text())
        (project / "images" / "shared" / "Dockerfile.dind").write_text(
            (ROOT / "images" / "shared" / "Dockerfile.dind").read_text())
        (project / "images" / "edge_arm" / "Dockerfile").write_text(
            f"FROM {standin} AS runtime\nRUN true\n")
        write_locks(project / "matrix.toml")  # stand-in package locks: no index is reachable

        env = {**os.environ, "GITHUB_REF": "refs/heads/main", "GITHUB_SHA": SHA}
        env.pop("BAKERY_DOCKER", None)  # the real docker CLI
        env.pop("GITHUB_RUN_ID", None)
        started = time.monotonic()
        assert subprocess.run([sys.executable, "-m", "bakery", "render"], cwd=project, env=env,
                              capture_output=True, timeout=120, check=False).returncode == 0
        for command in commands:
            done = subprocess.run([sys.executable, "-m", *command], cwd=project, env=env,
                                  capture_output=True, text=True, timeout=1800, check=False)
            assert done.returncode == 0, (shlex.join(command), done.stdout, done.stderr)
            if command[1] == "plan":
                # nothing outside the namespace, so no warning; every name shown under it
                assert "outside" not in done.stderr, done.stderr
                names = re.findall(r"^\s+(?:staged|primary|legacy|compat|release)\s+(\S+)",
                                   done.stdout, re.M)
                assert names and all(n.startswith(f"{ours}/") for n in names), done.stdout
            if command[1] == "lock":
                lock = json.loads((project / "locks" / "manifest.json").read_text())
                assert set(lock["base"]["digests"]) == {"linux/arm64"}, lock["base"]
        elapsed = time.monotonic() - started
        print(f"make it yours: {len(commands)} commands in {elapsed:.0f} s")

        planned = subprocess.run([sys.executable, "-m", "bakery", "plan", "--format", "json"],
                                 cwd=project, env=env, capture_output=True, text=True,
                                 timeout=120, check=True)
        doc = json.loads(planned.stdout)
        public = [n for t in doc["targets"] for names in t["tags"].values() for n in names]
        public += [t["candidate"] for t in doc["targets"]]
        public += [n for m in doc["multiarch"] for n in m["tags"]]
        assert public and all(n.startswith(f"{ours}/") for n in public), public
        repositories = catalog(registry.host)
        assert repositories and all(r.startswith("me/") for r in repositories), repositories
        # release created the public names: the primary, legacy and compatibility names
        assert {"me/edge_arm", "me/edge_node", "me/edge_node_dind"} <= set(repositories)
        assert "edge" in tags(registry.host, "me/edge_arm")
        assert any(t.startswith("aarch64-") for t in tags(registry.host, "me/edge_node_dind"))
