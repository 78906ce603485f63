"""`bakery bake` end to end against the fake docker (tests/fakes/docker): command lines,
concurrency, failures it is told to produce, the bake file checks, missing tools, signals.

The normal build path runs on the real buildx in tests/engine/test_bake_engine.py, where these
tests moved: the results file's default location and schema, a --fail-fast bake that succeeds,
and the dry run's printed commands run as printed."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bakery.bake.invocations import REVISION_LABEL
from bakery.bake.results import load_results
from tests.support.cli import Result, run_cli
from tests.support.fake_docker import SHA, FakeDocker
from tests.support.locked import locked_project
from tests.support.repo import ARM, CPU, DEFAULT_IDS, GPU, ROOT

REVISION = f"{REVISION_LABEL}={SHA}"
PIP_STEP = ("[python 3/4] RUN uv pip install --system --no-cache --no-compile torch==2.9.1"
            " transformers==4.57.1")


def fake_digest(target: str) -> str:
    """The digest the fake reports for `target`: the shipped matrix asks for attestations, so
    buildx makes an index (the image manifest and its attestations) and names it."""
    import hashlib

    return "sha256:" + hashlib.sha256(f"{target}/index".encode()).hexdigest()


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "out"


def bake(capsys: pytest.CaptureFixture[str], out: Path, *args: str,
         matrix: Path | None = None) -> Result:
    """`bakery bake` of the shipped matrix; with --push, of a fully locked copy of it (a push
    of an unlocked target is refused: test_push_refuses_an_unlocked_target)."""
    if matrix is None:
        matrix = (locked_project(out.parent / "locked") if "--push" in args
                  else ROOT / "matrix.toml")
    return run_cli(capsys, "bake", "--matrix", str(matrix), "--results",
                   str(out / "results.json"), *args)


def candidate(target: str) -> str:
    """The target's candidate in a run with GITHUB_SHA (the fake_docker fixture sets it): the
    bake file's name plus `-<commit>`, which bake is told with `--set <target>.tags=`."""
    from bakery.project import load_plan

    return load_plan(ROOT / "matrix.toml", use_git=False,
                     env={"GITHUB_SHA": SHA}).plan.target(target).candidate


def expected_argv(out: Path, target: str, *flags: str, sets: tuple[str, ...] = (REVISION,),
                  name: str | None = None, targets: tuple[str, ...] | None = None) -> list[str]:
    argv = ["buildx", "bake", *flags, "--progress", "plain", "--file", "docker-bake.hcl"]
    for member in targets or (target,):
        argv += ["--set", f"{member}.tags={candidate(member)}"]
    for pair in sets:
        argv += ["--set", pair]
    argv += ["--metadata-file", str(out / "metadata" / f"{name or target}.json")]
    return argv + list(targets or (target,))


# -- command lines ------------------------------------------------------------------------


def test_default_selection_is_the_default_group_one_bake_each(
    fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str], out: Path
) -> None:
    result = bake(capsys, out)
    assert result.code == 0, result.err
    calls = fake_docker.calls()
    assert calls[:2] == [["buildx", "version"], ["buildx", "inspect", "--bootstrap"]]
    assert sorted(fake_docker.bakes()) == sorted(expected_argv(out, t) for t in DEFAULT_IDS)
    assert {e["cwd"] for e in fake_docker.events() if "argv" in e} == {str(ROOT)}


