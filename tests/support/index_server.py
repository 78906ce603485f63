"""The pytest plugin for a real package index on 127.0.0.1, served from the fixture files in
tests/preflight/fixtures/simple, and the network rule of the tests that use it
(`loopback_only`: any connection or name lookup other than 127.0.0.1 fails at once).

Routes (every route may be prefixed with ``/ns/<name>`` so that a test counting requests gets
paths no other test touches):

* ``/simple/<project>/``        PEP 691 JSON when the Accept header prefers it, else PEP 503 HTML
* ``/html-only/<project>/``     always HTML (an index that predates PEP 691)
* ``/status/<code>/<project>/`` always answers ``<code>`` (e.g. 503)
* ``/flaky/<n>/<project>/``     503 for the first ``n`` requests, then like ``/simple``
* ``/slow/<seconds>/<project>/`` sleeps, then like ``/simple``
* ``/not-simple/<project>/``    200 with a plain ``application/json`` body (not a simple API)
* ``/redirect/<project>/``      301 to ``/simple/<project>/``
* anything else, or an unknown project: 404
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import pytest

from tests.support.repo import ROOT

FIXTURES = ROOT / "tests" / "preflight" / "fixtures" / "simple"
JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_V1_TYPE = "application/vnd.pypi.simple.v1+html"


def negotiate(accept: str) -> str:
    """Pick the served content type from an Accept header by q-value (ties: server order)."""
    offered = [JSON_TYPE, HTML_V1_TYPE, "text/html"]
    best, best_q = "text/html", -1.0
    for item in accept.split(","):
        mime, *params = (part.strip() for part in item.split(";"))
        q = 1.0
        for param in params:
            if param.startswith("q="):
                q = float(param[2:])
        # Like PyPI: a client that does not ask for a format gets HTML.
        candidates = ["text/html"] if mime in ("*/*", "") else [mime]
        for candidate in candidates:
            if candidate in offered and q > best_q:
                best, best_q = candidate, q
    return best


@dataclass
class IndexServer:
    """A running fixture index; ``hits`` counts requests per path."""

    server: ThreadingHTTPServer
    thread: threading.Thread
    hits: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, route: str = "simple", *, ns: str | None = None) -> str:
        prefix = f"/ns/{ns}" if ns else ""
        return f"{self.base}{prefix}/{route}/"

    def count(self, path: str) -> int:
        with self.lock:
            return self.hits[path]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class QuietHandler(BaseHTTPRequestHandler):
    """A fixture server's handler: HTTP/1.1 keep-alive, as real indexes answer, and no
    access log on stderr."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass


class QuietServer(ThreadingHTTPServer):
    """A loopback HTTP server that stays silent when a client drops its connection.

    httpx closes idle keep-alive connections when a client closes, and the kernel may answer
    with a reset; the standard server would print that as a traceback on stderr, where the
    tests read the command's own messages. Any other handler error is still printed."""

    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


State = TypeVar("State")


@contextlib.contextmanager
def loopback_server(state_of: Callable[[QuietServer], State],
                    handler_of: Callable[[State], type[BaseHTTPRequestHandler]]) -> Iterator[State]:
    """A `QuietServer` on 127.0.0.1 (ephemeral port) serving `handler_of(state)` in a daemon
    thread while the block runs; `state_of(server)` is what the block gets (the fake's own
    state and controls). Shut down and closed when the block ends."""
    server = QuietServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    state = state_of(server)
    server.RequestHandlerClass = handler_of(state)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _make_handler(state: IndexServer) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):
        def do_GET(self) -> None:
            with state.lock:
                state.hits[self.path] += 1
                seen = state.hits[self.path]
            parts = [p for p in self.path.split("?", 1)[0].split("/") if p]
            if len(parts) >= 2 and parts[0] == "ns":
                parts = parts[2:]
            if not parts:
                return self._send(404, "text/plain", b"not found")
            route, args = parts[0], parts[1:]
            if route == "simple" and len(args) == 1:
                return self._project(args[0], negotiate(self.headers.get("Accept", "")))
            if route == "html-only" and len(args) == 1:
                return self._project(args[0], "text/html")
            if route == "status" and len(args) == 2:
                return self._send(int(args[0]), "text/plain", b"fixture status")
            if route == "flaky" and len(args) == 2:
                if seen <= int(args[0]):
                    return self._send(503, "text/plain", b"try again")
                return self._project(args[1], negotiate(self.headers.get("Accept", "")))
            if route == "slow" and len(args) == 2:
                time.sleep(float(args[0]))
                return self._project(args[1], negotiate(self.headers.get("Accept", "")))
            if route == "not-simple" and len(args) == 1:
                return self._send(200, "application/json", b'{"info": {"name": "x"}}')
            if route == "redirect" and len(args) == 1:
                self.send_response(301)
                self.send_header("Location", f"/simple/{args[0]}/")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            return self._send(404, "text/plain", b"not found")

        def _project(self, project: str, content_type: str) -> None:
            name = "index.json" if content_type == JSON_TYPE else "index.html"
            path = FIXTURES / project / name
            if "/" in project or ".." in project or not path.is_file():
                return self._send(404, "text/plain", b"no such project")
            charset = "" if content_type == JSON_TYPE else "; charset=utf-8"
            return self._send(200, content_type + charset, path.read_bytes())

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def start_index_server() -> IndexServer:
    """Start a fixture index on 127.0.0.1 with an ephemeral port, in a daemon thread."""
    server = QuietServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="fixture-index", daemon=True)
    state = IndexServer(server=server, thread=thread)
    server.RequestHandlerClass = _make_handler(state)
    thread.start()
    return state


_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Network rule: these tests talk to 127.0.0.1 only; anything else fails at once."""
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> None:
        if isinstance(address, tuple) and address[0] not in _LOOPBACK:
            raise AssertionError(f"test tried to connect to {address!r}; only 127.0.0.1 allowed")
        real_connect(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in _LOOPBACK:
            raise AssertionError(f"test tried to resolve {host!r}; only 127.0.0.1 allowed")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture(scope="session")
def index_server() -> Iterator[IndexServer]:
    """One fixture index for the whole session."""
    state = start_index_server()
    yield state
    state.stop()


@pytest.fixture
def private_index() -> Iterator[IndexServer]:
    """A fixture index of its own, which the test may stop."""
    state = start_index_server()
    yield state
    if state.thread.is_alive():
        state.stop()


@pytest.fixture
def dead_index_url() -> str:
    """The URL of a 127.0.0.1 port where nothing listens (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/simple/"
