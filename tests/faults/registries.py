"""A container registry on 127.0.0.1 that answers what a test tells it to: each manifest,
blob and token answer is set by hand (status, content type, body), so every way a registry
can misbehave is one table entry. Optionally it asks for a bearer token first (Docker Hub's
flow), or trickles its answers."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from tests.support.index_server import QuietHandler, QuietServer, loopback_server

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"

Answer = tuple[int, str, bytes]


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


CONFIG = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
LAYER = b"layer bytes"


def manifest(**changes: object) -> dict[str, object]:
    """A valid image manifest (one layer), with `changes` applied to its top level."""
    doc: dict[str, object] = {
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": sha(CONFIG), "size": len(CONFIG)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": sha(LAYER), "size": len(LAYER)}],
    }
    doc.update(changes)
    return {k: v for k, v in doc.items() if v is not None}


def layer_entry(**changes: object) -> dict[str, object]:
    entry: dict[str, object] = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                "digest": sha(LAYER), "size": len(LAYER)}
    entry.update(changes)
    return {k: v for k, v in entry.items() if v is not None}


@dataclass
class FakeRegistry:
    server: QuietServer
    manifests: dict[str, Answer] = field(default_factory=dict)  # by tag or digest
    blobs: dict[str, Answer] = field(default_factory=dict)
    token: Answer | None = None  # set: every /v2/ request without a token gets a 401
    trickle: float = 0.0  # seconds between 16-byte pieces of every answer

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def serve_json(self, reference: str, doc: object, media: str = OCI_MANIFEST) -> bytes:
        body = json.dumps(doc).encode()
        self.manifests[reference] = (200, media, body)
        return body

    def serve_image(self, tag: str) -> str:
        """A valid single-platform index at `tag` over a valid manifest; its digest."""
        body = self.serve_json("", manifest())
        digest = sha(body)
        self.manifests[digest] = self.manifests.pop("")
        self.blobs[sha(CONFIG)] = (200, "application/octet-stream", CONFIG)
        self.serve_json(tag, {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": digest, "size": len(body),
             "platform": {"os": "linux", "architecture": "amd64"}}]}, OCI_INDEX)
        return digest


def _handler(registry: FakeRegistry) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/token":
                assert registry.token is not None
                return self._send(*registry.token)
            if registry.token is not None and "Authorization" not in self.headers:
                realm = f"http://{registry.host}/token"
                self.send_response(401)
                self.send_header("WWW-Authenticate", f'Bearer realm="{realm}",service="x"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            kind, _, reference = path.rpartition("/")
            table = registry.manifests if kind.endswith("/manifests") else registry.blobs
            self._send(*table.get(reference, (404, "application/json",
                                              b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')))
            return None

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not registry.trickle:
                self.wfile.write(body)
                return
            for start in range(0, len(body), 16):
                self.wfile.write(body[start:start + 16])
                self.wfile.flush()
                time.sleep(registry.trickle)

    return Handler


@contextmanager
def fake_registry() -> Iterator[FakeRegistry]:
    with loopback_server(FakeRegistry, _handler) as registry:
        yield registry