@pytest.mark.parametrize(("args", "targets", "flags", "sets"), [
    # an image and its DinD variant: one family, one bake
    (["--target", "gpu", "--load"], [(GPU, f"{GPU}-dind")], ["--load"], [REVISION]),
    (["--target", GPU, "--push"], [GPU], ["--push"], [REVISION]),
    (["--target", "arm64", "--builder", "cloud", "--push"], [(ARM, f"{ARM}-dind")],
     ["--builder", "cloud", "--push"], [REVISION]),
    (["--target", "*-py312", "--set", "*.args.UV_VERSION=0.9.12", "--set",
      f"{REVISION_LABEL}=override"], [f"{i}-py312" for i in
                                      ("base_edge_node_amd64_gpu", "base_edge_node_amd64_cpu",
                                       "base_edge_node_arm64_cpu")],
     [], [f"{REVISION_LABEL}=override", "*.args.UV_VERSION=0.9.12"]),
    (["--target", "fallback", "--target", CPU, "--set", f"{CPU}.args.A=1"],
     [CPU, "base_edge_node_amd64_cpu-py312", "base_edge_node_amd64_gpu-py312",
      "base_edge_node_arm64_cpu-py312"], [], None),
])
def test_command_lines(
    fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str], out: Path,
    args: list[str], targets: list[str | tuple[str, ...]], flags: list[str],
    sets: list[str] | None,
) -> None:
    fake_docker.monkeypatch.setenv("FAKE_DOCKER_BUILDERS", "default,cloud")
    result = bake(capsys, out, *args)
    assert result.code == 0, result.err
    expected = []
    for family in targets:
        members = family if isinstance(family, tuple) else (family,)
        pairs = sets if sets is not None else (
            [REVISION, f"{CPU}.args.A=1"] if members[0] == CPU else [REVISION])
        expected.append(expected_argv(out, members[0], *flags, sets=tuple(pairs),
                                      targets=members))
    assert sorted(fake_docker.bakes()) == sorted(expected)
    if "--builder" in args:
        assert ["buildx", "inspect", "--bootstrap", "cloud"] in fake_docker.calls()


def test_push_refuses_an_unlocked_target_and_load_says_it_builds_unlocked(
    fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str], out: Path
) -> None:
    # the shipped matrix: the amd64 targets have no package lock, the base is not pinned
    result = bake(capsys, out, "--push", "--target", GPU, matrix=ROOT / "matrix.toml")
    assert result.code == 1
    assert result.err.count("\n") == 1
    assert (f"bakery: error: bake --push publishes only fully locked targets; 2 lock(s)"
            f" missing: {GPU}: no package lock (run `bakery lock --target {GPU}`); {GPU}: base"
            " image ubuntu:24.04 is not pinned by digest (run `bakery lock --base-only`)"
            ) in result.err
    assert fake_docker.bakes() == []
    loaded = bake(capsys, out, "--load", "--target", GPU)
    assert loaded.code == 0, loaded.err
    notes = [line for line in loaded.err.splitlines() if line.startswith("bakery: building")]
    assert notes == [f"bakery: building 1 target(s) unlocked (packages resolved at build time"
                     f" or the base not pinned; never published): {GPU}"]


def test_jobs_limits_concurrency(
    fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str], out: Path
) -> None:
    result = bake(capsys, out, "--jobs", "1")
    assert result.code == 0, result.err
    # with one job at a time each bake starts after the previous one finished (plan order)
    order = [argv[-1] for argv in fake_docker.bakes()]
    assert order == DEFAULT_IDS
    lines = result.err.splitlines()
    started = [i for i, line in enumerate(lines) if ": started: " in line]
    finished = [i for i, line in enumerate(lines) if line.startswith("bakery: ")
                and ": ok in " in line]
    assert len(started) == len(finished) == 3
    assert started[0] < finished[0] < started[1] < finished[1] < started[2] < finished[2]
    assert load_results(out / "results.json").jobs == 1


# -- results ------------------------------------------------------------------------------


def test_one_failing_target_does_not_hide_the_others(
    fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str], out: Path
) -> None:
    fake_docker.behave(**{CPU: {"fail_at": 5}})
    result = bake(capsys, out, "--push")
    assert result.code == 1
    doc = load_results(out / "results.json")
    assert not doc.ok and doc.output == "push" and doc.git.sha == SHA
    by_id = {r.id: r for r in doc.targets}
    assert [r.id for r in doc.targets] == DEFAULT_IDS
    for ok in (GPU, ARM):
        assert by_id[ok].status == "ok"
        assert by_id[ok].digest == fake_digest(ok)
    assert by_id[GPU].tags == (candidate(GPU),)  # what bake was told with --set
    failed = by_id[CPU]
    assert failed.status == "failed" and failed.digest is None and failed.tags == ()
    assert failed.error is not None
    assert failed.error.step == PIP_STEP
    assert failed.error.message.startswith("failed to solve: process \"/bin/sh -c uv pip install")
    assert failed.error.log_tail[-2:] == (
        f"1.305 error: Failed to fetch: `https://download.pytorch.org/whl/{CPU}`",
        "1.305   Caused by: HTTP status server error (503 Service Unavailable)",
    )
    assert failed.command[-1] == CPU and "--push" in failed.command
    assert failed.log_file is not None and Path(failed.log_file).read_text().count("\n") > 10
    # the summary on stdout shows the failure, its step and the end of its log
    assert f"{CPU} failed at {PIP_STEP}" in result.out
    assert "| 1.305   Caused by: HTTP status server error (503 Service Unavailable)" in result.out
    assert "3 target(s): 2 ok, 1 failed" in result.out


