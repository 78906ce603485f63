"""Reading buildx plain progress: the current step and the failure report."""

from __future__ import annotations

import pytest

from bakery.bake.buildlog import TAIL_LINES, BuildLog, step_owner, strip_owner

CMD = "uv pip install --system --no-cache torch==2.9.1"
CAUSE = f'process "/bin/sh -c {CMD}" did not complete successfully: exit code: 1'

# one target (buildx < 0.17 prints no `target X:` prefix, and one bake of one target never does)
SINGLE = f"""\
#0 building with "default" instance using docker driver

#1 [internal] load local bake definitions
#1 reading docker-bake.hcl 17.42kB / 17.42kB done
#1 DONE 0.0s

#2 [gpu internal] load build definition from Dockerfile
#2 transferring dockerfile: 2.31kB done
#2 DONE 0.0s

#7 [gpu python 3/4] RUN {CMD}
#7 0.812 Using Python 3.13.9 environment at: /usr/local
#8 [gpu base 2/4] RUN apt-get update
#8 0.100 Get:1 http://archive.ubuntu.com/ubuntu noble InRelease
#7 [gpu python 3/4] RUN {CMD}
#7 1.305 error: Failed to fetch: `https://download.pytorch.org/whl/cu128/torch/`
#7 1.305   Caused by: HTTP status server error (503 Service Unavailable)
#7 ERROR: {CAUSE}
#8 CANCELED
------
 > [gpu python 3/4] RUN {CMD}:
0.812 Using Python 3.13.9 environment at: /usr/local
1.305 error: Failed to fetch: `https://download.pytorch.org/whl/cu128/torch/`
1.305   Caused by: HTTP status server error (503 Service Unavailable)
------
Dockerfile:23
--------------------
  22 |     ARG TORCH_VERSION
  23 | >>> RUN {CMD}
  24 |
--------------------
ERROR: failed to solve: {CAUSE}
"""

# two targets of one bake (--fail-fast), buildx >= 0.17 naming the target
MULTI = f"""\
#0 building with "default" instance using docker driver

#5 [gpu base 2/4] RUN apt-get update
#6 [cpu base 2/4] RUN apt-get update
#6 0.512 Get:1 http://archive.ubuntu.com/ubuntu noble InRelease
#5 0.512 Get:1 http://archive.ubuntu.com/ubuntu noble InRelease
#9 [cpu python 3/4] RUN {CMD}
#9 1.1 ERROR: No matching distribution found for torch==2.9.1
#9 ERROR: {CAUSE}
#5 CANCELED
------
 > [cpu python 3/4] RUN {CMD}:
1.1 ERROR: No matching distribution found for torch==2.9.1
------
ERROR: target cpu: failed to solve: {CAUSE}
"""


def feed(text: str) -> BuildLog:
    log = BuildLog()
    for line in text.splitlines():
        log.feed(line)
    return log


def test_single_target_failure_names_step_message_and_log_tail() -> None:
    failure = feed(SINGLE).failure(None, names=["gpu"], exit_code=1)
    assert failure.step == f"[python 3/4] RUN {CMD}"
    assert failure.message == f"failed to solve: {CAUSE}"
    assert failure.log_tail == (
        "0.812 Using Python 3.13.9 environment at: /usr/local",
        "1.305 error: Failed to fetch: `https://download.pytorch.org/whl/cu128/torch/`",
        "1.305   Caused by: HTTP status server error (503 Service Unavailable)",
    )


def test_multi_target_bake_names_the_failed_target() -> None:
    log = feed(MULTI)
    assert log.failed_targets(["gpu", "cpu"]) == ["cpu"]
    failure = log.failure("cpu", names=["gpu", "cpu"], exit_code=1)
    assert failure.step == f"[python 3/4] RUN {CMD}"
    assert failure.message == f"failed to solve: {CAUSE}"
    assert failure.log_tail == ("1.1 ERROR: No matching distribution found for torch==2.9.1",)


def test_old_buildx_lowercase_error_and_no_error_block() -> None:
    log = feed("""\
#3 [gpu internal] load metadata for docker.io/library/ubuntu:24.04
#3 ERROR: failed to do request: Head "https://registry-1.docker.io/v2/": dial tcp: i/o timeout
------
error: failed to solve: ubuntu:24.04: failed to resolve source metadata: i/o timeout
""")
    failure = log.failure(None, names=["gpu"], exit_code=1)
    assert failure.step == "[internal] load metadata for docker.io/library/ubuntu:24.04"
    assert failure.message == "failed to solve: ubuntu:24.04: failed to resolve source metadata:" \
        " i/o timeout"
    assert failure.log_tail == ()  # the step printed nothing before failing


def test_failure_without_any_error_line_falls_back_to_the_exit_code_and_tail() -> None:
    log = feed("#0 building with \"x\" instance using remote driver\nsignal: killed\n")
    failure = log.failure(None, names=["gpu"], exit_code=137)
    assert failure.step is None
    assert failure.message == "docker buildx bake exited with code 137"
    assert failure.log_tail == ('#0 building with "x" instance using remote driver',
                                "signal: killed")


def test_unattributable_failure_names_no_target() -> None:
    log = feed("ERROR: failed to find target nope\n")
    assert log.failed_targets(["gpu", "cpu"]) == []
    assert log.failure(None, names=["gpu", "cpu"], exit_code=1).message == \
        "failed to find target nope"


def test_log_tail_is_bounded() -> None:
    lines = [f"#4 {i}.0 line {i}" for i in range(100)]
    log = feed("#4 [gpu base 2/4] RUN make\n" + "\n".join(lines) + "\n#4 ERROR: boom\n")
    failure = log.failure(None, names=["gpu"], exit_code=1)
    assert failure.step == "[base 2/4] RUN make" and failure.message == "boom"
    assert len(failure.log_tail) == TAIL_LINES and failure.log_tail[-1] == "99.0 line 99"


def test_a_lone_rule_is_not_an_error_block() -> None:
    log = feed("------\n#2 [gpu 1/2] FROM scratch\n#2 ERROR: nope\n")
    assert log.failure(None, names=["gpu"], exit_code=1).step == "[1/2] FROM scratch"


def test_current_step_overall_and_per_target() -> None:
    log = feed(MULTI.split("#9 1.1")[0])
    assert log.current_step() == f"[cpu python 3/4] RUN {CMD}"
    assert log.current_step("gpu") == "[gpu base 2/4] RUN apt-get update"
    assert log.current_step("nope") is None
    assert BuildLog().current_step() is None


@pytest.mark.parametrize(("title", "names", "owner", "stripped"), [
    ("[gpu python 3/4] RUN x", ["gpu"], "gpu", "[python 3/4] RUN x"),
    ("[gpu 2/5] RUN x", ["gpu"], "gpu", "[2/5] RUN x"),
    ("[gpu internal] load metadata", ["gpu"], "gpu", "[internal] load metadata"),
    ("[stage-ffmpeg ffmpeg 3/7] RUN make", ["gpu"], None, "[stage-ffmpeg ffmpeg 3/7] RUN make"),
    ("exporting to image", ["gpu"], None, "exporting to image"),
    ("[gpu] RUN x", ["gpu"], "gpu", "RUN x"),
])
def test_step_owner_and_strip(title: str, names: list[str], owner: str | None,
                              stripped: str) -> None:
    assert step_owner(title, names) == owner
    assert strip_owner(title, names) == stripped
