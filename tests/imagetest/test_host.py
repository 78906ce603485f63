"""bakery/docker/host.py through a fake `docker` executable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from python_on_whales import DockerClient

from bakery.docker.host import engine_architecture
from bakery.errors import MissingToolError
from tests.imagetest.matrix import CPU_CANDIDATE, CPU_TARGET, write_project
from tests.support.cli import run_cli


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


@pytest.mark.usefixtures("allow_subprocess")
def test_bakery_test_on_a_never_built_target_says_not_built_in_json(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """No results file and no candidate in the engine: one NOT BUILT line on stderr, and on
    stdout a JSON document with real booleans; exit 1, and the script never runs."""
    project = tmp_path / "project"
    project.mkdir()
    write_project(project)
    fake = tmp_path / "docker"
    fake.write_text("#!/bin/sh\ncase \"$1 $2\" in\n"
                    "  'system info') echo '{\"Architecture\": \"x86_64\"}' ;;\n"
                    "  'image inspect') echo \"Error: No such image: $3\" >&2; exit 1 ;;\n"
                    "  *) echo \"unexpected: $*\" >&2; exit 3 ;;\nesac\n")
    fake.chmod(0o755)
    monkeypatch.setenv("BAKERY_DOCKER", str(fake))
    monkeypatch.setenv("BINFMT_DIR", str(tmp_path / "no-binfmt"))
    result = run_cli(capsys, "test", "--target", CPU_TARGET, "--format", "json",
                     "--matrix", str(project / "matrix.toml"))
    assert result.code == 1
    report = json.loads(result.out)
    assert report == {"schema_version": 1, "ok": False, "targets": [{
        "target": CPU_TARGET, "status": "not built", "ok": False,
        "reason": f"no bake result for it and no image {CPU_CANDIDATE} in the"
                  " engine (run `bakery bake --load`, or pass --image)"}]}
    assert f"NOT BUILT target {CPU_TARGET}: no bake result" in result.err
    assert "FAIL" not in result.err
    assert result.err.splitlines()[-1] == (f"bakery: error: test: 1 of 1 target(s) failed or"
                                           f" were not built: {CPU_TARGET}")
