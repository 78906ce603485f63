"""Package indexes on 127.0.0.1 that misbehave in one way each, for the fault corpus and the
benchmarks: refuse, stall, trickle, lie, flood.

Each is a plain socket server in a daemon thread (http.server would insist on answering).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Behaviour = Callable[[socket.socket], None]


def _answer(status: str, content_type: str, body: bytes, *, length: int | None = None) -> bytes:
    size = len(body) if length is None else length
    head = (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {size}\r\nConnection: close\r\n\r\n")
    return head.encode() + body


def _read_request(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return
        data += chunk


def stall(conn: socket.socket) -> None:
    """Accept, read the request, never answer."""
    _read_request(conn)
    time.sleep(3600)


def trickle(conn: socket.socket, every: float = 0.2) -> None:
    """Answer the headers of a big JSON page, then one byte of it every `every` seconds."""
    _read_request(conn)
    body = b'{"meta": {"api-version": "1.1"}, "name": "x", "files": []}' + b" " * 10_000
    conn.sendall(_answer("200 OK", "application/vnd.pypi.simple.v1+json", b"",
                         length=len(body)))
    for byte in body:
        conn.sendall(bytes([byte]))
        time.sleep(every)


def flood_declared(conn: socket.socket) -> None:
    """Declare a 10 GB answer."""
    _read_request(conn)
    conn.sendall(_answer("200 OK", "application/vnd.pypi.simple.v1+json", b"{",
                         length=10 * 1024**3))
    time.sleep(5)


def flood_chunked(conn: socket.socket) -> None:
    """An answer without a length that never ends."""
    _read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.pypi.simple.v1+json\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"[" * 65536
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    try:
        while True:
            conn.sendall(frame)
    except OSError:
        return


def lie(content_type: str, body: bytes, status: str = "200 OK") -> Behaviour:
    """Answer every request with this status, type and body."""
    def behave(conn: socket.socket) -> None:
        _read_request(conn)
        conn.sendall(_answer(status, content_type, body))
    return behave


def hang_up(conn: socket.socket) -> None:
    """Accept, read the request, close without a word."""
    _read_request(conn)


BEHAVIOURS: dict[str, Behaviour] = {
    "stall": stall,
    "trickle": trickle,
    "flood-declared": flood_declared,
    "flood-chunked": flood_chunked,
    "hang-up": hang_up,
    "plain-json": lie("application/json", b'{"files": []}'),
    "broken-json": lie("application/vnd.pypi.simple.v1+json", b'{"files": [}'),
    "deep-json": lie("application/vnd.pypi.simple.v1+json", b"[" * 100_000),
    "not-utf8": lie("application/vnd.pypi.simple.v1+json", b'{"files": [], "x": "\xff\xfe"}'),
    "html-no-links": lie("text/html", b"<html><body><h1>Please sign in</h1></body></html>"),
    "api-v2": lie("application/vnd.pypi.simple.v1+json",
                  b'{"meta": {"api-version": "2.0"}, "files": []}'),
    "forbidden": lie("text/plain", b"no", status="403 Forbidden"),
    "server-error": lie("text/plain", b"oops", status="503 Service Unavailable"),
}


@contextmanager
def misbehaving_index(behaviour: Behaviour) -> Iterator[str]:
    """Serve `behaviour` on 127.0.0.1; yields the index URL."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return

            def handle(conn: socket.socket = conn) -> None:
                with conn, contextlib.suppress(OSError):
                    behaviour(conn)

            threading.Thread(target=handle, daemon=True).start()

    threading.Thread(target=serve, name="misbehaving-index", daemon=True).start()
    try:
        yield f"http://127.0.0.1:{port}/simple/"
    finally:
        stop.set()
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes the accept()
        listener.close()


def refused_url() -> str:
    """The URL of a 127.0.0.1 port where nothing listens."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/simple/"
