"""bakery/docker/host.py through a fake `docker` executable."""

from __future__ import annotations

from pathlib import Path

import pytest
from python_on_whales import DockerClient

from bakery.docker.host import engine_architecture
from bakery.errors import MissingToolError


def _fake(tmp_path: Path, body: str) -> DockerClient:
    fake = tmp_path / "docker"
    fake.write_text(f"#!/bin/sh\necho \"$*\" >>{tmp_path / 'argv'}\n{body}\n")
    fake.chmod(0o755)
    return DockerClient(client_call=[str(fake)])


@pytest.mark.usefixtures("allow_subprocess")
def test_the_engine_architecture_comes_from_docker_info(tmp_path: Path) -> None:
    client = _fake(tmp_path, """echo '{"Architecture": "aarch64"}'""")
    assert engine_architecture(client) == "aarch64"
    assert (tmp_path / "argv").read_text() == "system info --format {{json .}}\n"


@pytest.mark.usefixtures("allow_subprocess")
def test_no_engine_is_one_line(tmp_path: Path) -> None:
    client = _fake(tmp_path, "echo 'Cannot connect to the Docker daemon at unix:///x' >&2; exit 1")
    with pytest.raises(MissingToolError, match="no Docker engine answers: Cannot connect"):
        engine_architecture(client)


def test_no_cli_is_one_line(tmp_path: Path) -> None:
    client = DockerClient(client_call=[str(tmp_path / "no-such-docker")])
    with pytest.raises(MissingToolError, match=r"no-such-docker.* is not on PATH"):
        engine_architecture(client)
