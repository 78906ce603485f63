"""docs/running.md's examples of running the images, executed as written.

Only what this machine cannot offer is replaced: the image (the DinD test image, started as the
real images start), `--privileged` (the flags that replace it here), the nested `<image>` (a
local busybox image, loaded into the inner engine first since nothing can be pulled) and the
container name `edge` (a unique one, the engine is shared).
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.engine.images import docker
from tests.support.engine import READY_TEXT, Containers, NestedImage

pytestmark = pytest.mark.engine

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "running.md"
SECTION = "## `EE_DD` and Docker-in-Docker"
IMAGE = "ratio1/base_edge_node_amd64_cpu:<tag>"
LINE_TIMEOUT = 120


def running_example() -> list[str]:
    """The command lines of the first ```sh block of docs/running.md's section on EE_DD."""
    text = DOC.read_text()
    section = text[text.index(SECTION):]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None, f"docs/running.md: no ```sh block under {SECTION!r}"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_the_example_names_what_the_test_replaces() -> None:
    lines = running_example()
    text = "\n".join(lines)
    assert IMAGE in text and "--privileged" in text and "<image>" in text
    assert any(shlex.split(line, comments=True)[:3] == ["docker", "stop", "edge"]
               for line in lines)


def test_the_running_example_runs_as_written(
    dind_image: str, dind_run_flags: list[str], nested_image: NestedImage,
    containers: Containers,
) -> None:
    name = containers.name("running")
    outputs: list[subprocess.CompletedProcess[str]] = []
    for line in running_example():
        command = (
            line.replace(IMAGE, dind_image)
            .replace("--privileged", shlex.join(dind_run_flags))
            .replace("<image>", nested_image.ref)
        )
        command = re.sub(r"\bedge\b", name, command)
        if nested_image.ref in command:  # nothing can be pulled inside: load it first
            docker("cp", str(nested_image.tar), f"{name}:/tmp/nested.tar")
            docker("exec", name, "docker", "load", "-q", "-i", "/tmp/nested.tar")
        done = subprocess.run(["sh", "-c", command], capture_output=True, text=True,
                              timeout=LINE_TIMEOUT, check=False)
        assert done.returncode == 0, f"{line}\n-> {command}\n{done.stdout}\n{done.stderr}"
        outputs.append(done)

    by_line = dict(zip(running_example(), outputs, strict=True))
    python = next(out for line, out in by_line.items() if "python3 -V" in line)
    assert python.stdout.startswith("Python 3."), python
    nested = next(out for line, out in by_line.items() if "<image>" in line)
    assert nested.stdout == "hello from a nested container\n", nested
    logs = next(out for line, out in by_line.items() if " logs " in line)
    assert READY_TEXT in logs.stderr, logs
    # `docker stop` with its default grace ended it cleanly, not by SIGKILL
    state = docker("inspect", "--format", "{{.State.Running}} {{.State.ExitCode}}", name)
    assert state.stdout.split() == ["false", "0"], docker("logs", name, check=False).stderr