def test_fail_fast_runs_one_bake_and_reports_failed_and_cancelled(
    fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str], out: Path
) -> None:
    fake_docker.behave(**{CPU: {"fail_at": 5}})
    result = bake(capsys, out, "--fail-fast", "--load")
    assert result.code == 1
    assert fake_docker.bakes() == [
        expected_argv(out, "", "--load", name="fail-fast", targets=tuple(DEFAULT_IDS))]
    assert not (out / "metadata" / "fail-fast.json").exists()  # buildx writes none on failure
    doc = load_results(out / "results.json")
    assert doc.fail_fast and doc.jobs == 1
    statuses = {r.id: r.status for r in doc.targets}
    assert statuses == {GPU: "cancelled", CPU: "failed", ARM: "cancelled"}
    failed = doc.target(CPU)
    assert failed.error is not None and failed.error.step == PIP_STEP
    cancelled = doc.target(GPU).error
    assert cancelled is not None and f"{CPU} failed in the same bake" in cancelled.message


def test_quiet_shows_only_the_summary_and_plain_prefixes_buildx_lines(
    fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str], out: Path
) -> None:
    quiet = bake(capsys, out, "--target", GPU, "--progress", "quiet")
    assert quiet.code == 0 and quiet.err == ""
    assert GPU in quiet.out and "1 target(s): 1 ok" in quiet.out
    plain = bake(capsys, out, "--target", GPU, "--progress", "plain")
    assert f"{GPU} | #0 building with \"default\" instance" in plain.err
    assert f"bakery: {GPU}: ok in " in plain.err


# -- dry run ------------------------------------------------------------------------------


def test_dry_run_prints_the_exact_commands_and_runs_nothing(
    fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str], out: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    matrix = locked_project(out.parent / "locked")  # --push: only locked targets
    monkeypatch.chdir(matrix.parent)
    result = bake(capsys, out, "--dry-run", "--target", "gpu", "--push", matrix=matrix)
    assert result.code == 0, result.err
    assert fake_docker.calls() == []
    assert not out.exists()
    commands = [shlex.split(line) for line in result.out.splitlines()
                if not line.startswith("#")]
    assert commands[0] == ["mkdir", "-p", str(out / "metadata")]
    assert commands[1:] == [[str(fake_docker.path), *expected_argv(
        out, GPU, "--push", targets=(GPU, f"{GPU}-dind"))]]
    assert "1 docker buildx bake invocation" in result.out


@pytest.mark.parametrize("selection", [["gpu"], ["fallback", "arm64"], ["*-dind"], ["all"],
                                       [CPU, "cpu"]])
def test_bake_builds_exactly_what_plan_shows(
    fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str], out: Path,
    selection: list[str],
) -> None:
    """Plan is the oracle: bake resolves --target through the same code."""
    flags = [arg for name in selection for arg in ("--target", name)]
    plan = run_cli(capsys, "plan", "--format", "json", "--matrix", str(ROOT / "matrix.toml"),
                   *flags)
    planned = [t["id"] for t in json.loads(plan.out)["targets"]]
    result = bake(capsys, out, "--dry-run", *flags)
    built = []
    for line in result.out.splitlines():
        if " buildx bake " in line and not line.startswith("#"):
            argv = shlex.split(line)
            built += argv[argv.index("--metadata-file") + 2:]
    assert built == planned and planned


# -- the bake file ------------------------------------------------------------------------


