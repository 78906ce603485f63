"""The Dockerfile model the image tests stand on: if it misreads, they prove nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.dockerfile_model import (
    DEFAULT_SHELL,
    SHARED,
    Instruction,
    Link,
    effective_config,
    load,
    parse_arg,
    parse_env,
    script_lines,
    simple_commands,
)


@pytest.mark.parametrize(("script", "commands"), [
    ("a x && b y || c", [["a", "x"], ["b", "y"], ["c"]]),
    ("curl -o f $(jq -r .url u) | sha256sum -c -",
     [["curl", "-o", "f"], ["jq", "-r", ".url", "u"], ["sha256sum", "-c", "-"]]),
    ("if [ -n x ]; then FOO=1 uv pip install t; fi",
     [["[", "-n", "x", "]"], ["uv", "pip", "install", "t"]]),
    ("for a in 1 2; do echo 'a; b'; done", [["a", "in", "1", "2"], ["echo", "a; b"]]),
])
def test_simple_commands_split_a_line_of_shell(script: str, commands: list[list[str]]) -> None:
    assert simple_commands(script) == commands


def test_simple_commands_can_keep_assignments() -> None:
    assert simple_commands("A=1 B=2 uv x", keep_env=True) == [["A=1", "B=2", "uv", "x"]]


def test_script_lines_join_continuations_and_skip_comments_and_heredocs(tmp_path: Path) -> None:
    script = tmp_path / "s.sh"
    script.write_text("# a comment\nfoo \\\n  --bar\ncat <<EOF\ncurl inside\nEOF\nbaz\n")
    assert [line.split() for line in script_lines(script)] == [
        ["foo", "--bar"], ["cat", "<<EOF"], ["baz"]]


def test_args_and_env_parse_as_docker_does() -> None:
    assert parse_arg("A=1 B") == {"A": "1", "B": None}
    assert parse_env('A=1 B="two words"') == {"A": "1", "B": "two words"}
    with pytest.raises(AssertionError, match="key=value"):
        parse_env("A 1")


def test_an_instruction_separates_its_flags_mounts_and_source() -> None:
    ins = Instruction("RUN", "--mount=type=bind,source=a,target=/b --network=none echo hi",
                      4, "Dockerfile", "s")
    assert ins.split() == (["--mount=type=bind,source=a,target=/b", "--network=none"], "echo hi")
    assert ins.mounts() == [{"type": "bind", "source": "a", "target": "/b"}]
    assert Instruction("COPY", "--from=uv /out/uv /x", 1, "D", "s").copy_from() == "uv"
    linked = Instruction("COPY", "--link --from=uv --chmod=0755 /out/uv /x", 1, "D", "s")
    assert linked.split() == (["--link", "--from=uv", "--chmod=0755"], "/out/uv /x")
    assert linked.copy_from() == "uv"
    assert ins.where() == "Dockerfile:5 (s) RUN"


def test_the_shared_dockerfile_loads_into_stages_with_their_dependencies() -> None:
    shared = load(SHARED)
    names = [stage.name for stage in shared.stages]
    assert names[0] == "fetch" and "edge-node-base" in names
    closure = [stage.name for stage in shared.closure("edge-node-base")]
    # dependencies first, the stage itself last, each once
    assert closure[-1] == "edge-node-base" and len(closure) == len(set(closure))
    layers = ["packages-cuda", "packages-torch", "packages-rest"]
    assert {"uv", "python", *layers, "ffmpeg", "node"} <= set(closure)
    assert all(closure.index("python") < closure.index(layer) for layer in layers)
    assert "BASE_IMAGE" in shared.global_args


def test_effective_config_follows_docker_a_new_entrypoint_drops_the_cmd() -> None:
    shared = load(SHARED)
    stage = shared.stage("edge-node-base")
    config = effective_config([Link(shared, stage, {}, DEFAULT_SHELL)])
    assert config["entrypoint"][-1] == "/usr/local/bin/entrypoint.sh"
    assert config["cmd"] is None
    assert config["env"]["DOCKER_TLS_CERTDIR"] == "/certs"
