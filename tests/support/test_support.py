"""The shared test helpers do what the tests that use them rely on."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from bakery.project import load_plan
from tests.support.cli import run_cli
from tests.support.fake_docker import FAKE, SETTINGS, FakeDocker
from tests.support.repo import DEFAULT_IDS, ROOT


def test_default_ids_are_the_default_group_of_the_shipped_matrix() -> None:
    plan = load_plan(ROOT / "matrix.toml", env={}, use_git=False).plan
    assert list(plan.groups["default"]) == DEFAULT_IDS


def test_run_cli_returns_the_exit_code_and_both_streams(
    capsys: pytest.CaptureFixture[str]
) -> None:
    ok = run_cli(capsys, "--version")
    assert (ok.code, ok.err) == (0, "") and ok.out.startswith("bakery ")
    bad = run_cli(capsys, "plan", "--format", "yaml")
    assert bad.code == 2 and bad.out == "" and "--format" in bad.err


def test_the_fake_logs_every_call_in_one_format(fake_docker: FakeDocker) -> None:
    fake_docker.images_by_ref({"acme/x:1": {"probe": {"python": "3.13.9"}}})
    docker = str(fake_docker.path)
    assert subprocess.run([docker, "buildx", "version"], check=False).returncode == 0
    assert subprocess.run([docker, "image", "pull", "acme/x:1"], capture_output=True,
                          check=False).returncode == 0
    run = subprocess.run([docker, "container", "run", "acme/x:1"], capture_output=True,
                         text=True, check=False)
    assert json.loads(run.stdout) == {"python": "3.13.9"}
    assert fake_docker.calls() == [["buildx", "version"], ["image", "pull", "acme/x:1"],
                                   ["container", "run", "acme/x:1"]]
    assert fake_docker.runs() == [["container", "run", "acme/x:1"]]
    assert all({"argv", "cwd", "pid"} <= set(e) for e in fake_docker.events())


def test_the_fake_refuses_a_setting_it_does_not_read(fake_docker: FakeDocker) -> None:
    with pytest.raises(KeyError, match="FAKE_DOCKER_TYPO"):
        fake_docker.set("FAKE_DOCKER_TYPO", "1")


def test_every_setting_the_fake_reads_is_cleared_per_test() -> None:
    read = set(re.findall(r"FAKE_DOCKER_[A-Z_]+", FAKE.read_text()))
    assert read - {"FAKE_DOCKER_LOG"} == set(SETTINGS)


def test_the_fixture_index_stays_quiet_when_a_client_resets(
    capsys: pytest.CaptureFixture[str]
) -> None:
    """A client that drops a kept-alive connection must not print a server traceback into
    the stderr a test reads for the command's own messages."""
    import socket
    import struct
    import urllib.request

    from tests.support.index_server import start_index_server

    server = start_index_server()
    try:
        host, port = server.server.server_address[:2]
        sock = socket.create_connection((str(host), port))
        sock.sendall(b"GET /simple/quantize/ HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(64).startswith(b"HTTP/1.1 ")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # a reset while the server waits for the next request line
        with urllib.request.urlopen(server.url() + "quantize/") as answer:  # still serving
            assert answer.status == 200
    finally:
        server.stop()
    assert capsys.readouterr().err == ""


def test_a_gnupg_home_stops_the_agent_gpg_started_in_it(tmp_path, allow_subprocess):
    """Tests that make keys leave no gpg-agent behind (one per test otherwise)."""
    import shutil

    from tests.support.gnupg import agents_in, gnupg_home

    if shutil.which("gpg") is None:
        pytest.skip("gpg is not installed (apt-get install gnupg)")
    home = tmp_path / "gnupg"
    with gnupg_home(home) as env:
        subprocess.run(["gpg", "--batch", "--quiet", "--pinentry-mode", "loopback",
                        "--passphrase", "", "--quick-gen-key", "t <t@example.invalid>",
                        "ed25519", "sign", "never"], env=env, check=True, capture_output=True,
                       timeout=60)
        assert agents_in(home), "gpg started no agent: this test would prove nothing"
    assert agents_in(home) == []