def test_stale_bake_file_stops_with_a_hint(
    fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str], out: Path, small_repo: Path
) -> None:
    bake_file = small_repo / "docker-bake.hcl"
    bake_file.write_text(bake_file.read_text().replace("0.9.11", "0.9.10"))
    result = bake(capsys, out, matrix=small_repo / "matrix.toml")
    assert result.code == 1
    assert result.err.startswith(f"bakery: error: {bake_file} is stale")
    assert "run `bakery render`" in result.err and "--render" in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert fake_docker.calls() == [] and not out.exists()


def test_missing_bake_file_stops_with_a_hint(
    fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str], out: Path, small_repo: Path
) -> None:
    (small_repo / "docker-bake.hcl").unlink()
    result = bake(capsys, out, matrix=small_repo / "matrix.toml")
    assert result.code == 1 and "docker-bake.hcl is missing; run `bakery render`" in result.err


def test_render_builds_from_a_temporary_rendered_file(
    fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str], out: Path, small_repo: Path
) -> None:
    bake_file = small_repo / "docker-bake.hcl"
    stale = bake_file.read_text().replace("0.9.11", "0.9.10")
    bake_file.write_text(stale)
    result = bake(capsys, out, "--render", "--target", "edge_gpu-py313",
                  matrix=small_repo / "matrix.toml")
    assert result.code == 0, result.err
    (argv,) = fake_docker.bakes()
    used = Path(argv[argv.index("--file") + 1])
    assert used.is_absolute() and used != bake_file
    assert not used.exists()  # removed afterwards
    assert bake_file.read_text() == stale  # the committed file is left alone
    doc = load_results(out / "results.json")
    assert doc.bake_file == str(used)
    # the rendered file's candidate, with this commit (--set)
    assert doc.targets[0].tags == ("acme/edge_gpu-staging:py3.13.9-th2.9.1-tr4.57.1-0123456",)


def test_dry_run_with_render_keeps_the_rendered_file_it_prints(
    fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str], out: Path, small_repo: Path
) -> None:
    bake_file = small_repo / "docker-bake.hcl"
    bake_file.write_text(bake_file.read_text().replace("0.9.11", "0.9.10"))
    result = bake(capsys, out, "--render", "--dry-run", "--target", "edge_gpu-py313",
                  matrix=small_repo / "matrix.toml")
    assert result.code == 0, result.err
    assert f"# {bake_file} is stale (it does not match" in result.out
    (command,) = [shlex.split(line) for line in result.out.splitlines()
                  if "buildx" in line and not line.startswith("#")]
    used = Path(command[command.index("--file") + 1])
    try:
        assert f"# the rendered bake file is kept at {used}" in result.out
        assert "0.9.11" in used.read_text()
    finally:
        used.unlink()
    assert fake_docker.calls() == []


# -- usage errors and missing tools (exit 2, one line) ------------------------------------


def one_line_error(result: Result) -> str:
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("bakery: error: ")
    return lines[0]


@pytest.mark.parametrize(("env", "args", "message"), [
    ({"FAKE_DOCKER_NO_BUILDX": "1"}, [],
     "docker buildx is not installed (`docker buildx version`: docker: 'buildx' is not a docker"
     " command.); install the buildx plugin"),
    ({"FAKE_DOCKER_NO_BUILDX": "2"}, [],
     "docker buildx is not installed (`docker buildx version`: docker: unknown command: docker"
     " buildx); install the buildx plugin"),
    ({}, ["--builder", "nope"], "builder 'nope' is not reachable (ERROR: no builder \"nope\""
     " found); see `docker buildx ls`"),
    ({"FAKE_DOCKER_DAEMON_DOWN": "1"}, [], "the current buildx builder is not reachable"
     " (ERROR: Cannot connect to the Docker daemon"),
    # buildx exits 0 here and names the problem on the node's Error line
    ({"FAKE_DOCKER_DAEMON_DOWN": "0"}, [], "the current buildx builder is not reachable"
     " (Cannot connect to the Docker daemon at unix:///var/run/docker.sock."),
    ({"BAKERY_DOCKER": "/nonexistent/docker"}, [],
     "BAKERY_DOCKER: '/nonexistent/docker' does not exist"),
])
def test_missing_tools_exit_2_with_one_line(
    fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str], out: Path,
    env: dict[str, str], args: list[str], message: str,
) -> None:
    for name, value in env.items():
        fake_docker.monkeypatch.setenv(name, value)
    result = bake(capsys, out, *args)
    assert result.code == 2
    assert message in one_line_error(result)
    assert fake_docker.bakes() == [] and not out.exists()


