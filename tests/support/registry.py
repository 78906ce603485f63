"""The pytest plugin for real registries on 127.0.0.1 (Debian's docker-registry), and the
helpers that put images into them over the distribution HTTP API (no engine needed).

* `registry` (session) and `second_registry` (a production registry when staging is on
  another one): a running registry each, as `Registry(host="localhost:PORT")`. Where
  docker-registry is not installed they skip, unless BAKERY_REQUIRE_ENGINE=1 (CI installs it
  with the engine), where that is a failure.
* `push_image`: an image (an OCI index over one manifest per architecture) made of the given
  layer blobs; `layer`: a small gzipped tar to use as one.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import tarfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from bakery.plan import Target

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


@dataclass(frozen=True)
class Registry:
    host: str  # "localhost:PORT": the engine pushes to localhost without TLS settings

    def push(self, local: str, repository: str, tag: str) -> tuple[str, str]:
        """Push the engine's image `local` as `host/repository:tag`; return (that name, its
        registry digest). The local copy of the name is removed: verify must pull it."""
        from tests.engine.images import docker

        ref = f"{self.host}/{repository}:{tag}"
        docker("tag", local, ref)
        docker("push", ref, timeout=300)
        digests = docker("image", "inspect", "--format", "{{json .RepoDigests}}", ref).stdout
        digest = next(d.split("@", 1)[1] for d in json.loads(digests)
                      if d.startswith(f"{self.host}/{repository}@"))
        docker("image", "rm", ref)
        return ref, digest


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_registry(root: Path, *, port: int | None = None) -> Iterator[Registry]:
    """A docker-registry serving from `root` on loopback `port` (default: a free one),
    stopped afterwards."""
    binary = shutil.which("docker-registry")
    if binary is None:
        message = "docker-registry is not installed (apt-get install docker-registry;" \
                  " .ci/start-engine.sh does it)"
        if os.environ.get("BAKERY_REQUIRE_ENGINE") == "1":
            pytest.fail(message)
        pytest.skip(message)
    port = port or free_port()
    root.mkdir(parents=True, exist_ok=True)
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n"
        "  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    with (root / "registry.log").open("w") as log:
        process = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"docker-registry did not start:\n"
                            f"{(root / 'registry.log').read_text()}")
            time.sleep(0.2)
        try:
            yield Registry(f"localhost:{port}")
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    with running_registry(tmp_path_factory.mktemp("registry")) as running:
        yield running


@pytest.fixture(scope="session")
def second_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """Another loopback registry: production when staging is elsewhere."""
    with running_registry(tmp_path_factory.mktemp("registry2")) as running:
        yield running


def _blob(client: object, base: str, data: bytes) -> dict[str, object]:
    import httpx

    assert isinstance(client, httpx.Client)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    start = client.post(f"{base}/blobs/uploads/")
    assert start.status_code == 202, start.text
    location = start.headers["location"]
    sep = "&" if "?" in location else "?"
    done = client.put(f"{location}{sep}digest={digest}", content=data,
                      headers={"Content-Type": "application/octet-stream"})
    assert done.status_code == 201, done.text
    return {"digest": digest, "size": len(data)}


def layer(marker: str, size: int = 0) -> bytes:
    """A gzipped tar holding one file named after `marker`, about `size` bytes before
    compression (it compresses well)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo(f"etc/{marker}")
        body = marker.encode() + hashlib.sha256(marker.encode()).digest() * (size // 32)
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    return gzip.compress(raw.getvalue(), mtime=0)


def push_image(host: str, repository: str, tag: str, release: str,
               platforms: tuple[str, ...] = ("amd64", "arm64"),
               layers: tuple[bytes, ...] = ()) -> dict[str, str]:
    """Push a multi-platform image (an OCI index over one manifest per architecture) with the
    registry's HTTP API; return {platform: manifest digest}. Its layers are `layers` (the same
    on every platform) or one small layer per platform."""
    import httpx

    base = f"http://{host}/v2/{repository}"
    digests: dict[str, str] = {}
    entries = []
    with httpx.Client(timeout=30) as client:
        for arch in platforms:
            config = json.dumps({"architecture": arch, "os": "linux",
                                 "rootfs": {"type": "layers", "diff_ids": []},
                                 "config": {"Labels": {"release": release}}}).encode()
            manifest = json.dumps({
                "schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           **_blob(client, base, config)},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                            **_blob(client, base, data)}
                           for data in (layers or (layer(f"{release}-{arch}"),))],
            }).encode()
            digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
            put = client.put(f"{base}/manifests/{digest}", content=manifest,
                             headers={"Content-Type": OCI_MANIFEST})
            assert put.status_code == 201, put.text
            digests[f"linux/{arch}"] = digest
            entries.append({"mediaType": OCI_MANIFEST, "digest": digest, "size": len(manifest),
                            "platform": {"os": "linux", "architecture": arch}})
        index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX,
                            "manifests": entries}).encode()
        put = client.put(f"{base}/manifests/{tag}", content=index,
                         headers={"Content-Type": OCI_INDEX})
        assert put.status_code == 201, put.text
    return digests


@dataclass(frozen=True)
class Staged:
    """The minimal matrix's `edge_cpu-py313` on a loopback registry: its candidate pushed to
    staging (`image`, by digest) and the public name a release would move (`released`)."""

    host: str
    target: Target
    image: str
    released: str

    def release(self, layers: tuple[bytes, ...]) -> None:
        """Push an image with `layers` under the released name, as an earlier release did."""
        repository, tag = self.released.rsplit(":", 1)
        push_image(self.host, repository.split("/", 1)[1], tag, "old", layers=layers)


def stage_candidate(host: str, namespace: str, layers: tuple[bytes, ...]) -> Staged:
    """Push a candidate with `layers` for the minimal matrix with namespace `host/namespace`."""
    from bakery.matrix import parse_matrix
    from bakery.plan import expand
    from tests.support.cli import MINIMAL_MATRIX

    text = MINIMAL_MATRIX.replace('namespace = "acme"', f'namespace = "{host}/{namespace}"')
    target = expand(parse_matrix(text, source="matrix.toml")).target("edge_cpu-py313")
    released = target.tags.primary[0]
    path = released.rsplit(":", 1)[0].split("/", 1)[1]
    candidate = push_image(host, f"{path}-staging", "c", "new", layers=layers)
    return Staged(host=host, target=target, released=released,
                  image=f"{host}/{path}-staging@{candidate['linux/amd64']}")
