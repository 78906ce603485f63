"""A package index on 127.0.0.1 that serves real (tiny, generated) wheels, so uv can resolve
and install from it; a matrix of two images (amd64, arm64) at two pythons using it.

The index speaks PEP 691 JSON at /simple/<project>/ and serves files at /files/<name>. Tests
add releases while it runs (`publish`) and can serve other bytes than the ones listed
(`tamper`), which is what an attacker or a broken mirror would do.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from tests.support.index_server import QuietHandler, loopback_server


@pytest.fixture(autouse=True)
def _network_rule(loopback_only: None) -> None:
    """The wheel index and the registry live on 127.0.0.1; anything else fails at once."""


JSON_TYPE = "application/vnd.pypi.simple.v1+json"


def make_wheel(name: str, version: str, tag: str = "py3-none-any",
               requires: tuple[str, ...] = (), code: str = "") -> tuple[str, bytes]:
    """A minimal valid wheel: one module, METADATA, WHEEL and a RECORD with hashes."""
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    files = {
        f"{dist}/__init__.py": f"VERSION = {version!r}\n{code}".encode(),
        f"{info}/METADATA": "".join(
            [f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"]
            + [f"Requires-Dist: {r}\n" for r in requires]
        ).encode(),
        f"{info}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: bakery-tests\n"
            f"Root-Is-Purelib: {'true' if tag.endswith('any') else 'false'}\nTag: {tag}\n"
        ).encode(),
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, data in files.items():
            archive.writestr(zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0)), data)
    return f"{dist}-{version}-{tag}.whl", buffer.getvalue()


@dataclass
class WheelIndex:
    server: ThreadingHTTPServer
    projects: dict[str, dict[str, bytes]] = field(default_factory=dict)
    tampered: dict[str, bytes] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/simple"

    def publish(self, name: str, version: str, tag: str = "py3-none-any",
                requires: tuple[str, ...] = ()) -> str:
        filename, data = make_wheel(name, version, tag, requires)
        with self.lock:
            self.projects.setdefault(str(canonicalize_name(name)), {})[filename] = data
        return filename

    def publish_file(self, name: str, filename: str, data: bytes) -> None:
        """Serve any file (a source distribution, say) as a file of project `name`."""
        with self.lock:
            self.projects.setdefault(str(canonicalize_name(name)), {})[filename] = data

    def tamper(self, name: str, version: str) -> str:
        """Serve another valid wheel under the name of `name`'s file, with the index still
        listing the hash of the original (a compromised mirror)."""
        filename, data = make_wheel(name, version, code="import os  # not what was locked\n")
        with self.lock:
            self.tampered[filename] = data
        return filename

    def page(self, project: str) -> bytes | None:
        with self.lock:
            files = self.projects.get(project)
            if files is None:
                return None
            entries = [
                {"filename": name, "url": f"/files/{name}",
                 "hashes": {"sha256": hashlib.sha256(data).hexdigest()}}
                for name, data in sorted(files.items())
            ]
        return json.dumps({"meta": {"api-version": "1.1"}, "name": project,
                           "files": entries}).encode()

    def file(self, filename: str) -> bytes | None:
        with self.lock:
            if filename in self.tampered:
                return self.tampered[filename]
            for files in self.projects.values():
                if filename in files:
                    return files[filename]
        return None


def _handler(index: WheelIndex) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):
        def do_HEAD(self) -> None:
            self.do_GET(head=True)

        def do_GET(self, head: bool = False) -> None:
            parts = [p for p in self.path.split("?", 1)[0].split("/") if p]
            body: bytes | None = None
            content_type = "application/octet-stream"
            if len(parts) == 2 and parts[0] == "simple":
                body, content_type = index.page(str(canonicalize_name(parts[1]))), JSON_TYPE
            elif len(parts) == 2 and parts[0] == "files":
                body = index.file(parts[1])
            if body is None:
                body, content_type, status = b"not found", "text/plain", 404
            else:
                status = 200
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)

    return Handler


TORCH_TAGS = [f"cp{py}-cp{py}-manylinux_2_28_{machine}"
              for py in ("313", "312") for machine in ("x86_64", "aarch64")]


@contextlib.contextmanager
def serving() -> Iterator[WheelIndex]:
    """An empty wheel index on 127.0.0.1, running until the block ends."""
    with loopback_server(WheelIndex, _handler) as index:
        yield index


@pytest.fixture
def wheel_index() -> Iterator[WheelIndex]:
    """The stand-in ML stack: torch (per python and machine; on x86_64 only it needs
    `x86-helper`, a CUDA runtime wheel `nvidia-cublas-cu12` and `triton`, as the CUDA builds
    do), torchvision, torchaudio, transformers, tokenizers, numpy 1.0, and `x86-only`, a
    package with a wheel for x86_64 alone."""
    with serving() as index:
        for tag in TORCH_TAGS:
            index.publish("torch", "2.9.1", tag,
                          ("numpy>=1.0", "x86-helper>=1.0; platform_machine == 'x86_64'",
                           "nvidia-cublas-cu12==12.8.4.1; platform_machine == 'x86_64'",
                           "triton==3.5.1; platform_machine == 'x86_64'"))
        index.publish("torchvision", "0.24.1", requires=("torch==2.9.1",))
        index.publish("torchaudio", "2.9.1", requires=("torch==2.9.1",))
        index.publish("transformers", "4.57.1", requires=("tokenizers>=0.22", "numpy>=1.0"))
        index.publish("tokenizers", "0.22.1")
        index.publish("numpy", "1.0")
        index.publish("x86-helper", "1.0")
        index.publish("nvidia-cublas-cu12", "12.8.4.1", "py3-none-manylinux_2_27_x86_64")
        index.publish("triton", "3.5.1", "py3-none-manylinux_2_27_x86_64")
        index.publish("x86-only", "1.0", "py3-none-manylinux_2_28_x86_64")
        yield index


# the Dockerfile frontend `bakery lock` pins with the base: by default on a loopback port where
# nothing listens (refused at once, so the pin is kept), never Docker Hub
NO_FRONTEND = "127.0.0.1:9/frontend/dockerfile:1"

MATRIX = """\
schema_version = 1
namespace = "acme"
base_image = "{base_image}"
frontend = "{frontend}"

