"""A family (an image and the DinD variant built FROM it in the same bake) whose image's step
fails: the image is `failed` with that step and its exit code, the variant `cancelled: its
image failed`, whichever target buildx names the step under; the `--fail-fast` wording only
with `--fail-fast`.

Replays what buildx 0.13.1 printed here for such a failing bake, once per naming (it names
the step, and apart from it the error block, under either target from run to run: the logs in
tests/bake/logs/), then runs
`bakery bake` against the fake `docker` printing newer buildx's output (`ERROR: target X:`).
tests/engine/test_bake_engine.py runs such a family on the real buildx."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bakery.bake.buildlog import BuildLog
from bakery.bake.invocations import FAIL_FAST_NAME, Invocation
from bakery.bake.results import TargetResult, invocation_results, load_results
from tests.support.cli import run_cli
from tests.support.fake_docker import FakeDocker
from tests.support.repo import CPU, GPU, ROOT

LOGS = Path(__file__).parent / "logs"
IMAGE, VARIANT = "img-py313", "img-py313-dind"
STEP = "[runtime 1/1] RUN /bin/busybox sh -c 'echo about to fail; exit 3'"


def family(name: str = IMAGE, *, variant_dockerfile: str = "Dockerfile.dind") -> Invocation:
    return Invocation(name=name, targets=(IMAGE, VARIANT), metadata_file=Path("m.json"),
                      derived={VARIANT: IMAGE},
                      dockerfiles={IMAGE: "Dockerfile", VARIANT: variant_dockerfile})


def replay(text: str, invocation: Invocation) -> dict[str, TargetResult]:
    log = BuildLog()
    for line in text.splitlines():
        log.feed(line)
    results = invocation_results(
        invocation, command=("docker",), exit_code=1, metadata=None, log=log,
        started_at=datetime(2026, 12, 7, tzinfo=UTC), duration_s=1.0, cancelled=False,
        platforms={}, log_file=None)
    return {r.id: r for r in results}


@pytest.mark.parametrize(("log", "step"), [
    ("named-as-variant", STEP),  # the error block under the variant, the vertex the image
    ("named-as-image", STEP),  # both under the image
    # the vertex under the variant, the error block under the image (from the engine test)
    ("titled-as-variant", "[2/2] RUN sh -c 'echo about to fail; exit 3'"),
])
def test_buildx_013_any_naming_blames_the_image(log: str, step: str) -> None:
    text = (LOGS / f"buildx-0.13-family-image-fails-{log}.log").read_text()
    text = text.replace("edge_cpu-py311", IMAGE)  # the engine test's names
    by_id = replay(text, family())
    image, variant = by_id[IMAGE], by_id[VARIANT]
    assert image.status == "failed" and image.error is not None
    assert image.error.step == step
    assert image.error.message.endswith("did not complete successfully: exit code: 3")
    assert variant.status == "cancelled" and variant.error is not None
    assert variant.error.message == f"cancelled: its image {IMAGE} failed"


def test_fail_fast_says_so_only_when_given() -> None:
    text = (LOGS / "buildx-0.13-family-image-fails-named-as-image.log").read_text()
    plain = replay(text.replace(IMAGE, "other-py313").replace("other-py313-dind", VARIANT),
                   Invocation(name=IMAGE, targets=("other-py313", VARIANT),
                              metadata_file=Path("m.json")))
    assert "--fail-fast" not in (plain[VARIANT].error.message if plain[VARIANT].error else "")
    several = Invocation(name=FAIL_FAST_NAME, targets=(IMAGE, VARIANT, "x-py313"),
                         metadata_file=Path("m.json"), derived={VARIANT: IMAGE},
                         dockerfiles={IMAGE: "Dockerfile", VARIANT: "Dockerfile.dind"})
    by_id = replay(text, several)
    assert by_id[VARIANT].error is not None and by_id["x-py313"].error is not None
    assert by_id[VARIANT].error.message == f"cancelled: its image {IMAGE} failed"
    assert by_id["x-py313"].error.message == (
        f"cancelled: {IMAGE} failed in the same bake (--fail-fast builds every target in one"
        " bake)")


def test_a_failing_step_of_the_variants_own_dockerfile_is_the_variants() -> None:
    text = (LOGS / "buildx-0.13-family-image-fails-named-as-variant.log").read_text()
    # the step titled and named in the variant's Dockerfile: a step of its own
    own = text.replace("Dockerfile:4\n", "Dockerfile.dind:4\n").replace(
        f"#9 [{IMAGE} runtime", f"#9 [{VARIANT} runtime")
    by_id = replay(own, family())
    assert by_id[VARIANT].status == "failed"
    assert by_id[IMAGE].status == "cancelled"


# -- through `bakery bake` and the fake docker (newer buildx's output) ----------------------


@pytest.mark.parametrize("report_as", [GPU, f"{GPU}-dind"])
@pytest.mark.parametrize("fail_fast", [False, True])
def test_bake_blames_the_image_whichever_name_the_fake_reports(
    fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    report_as: str, fail_fast: bool,
) -> None:
    fake_docker.behave(**{GPU: {"fail_at": 5, "exit_code": 7, "report_as": report_as}})
    variant = f"{GPU}-dind"
    done = run_cli(capsys, "bake", "--matrix", str(ROOT / "matrix.toml"), "--results",
                   str(tmp_path / "results.json"), "--progress", "quiet", "--target", GPU,
                   "--target", variant, "--target", CPU, *(["--fail-fast"] if fail_fast else []))
    assert done.code == 1
    by_id = {r.id: r for r in load_results(tmp_path / "results.json").targets}
    image = by_id[GPU]
    assert image.status == "failed" and image.error is not None
    assert image.error.step is not None and image.error.step.startswith("[python 3/4] RUN uv")
    assert image.error.message.endswith("exit code: 7")
    assert by_id[variant].status == "cancelled" and by_id[variant].error is not None
    assert by_id[variant].error.message == f"cancelled: its image {GPU} failed"
    other = by_id[CPU]
    if fail_fast:
        assert other.status == "cancelled" and other.error is not None
        assert other.error.message.endswith("(--fail-fast builds every target in one bake)")
    else:
        assert other.status == "ok"
    assert "--fail-fast" not in done.out + done.err or fail_fast