def test_a_docker_cli_that_never_answers_is_named_not_waited_on(
    fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str], out: Path, tmp_path: Path,
) -> None:
    """A BAKERY_DOCKER (or a docker whose engine hangs) that never answers: the check gives
    up after its timeout and says which command did not answer, exit 2; nothing is built."""
    import bakery.docker.buildx

    silent = tmp_path / "silent-docker"
    silent.write_text("#!/bin/sh\nexec sleep 60\n")
    silent.chmod(0o755)
    fake_docker.monkeypatch.setenv("BAKERY_DOCKER", str(silent))
    fake_docker.monkeypatch.setattr(bakery.docker.buildx, "CHECK_TIMEOUT", 0.5)
    result = bake(capsys, out)
    assert result.code == 2
    assert one_line_error(result) == (
        f"bakery: error: `docker buildx version` did not answer within 0.5s (docker CLI"
        f" {str(silent)!r}); is the Docker engine up?")
    assert not out.exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--load", "--push"], "--load and --push exclude each other"),
    (["--target", "gpus"], "--target 'gpus' is neither a target nor a group (did you mean 'gpu'?)"),
    (["--set", "oops"], "--set 'oops': expected <target>.<key>=<value>"),
    (["--jobs", "0"], "Invalid value for '--jobs'"),
    (["--progress", "fancy"], "Invalid value for '--progress'"),
])
def test_usage_errors_exit_2(
    fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str], out: Path,
    args: list[str], message: str,
) -> None:
    result = bake(capsys, out, *args)
    assert result.code == 2
    assert message in result.err
    assert fake_docker.calls() == []


# -- output paths: checked before building, never a traceback after -----------------------


@pytest.mark.parametrize(("make", "message"), [
    (lambda out: (out / "results.json").mkdir(parents=True), "results.json: --results names a"
     " directory"),
    (lambda out: (out.mkdir(), (out / "logs").write_text("")), "/logs: not a directory"),
    (lambda out: (out.mkdir(), (out / "metadata").write_text("")), "/metadata: not a directory"),
])
def test_an_unusable_output_path_is_exit_2_before_anything_is_built(
    fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str], out: Path,
    make: Any, message: str,
) -> None:
    make(out)
    result = bake(capsys, out)
    assert result.code == 2
    assert message in one_line_error(result)
    assert fake_docker.bakes() == []


def test_a_results_file_that_cannot_be_written_says_where_logs_and_metadata_are(
    fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str], out: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def full_disk(fd: int) -> None:  # the results file's write reaches the disk last
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("bakery.textfile.os.fsync", full_disk)
    result = bake(capsys, out, "--target", GPU)
    assert result.code == 1
    assert f"{GPU}" in result.out  # the summary still shows what was built
    error = result.err.strip().splitlines()[-1]
    assert error.startswith("bakery: error: ") and "No space left on device" in error
    assert f"build log is in {out / 'logs'}" in error
    assert f"buildx metadata in {out / 'metadata'}" in error
    assert (out / "logs" / f"{GPU}.log").is_file()
    assert (out / "metadata" / f"{GPU}.json").is_file()


def test_a_push_whose_metadata_names_no_image_is_failed(
    fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str], out: Path
) -> None:
    fake_docker.set("FAKE_DOCKER_NO_METADATA", "1")
    result = bake(capsys, out, "--push", "--target", GPU)
    assert result.code == 1
    (target,) = load_results(out / "results.json").targets
    assert target.status == "failed" and target.digest is None
    assert target.error is not None and "names no digest and no image" in target.error.message


# -- cancellation (a real SIGINT to a running `bakery bake`) ------------------------------