[python]
primary = "3.13.9"
fallback = "3.12.12"

[indexes]
pypi = "{pypi}"

[versions]
transformers = "4.57.1"
tokenizers = "0.22.1"

[features.extra]
package = "x86-only"
version = "1.0"

[release]
rules = [{{ type = "sha" }}]

[images.edge_amd]
arch = "amd64"
accelerator = "cpu"
aliases = ["amd"]
torch = {{ torch = "2.9.1", torchvision = "0.24.1", torchaudio = "2.9.1" }}
features = {{ extra = "{amd_extra}" }}

[images.edge_arm]
arch = "arm64"
accelerator = "cpu"
aliases = ["arm"]
torch = {{ torch = "2.9.1", torchvision = "0.24.1", torchaudio = "2.9.1" }}
features = {{ extra = "{arm_extra}" }}
"""


@dataclass
class Project:
    root: Path
    index: WheelIndex

    @property
    def matrix(self) -> Path:
        return self.root / "matrix.toml"

    @property
    def locks(self) -> Path:
        return self.root / "locks"

    def write(self, *, amd_extra: str = "off", arm_extra: str = "off",
              base_image: str = "ubuntu:24.04", pypi: str | None = None,
              frontend: str = NO_FRONTEND) -> None:
        self.matrix.write_text(MATRIX.format(
            pypi=pypi or self.index.url, amd_extra=amd_extra, arm_extra=arm_extra,
            base_image=base_image, frontend=frontend,
        ))

    def snapshot(self) -> dict[str, str]:
        """Every file under locks/ with its content (to prove nothing was written)."""
        if not self.locks.exists():
            return {}
        return {str(p.relative_to(self.root)): p.read_text()
                for p in sorted(self.locks.rglob("*")) if p.is_file()}


@pytest.fixture
def project(tmp_path: Path, wheel_index: WheelIndex, monkeypatch: pytest.MonkeyPatch,
            allow_subprocess: None) -> Project:
    """A matrix on the wheel index; uv with a cache of its own and no downloads of pythons."""
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    monkeypatch.setenv("UV_PYTHON_DOWNLOADS", "never")
    root = tmp_path / "repo"
    root.mkdir()
    proj = Project(root, wheel_index)
    proj.write()
    return proj
