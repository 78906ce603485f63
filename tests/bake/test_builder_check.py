"""Reading `docker buildx inspect --bootstrap`: buildx can exit 0 and still say the builder
cannot build, so bakery reads what it printed."""

from __future__ import annotations

import pytest

from bakery.docker.buildx import builder_problem

RUNNING = """\
Name:   default
Driver: docker

Nodes:
Name:      default
Endpoint:  default
Status:    running
BuildKit:  v0.12.5
Platforms: linux/amd64, linux/arm64
"""


def test_a_running_builder_has_no_problem() -> None:
    assert builder_problem(RUNNING) is None


@pytest.mark.parametrize(("output", "problem"), [
    (RUNNING.replace("Status:    running\n", "Error:     Cannot connect to the Docker daemon at"
                     " unix:///var/run/docker.sock. Is the docker daemon running?\n"),
     "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon"
     " running?"),
    (RUNNING.replace("running", "inactive"), "its node is inactive"),
    (RUNNING.replace("running", "stopped"), "its node is stopped"),
    ("\nERROR: Cannot connect to the Docker daemon at tcp://10.0.0.5:2376\n",
     "Cannot connect to the Docker daemon at tcp://10.0.0.5:2376"),
])
def test_an_unreachable_node_is_a_problem_even_when_buildx_exits_0(
    output: str, problem: str
) -> None:
    assert builder_problem(output) == problem
