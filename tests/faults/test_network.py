"""Every way a package index on the network can fail, against the index client and against
`bakery preflight`: a reason that says what happened, within bounded time and memory, one
error line, and the lock untouched."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bakery.preflight.index import FetchOptions, IndexRequest, IndexUnavailable, fetch_many
from tests.faults.conftest import one_line_error, snapshot
from tests.faults.servers import BEHAVIOURS, misbehaving_index, refused_url
from tests.support.cli import MINIMAL_MATRIX, run_cli

FAST = FetchOptions(timeout=1.5, silence=0.5, retries=1, backoff=0.01, max_bytes=100_000)

REASONS = {
    "stall": r"no answer within 0\.5s",
    "trickle": r"the answer did not complete within 1\.5s \(\d+ bytes received\)",
    "flood-declared": r"the answer is 10737418240 bytes, more than the 100000",
    "flood-chunked": r"the answer is more than the 100000 bytes",
    "hang-up": r"RemoteProtocolError: .* \(after 2 attempts\)",
    "plain-json": r"not a simple-API answer \(content-type 'application/json'",
    "broken-json": r"invalid simple-API page: Expecting value",
    "deep-json": r"invalid simple-API page: nested too deeply",
    "not-utf8": r"is not text in utf-8",
    "html-no-links": r"no links and no simple-API version: not an index page",
    "api-v2": r"unsupported simple-API version '2\.0'",
    "forbidden": r"HTTP 403 from http://127\.0\.0\.1:\d+/simple/torch/$",
    "server-error": r"HTTP 503 from .* \(after 2 attempts\)",
}


@pytest.mark.parametrize("behaviour", sorted(REASONS))
def test_the_client_names_what_went_wrong(behaviour: str) -> None:
    with misbehaving_index(BEHAVIOURS[behaviour]) as url, pytest.raises(IndexUnavailable) as info:
        fetch_many([IndexRequest(url, "torch")], FAST)
    assert re.search(REASONS[behaviour], info.value.cause), info.value.cause
    assert str(info.value).startswith(f"index {url} is unavailable for project 'torch': ")


def test_a_refused_connection_is_named() -> None:
    url = refused_url()
    with pytest.raises(IndexUnavailable, match=r"ConnectError: .*refused.*\(after 2 attempts\)"):
        fetch_many([IndexRequest(url, "torch")], FAST)


def _matrix(tmp_path: Path, url: str) -> Path:
    text = MINIMAL_MATRIX.replace('pytorch-cpu = "https://download.pytorch.org/whl/cpu"',
                                  f'pytorch-cpu = "{url}"\npypi = "{url}"')
    path = tmp_path / "project" / "matrix.toml"
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    (path.parent / "matrix.lock.json").write_text("")  # must survive: preflight fails first
    return path


# the ones that end within a second with the default (real) bounds of the command
COMMAND_CASES = {
    "hang-up": "RemoteProtocolError",
    "plain-json": "not a simple-API answer",
    "broken-json": "invalid simple-API page: Expecting value",
    "deep-json": "invalid simple-API page: nested too deeply",
    "not-utf8": "is not text in utf-8",
    "html-no-links": "not an index page",
    "api-v2": "unsupported simple-API version",
    "forbidden": "HTTP 403 from",
    "flood-declared": "bytes, more than the 67108864 bytes this client accepts",
}


@pytest.mark.parametrize("behaviour", COMMAND_CASES)
def test_preflight_against_a_bad_index_fails_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], behaviour: str
) -> None:
    with misbehaving_index(BEHAVIOURS[behaviour]) as url:
        matrix = _matrix(tmp_path, url)
        before = snapshot(matrix.parent)
        done = run_cli(capsys, "preflight", "--matrix", str(matrix), "--format", "json",
                       "--cache-dir", str(tmp_path / "cache"))
    line = one_line_error(done.code, done.err, codes=(1,))
    assert line == ("bakery: error: preflight could not decide edge_cpu, edge_gpu;"
                    f" {matrix.parent / 'matrix.lock.json'} left unchanged")
    assert COMMAND_CASES[behaviour] in done.out
    assert "as far as checked" not in done.out  # nothing answered: nothing was checked
    assert snapshot(matrix.parent) == before


def test_preflight_gives_up_on_a_silent_index_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with misbehaving_index(BEHAVIOURS["stall"]) as url:
        matrix = _matrix(tmp_path, url)
        done = run_cli(capsys, "preflight", "--matrix", str(matrix), "--format", "json",
                       "--cache-dir", str(tmp_path / "cache"))
    one_line_error(done.code, done.err, codes=(1,))
    assert "no answer within 5s" in done.out


def test_an_unusable_cache_only_warns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.support.index_server import start_index_server

    server = start_index_server()
    try:
        matrix = _matrix(tmp_path, server.url())
        blocker = tmp_path / "cache-is-a-file"
        blocker.write_text("not a directory\n")
        done = run_cli(capsys, "preflight", "--matrix", str(matrix), "--dry-run",
                       "--cache-dir", str(blocker))
    finally:
        server.stop()
    warnings = [line for line in done.err.splitlines() if line.startswith("bakery: warning:")]
    assert warnings == [f"bakery: warning: {blocker}: cannot write the index cache: Not a"
                        " directory; continuing without it"]
    assert blocker.read_text() == "not a directory\n"
    assert "Traceback" not in done.err


@pytest.mark.parametrize("damage", ["fifo", "deep", "not-utf8", "directory"])
def test_a_damaged_cache_entry_is_a_miss(tmp_path: Path, damage: str) -> None:
    import os

    from bakery.preflight.index import cache_path
    from tests.support.index_server import start_index_server

    server = start_index_server()
    try:
        request = IndexRequest(server.url(), "quantize")
        options = FetchOptions(cache_dir=tmp_path / "cache", retries=0)
        entry = cache_path(tmp_path / "cache", request)
        entry.parent.mkdir(parents=True)
        if damage == "fifo":
            os.mkfifo(entry)
        elif damage == "directory":
            entry.mkdir()
        else:
            entry.write_bytes(b"[" * 50_000 if damage == "deep" else b'{"format": "\xff"}')
        page = fetch_many([request], options)[request]
    finally:
        server.stop()
    assert page.found and not page.from_cache