def interrupted_bake(fake_docker: FakeDocker, out: Path) -> tuple[int, str, str]:
    """`bakery bake` of the default group, with SIGINT once two 60 s builds are running."""
    fake_docker.behave(**{"*": {"sleep": 60}})
    proc = subprocess.Popen(
        [sys.executable, "-m", "bakery", "bake", "--matrix", str(ROOT / "matrix.toml"),
         "--results", str(out / "results.json"), "--jobs", "2", "--progress", "plain"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )
    try:
        deadline = time.monotonic() + 20
        while len(fake_docker.bakes()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(fake_docker.bakes()) == 2, "the two first bakes never started"
        time.sleep(0.3)  # let them print their first steps
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    return proc.returncode, stdout, stderr


def test_sigint_cancels_running_builds_and_skips_the_rest(
    fake_docker: FakeDocker, out: Path
) -> None:
    started = time.monotonic()
    code, stdout, stderr = interrupted_bake(fake_docker, out)
    assert code == 1, stderr
    assert time.monotonic() - started < 30  # nobody waited for the 60 s builds
    doc = load_results(out / "results.json")
    assert [(r.id, r.status) for r in doc.targets] == [
        (GPU, "cancelled"), (CPU, "cancelled"), (ARM, "skipped")]
    assert doc.target(ARM).started_at is None
    # each running bake got SIGINT from bakery (they run in their own process groups)
    signals = [e for e in fake_docker.events() if "signal" in e]
    assert sorted(e["targets"][0] for e in signals) == [CPU, GPU]
    assert {e["signal"] for e in signals} == {"SIGINT"}
    assert len(fake_docker.bakes()) == 2
    assert "bakery: cancelling: interrupting 2 running build(s)" in stderr
    assert "3 target(s): 2 cancelled, 1 skipped" in stdout


def test_an_interrupted_run_that_built_nothing_keeps_the_previous_results(
    fake_docker: FakeDocker, out: Path
) -> None:
    out.mkdir()
    (out / "results.json").write_text("the previous run's results\n")
    code, stdout, stderr = interrupted_bake(fake_docker, out)
    assert code == 1, stderr
    assert (out / "results.json").read_text() == "the previous run's results\n"
    assert "3 target(s): 2 cancelled, 1 skipped" in stdout
    assert f"nothing was built; {out / 'results.json'} is left as it was" in stderr


def test_the_real_docker_cli_without_buildx_is_reported(
    allow_subprocess: None, capsys: pytest.CaptureFixture[str], out: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The detection against the docker CLI of this machine, when it has no buildx plugin
    (CI machines have none); elsewhere there is nothing to detect."""
    import shutil

    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker CLI on PATH")
    if subprocess.run([docker, "buildx", "version"], capture_output=True,
                      check=False).returncode == 0:
        pytest.skip("this docker CLI has buildx")
    monkeypatch.delenv("BAKERY_DOCKER", raising=False)
    result = bake(capsys, out)
    assert result.code == 2
    assert "docker buildx is not installed" in one_line_error(result)


def test_a_release_tag_build_records_its_version_in_a_label(
    fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str], out: Path
) -> None:
    """`bakery release` reads this label to never move a floating name to an older release;
    a branch build has no release and gets no such label."""
    label = "*.labels.ai.ratio1.edge-node.release"
    fake_docker.monkeypatch.setenv("GITHUB_REF", "refs/tags/v1.3.0-rc.1")
    result = bake(capsys, out, "--target", GPU, "--push")
    assert result.code == 0, result.err
    assert fake_docker.bakes() == [expected_argv(out, GPU, "--push",
                                                 sets=(REVISION, f"{label}=1.3.0-rc.1"))]
    fake_docker.monkeypatch.setenv("GITHUB_REF", "refs/heads/main")
    assert bake(capsys, out / "main", "--target", GPU, "--push").code == 0
    assert fake_docker.bakes()[-1] == expected_argv(out / "main", GPU, "--push")


def test_json_is_the_results_document_on_stdout(
    fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str], out: Path
) -> None:
    result = bake(capsys, out, "--target", CPU, "--push", "--format", "json",
                  "--progress", "quiet")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert doc == json.loads((out / "results.json").read_text())
    assert doc["schema_version"] == 1 and doc["ok"] is True
    assert [(t["id"], t["status"], t["digest"]) for t in doc["targets"]] == [
        (CPU, "ok", fake_digest(CPU))]
