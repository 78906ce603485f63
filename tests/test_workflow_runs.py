"""The workflow's shell steps, run for real with the GITHUB_* values of each kind of run: which
jobs go ahead, which bakery commands each step runs, and which runs are refused.

The `decide` step runs the real `bakery ci` in a throwaway git repository (main, a commit off
main); the other steps run with a recording stand-in for `bakery` first on PATH, so what is
checked is the step's own shell logic with the values the workflow hands it.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.locked import locked_project
from tests.support.repo import ROOT

WORKFLOW: dict[Any, Any] = yaml.safe_load((ROOT / ".github/workflows/images.yml").read_text())
JOBS: dict[str, dict[str, Any]] = WORKFLOW["jobs"]
BAKERY = Path(sys.executable).with_name("bakery")


def step(job: str, name: str) -> dict[str, Any]:
    return next(s for s in JOBS[job]["steps"] if s.get("name") == name)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def checkout(tmp_path: Path, allow_subprocess: None) -> dict[str, str]:
    """A checkout like the plan job's: main fetched as origin/main, plus a commit main lacks,
    holding a fully locked copy of the project."""
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.email", "ci@example.invalid")
    _git(repo, "config", "user.name", "ci")
    (repo / "a").write_text("a")
    _git(repo, "add", "a")
    _git(repo, "commit", "-q", "-m", "a")
    on_main = _git(repo, "rev-parse", "HEAD")
    _git(repo, "update-ref", "refs/remotes/origin/main", on_main)
    _git(repo, "checkout", "-q", "-b", "unmerged")
    (repo / "b").write_text("b")
    _git(repo, "add", "b")
    _git(repo, "commit", "-q", "-m", "b")
    # the project itself, fully locked: a publishing run refuses an unlocked target
    locked_project(repo)
    return {"dir": str(repo), "on_main": on_main, "off_main": _git(repo, "rev-parse", "HEAD")}


@dataclass
class Ran:
    code: int
    outputs: dict[str, str]
    stderr: str


def run_step(script: str, env: dict[str, str], cwd: str, tmp: Path) -> Ran:
    """Run a `run:` script the way the runner does (bash -e -o pipefail, GITHUB_OUTPUT)."""
    out = tmp / f"github_output_{len(list(tmp.iterdir()))}"
    out.write_text("")
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd, env={**env, "GITHUB_OUTPUT": str(out)}, capture_output=True, text=True,
        check=False, timeout=60,
    )
    outputs = dict(line.split("=", 1) for line in out.read_text().splitlines() if "=" in line)
    return Ran(done.returncode, outputs, done.stderr)


def decide(event: str, ref: str, sha: str, checkout: dict[str, str], tmp: Path) -> Ran:
    env = {
        "PATH": f"{BAKERY.parent}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_EVENT_NAME": event, "GITHUB_REF": ref, "GITHUB_SHA": sha,
        "HOME": str(tmp),
    }
    return run_step(step("plan", "decide")["run"], env, checkout["dir"], tmp)


def recording_bakery(tmp: Path) -> tuple[Path, Path]:
    """A `bakery` that records its argv, one line per call, and succeeds."""
    bin_dir = tmp / "fake-bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp / "bakery-calls.log"
    log.unlink(missing_ok=True)
    fake = bin_dir / "bakery"
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {shlex.quote(str(log))}\n')
    fake.chmod(0o755)
    return bin_dir, log


def calls(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def build_steps(outputs: dict[str, str], tmp: Path, *, emulated: bool = False,
                job: str = "build") -> list[str]:
    """The bakery commands the build job's bake, verify and test steps run for one target
    (`job`: build, or build-gpu on the GPU runner)."""
    bin_dir, log = recording_bakery(tmp)
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "TARGET": "edge-py313",
        "PUSH": outputs["push"], "EMULATED": str(emulated).lower(),
    }
    for name in ("bake", "verify", "test"):
        assert step(job, name).get("if") is None, (job, name)
        ran = run_step(step(job, name)["run"], env, str(tmp), tmp)
        assert ran.code == 0, ran.stderr
    return calls(log)


def promote(outputs: dict[str, str], tmp: Path, results: int) -> tuple[Ran, list[str]]:
    bin_dir, log = recording_bakery(tmp)
    work = tmp / "promote"
    for n in range(results):
        (work / "results" / f"results-t{n}").mkdir(parents=True)
        (work / "results" / f"results-t{n}" / "results.json").write_text("{}")
    work.mkdir(exist_ok=True)
    summary = tmp / "step_summary.md"
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "NAMES": outputs["names"],
           "GITHUB_STEP_SUMMARY": str(summary)}
    ran = run_step(step("promote", "promote")["run"], env, str(work), tmp)
    return ran, calls(log)


def plan_matrices(tmp: Path, gpu_job: bool) -> dict[str, str]:
    """The plan step's outputs with a plan of one GPU and one CPU target."""
    if shutil.which("jq") is None:
        pytest.skip("jq is not installed (GitHub runners have it; CI must install it)")
    bin_dir, _ = recording_bakery(tmp)
    matrix = ('{"include":[{"target":"gpu-py313","gpu":true},'
              '{"target":"cpu-py313","gpu":false}]}')
    (bin_dir / "bakery").write_text(f"#!/bin/sh\necho '{matrix}'\n")
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PLAN_TARGET": "all",
           "GPU_JOB": str(gpu_job).lower()}
    ran = run_step(step("plan", "plan")["run"], env, str(tmp), tmp)
    assert ran.code == 0, ran.stderr
    return ran.outputs


def test_the_gpu_targets_go_to_the_gpu_job_only_when_it_runs(tmp_path: Path,
                                                            allow_subprocess: None) -> None:
    split = plan_matrices(tmp_path, gpu_job=True)
    assert split == {"matrix": '{"include":[{"target":"cpu-py313","gpu":false}]}',
                     "gpu-matrix": '{"include":[{"target":"gpu-py313","gpu":true}]}'}
    whole = plan_matrices(tmp_path, gpu_job=False)
    assert set(whole) == {"matrix"} and '"gpu-py313"' in whole["matrix"]
    # build-gpu runs only when the plan gave it targets, for pushes of this repository
    assert JOBS["build-gpu"]["if"].endswith("&& needs.plan.outputs.gpu-matrix != ''")
    assert "github.event_name == 'push'" in JOBS["plan"]["steps"][-1]["env"]["GPU_JOB"]


def test_the_jobs_read_the_decision() -> None:
    assert JOBS["build"]["needs"] == ["plan", "refresh"]
    # built by the event's decision, or by a refresh that changed something; a skipped
    # refresh (every other run) must not skip the build, a failed one must stop it
    assert JOBS["build"]["if"] == (
        "!cancelled() && needs.plan.result == 'success' && (needs.plan.outputs.build == 'true'"
        " || needs.refresh.result == 'success' && needs.refresh.outputs.changed == 'true')")
    assert JOBS["build"]["strategy"]["matrix"] == (
        "${{ fromJSON(needs.refresh.outputs.matrix || needs.plan.outputs.matrix) }}")
    assert step("plan", "plan")["if"] == "steps.decide.outputs.build == 'true'"
    assert JOBS["refresh"]["needs"] == "plan"
    assert JOBS["refresh"]["if"] == "needs.plan.outputs.refresh == 'true'"
    assert JOBS["promote"]["needs"] == ["plan", "refresh", "build", "build-gpu"]
    # a skipped GPU job (no GPU runner, or not a push) must not skip the promotion; a failed
    # one must stop it
    assert JOBS["promote"]["if"] == (
        "!cancelled() && needs.build.result == 'success' && needs.plan.outputs.promote == 'true'"
        " && (needs.build-gpu.result == 'success' || needs.build-gpu.result == 'skipped')")
    # build and promote check out, and name in the revision label, the commit they build
    for job in ("build", "promote"):
        assert JOBS[job]["env"]["BAKERY_SHA"] == "${{ needs.refresh.outputs.sha || github.sha }}"
        checkout = next(s for s in JOBS[job]["steps"] if "checkout" in s.get("uses", ""))
        assert checkout["with"]["ref"] == "${{ env.BAKERY_SHA }}"
    assert step("plan", "plan")["env"]["PLAN_TARGET"] == "${{ steps.decide.outputs.plan-target }}"
    assert JOBS["build"]["env"]["PUSH"] == "${{ needs.plan.outputs.push }}"
    assert JOBS["promote"]["env"]["NAMES"] == "${{ needs.plan.outputs.names }}"
    login = step("build", "log in to staging")
    assert login["if"] == "needs.plan.outputs.push == 'true'"


def test_pull_request_builds_loads_and_tests_and_publishes_nothing(
    checkout: dict[str, str], tmp_path: Path
) -> None:
    ran = decide("pull_request", "refs/pull/7/merge", checkout["off_main"], checkout, tmp_path)
    assert ran.code == 0, ran.stderr
    assert (ran.outputs["plan-target"], ran.outputs["push"], ran.outputs["promote"]) == (
        "default", "false", "false")
    # the loaded image is verified against the plan, then tested
    assert build_steps(ran.outputs, tmp_path) == [
        "bake --target edge-py313 --load --set *.cache-to=",
        "verify --target edge-py313",
        "test --target edge-py313",
    ]


def test_push_to_main_pushes_candidates_verifies_and_promotes_branch_names(
    checkout: dict[str, str], tmp_path: Path
) -> None:
    ran = decide("push", "refs/heads/main", checkout["on_main"], checkout, tmp_path)
    assert ran.code == 0, ran.stderr
    assert (ran.outputs["plan-target"], ran.outputs["promote"], ran.outputs["names"]) == (
        "all", "true", "branch")
    assert build_steps(ran.outputs, tmp_path) == [
        "bake --target edge-py313 --push",
        "verify --target edge-py313",
        "test --target edge-py313",
    ]
    promoted, commands = promote(ran.outputs, tmp_path, results=2)
    assert promoted.code == 0, promoted.stderr
    assert commands == [
        "release --results results/results-t0/results.json --results"
        " results/results-t1/results.json --names branch --format markdown"
    ]


@pytest.mark.parametrize(("ref", "prerelease"), [("refs/tags/v1.3.0-rc.1", "true"),
                                                  ("refs/tags/v1.3.0", "false")])
def test_release_tags_on_main_promote_every_name(
    checkout: dict[str, str], tmp_path: Path, ref: str, prerelease: str
) -> None:
    ran = decide("push", ref, checkout["on_main"], checkout, tmp_path)
    assert ran.code == 0, ran.stderr
    assert (ran.outputs["names"], ran.outputs["prerelease"]) == ("all", prerelease)
    _, commands = promote(ran.outputs, tmp_path, results=1)
    assert commands[-1].endswith("--names all --format markdown")


def test_a_release_tag_off_main_is_refused_before_anything_builds(
    checkout: dict[str, str], tmp_path: Path
) -> None:
    ran = decide("push", "refs/tags/v1.3.0", checkout["off_main"], checkout, tmp_path)
    assert ran.code == 2
    assert "is not on refs/remotes/origin/main" in ran.stderr
    assert ran.outputs == {}  # no matrix: no build job, no promotion


def test_a_non_semver_tag_is_refused(checkout: dict[str, str], tmp_path: Path) -> None:
    ran = decide("push", "refs/tags/vnext", checkout["on_main"], checkout, tmp_path)
    assert ran.code == 2
    assert "'vnext' is not a semver release tag" in ran.stderr
    assert ran.outputs == {}


def test_the_trigger_takes_semver_tags_only() -> None:
    triggers = WORKFLOW.get("on", WORKFLOW.get(True))
    assert triggers["push"]["tags"] == ["v[0-9]+.[0-9]+.[0-9]+", "v[0-9]+.[0-9]+.[0-9]+-*"]
    assert triggers["push"]["branches"] == ["main"]
    assert "schedule" in triggers and "workflow_dispatch" in triggers
    # image jobs only when their inputs change (tags ignore path filters and always build)
    for event in ("push", "pull_request"):
        assert "images/**" in triggers[event]["paths"]
        assert "docs/**" not in triggers[event]["paths"]


@pytest.mark.parametrize("event", ["schedule", "workflow_dispatch"])
def test_schedule_refreshes_the_locks_and_builds_only_a_change_for_edge(
    checkout: dict[str, str], tmp_path: Path, event: str
) -> None:
    ran = decide(event, "refs/heads/main", checkout["on_main"], checkout, tmp_path)
    assert ran.code == 0, ran.stderr
    # build=false: the build jobs run only when the refresh job reports a change
    assert (ran.outputs["refresh"], ran.outputs["build"], ran.outputs["push"],
            ran.outputs["promote"], ran.outputs["names"]) == (
        "true", "false", "true", "true", "edge")
    # the refresh step: the locks re-resolved within the pins and the base digests, then the
    # bake file rendered from them
    bin_dir, log = recording_bakery(tmp_path)
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "RUNNER_TEMP": str(tmp_path)}
    refreshed = run_step(step("refresh", "refresh")["run"], env, checkout["dir"], tmp_path)
    assert refreshed.code == 0, refreshed.stderr
    # on a change, the refreshed commit's own plan gives the build jobs
    planned = step("refresh", "plan the refreshed commit")
    assert planned["if"] == "steps.changed.outputs.changed == 'true'"
    assert planned["env"]["PLAN_TARGET"] == "${{ needs.plan.outputs.plan-target }}"
    ran_plan = run_step(planned["run"], {**env, "PLAN_TARGET": ran.outputs["plan-target"]},
                        checkout["dir"], tmp_path)
    assert ran_plan.code == 0, ran_plan.stderr
    assert calls(log) == ["lock --upgrade", "render", "plan --format gha-matrix --target all"]
    assert JOBS["refresh"]["outputs"] == {
        "changed": "${{ steps.changed.outputs.changed }}",
        "sha": "${{ steps.propose.outputs.sha }}",
        "matrix": "${{ steps.plan.outputs.matrix }}",
    }


def test_other_runs_never_refresh(checkout: dict[str, str], tmp_path: Path) -> None:
    for event, ref in (("push", "refs/heads/main"), ("pull_request", "refs/pull/7/merge")):
        ran = decide(event, ref, checkout["on_main"], checkout, tmp_path)
        assert (ran.outputs["refresh"], ran.outputs["build"]) == ("false", "true"), event


@dataclass
class Refresh:
    """A checkout of main with committed locks and bake file, after `bakery lock`, whose
    origin is a bare repository; a `gh` that records its calls and knows the open pull
    request it is told of."""

    repo: Path
    origin: Path
    env: dict[str, str]
    gh_log: Path
    summary: Path
    report: Path

    def run(self, name: str) -> Ran:
        return run_step(step("refresh", name)["run"], self.env, str(self.repo),
                        self.report.parent)

    def gh_calls(self) -> list[str]:
        return self.gh_log.read_text().splitlines() if self.gh_log.exists() else []


@pytest.fixture
def refresh(tmp_path: Path, allow_subprocess: None) -> Refresh:
    origin = tmp_path / "origin.git"
    _git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.email", "ci@example.invalid")
    _git(repo, "config", "user.name", "ci")
    (repo / "locks" / "edge-py313").mkdir(parents=True)
    (repo / "locks" / "edge-py313" / "3-rest.txt").write_text("numpy==1.0\n")
    (repo / "locks" / "manifest.json").write_text("{}\n")
    (repo / "docker-bake.hcl").write_text("# bake\n")
    (repo / ".github" / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / ".github" / "scripts" / "lock-refresh.sh", repo / ".github" / "scripts")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "main")
    _git(repo, "remote", "add", "origin", str(origin))
    _git(repo, "push", "-q", "origin", "main")
    bin_dir = tmp_path / "gh-bin"
    bin_dir.mkdir()
    gh_log = tmp_path / "gh.log"
    (bin_dir / "gh").write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$*" >> {shlex.quote(str(gh_log))}\n'
        'if [ "$1 $2" = "pr list" ]; then cat "$GH_OPEN_PR" 2>/dev/null || true; fi\n'
    )
    (bin_dir / "gh").chmod(0o755)
    report = tmp_path / "runner-temp" / "lock-refresh.txt"
    report.parent.mkdir()
    report.write_text("edge-py313  linux/amd64 python 3.13.9  updated\n"
                      "  numpy  1.0 -> 1.1  [3-rest]\n")
    summary = tmp_path / "summary.md"
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "HOME": str(tmp_path),
           "RUNNER_TEMP": str(report.parent), "GITHUB_STEP_SUMMARY": str(summary),
           "BRANCH": JOBS["refresh"]["env"]["BRANCH"], "BASE": "main",
           "GH_TOKEN": "token-for-the-test", "GH_OPEN_PR": str(tmp_path / "open-pr")}
    return Refresh(repo, origin, env, gh_log, summary, report)


def test_a_refresh_that_changed_nothing_stops_and_says_so(refresh: Refresh) -> None:
    ran = refresh.run("what changed")
    assert ran.code == 0, ran.stderr
    assert ran.outputs == {"changed": "false"}
    summary = refresh.summary.read_text()
    assert "Lock refresh: nothing changed" in summary
    assert "nothing is built or\npublished" in summary
    # the artifact and the pull request are skipped; nothing is pushed
    for name in ("upload the refreshed locks", "propose"):
        assert step("refresh", name)["if"] == "steps.changed.outputs.changed == 'true'"
    assert _git(refresh.origin, "branch", "--list") == "* main"


def test_a_refresh_that_changed_a_lock_is_uploaded_and_proposed_as_a_pull_request(
    refresh: Refresh
) -> None:
    (refresh.repo / "locks" / "edge-py313" / "3-rest.txt").write_text("numpy==1.1\n")
    (refresh.repo / "locks" / "edge-py313" / "1-cuda.txt").write_text("# empty\n")
    ran = refresh.run("what changed")
    assert ran.code == 0, ran.stderr
    assert ran.outputs == {"changed": "true"}
    summary = refresh.summary.read_text()
    assert "Lock refresh: the locks changed" in summary
    assert "numpy  1.0 -> 1.1  [3-rest]" in summary
    assert "locks/edge-py313/3-rest.txt" in summary
    upload = step("refresh", "upload the refreshed locks")
    assert upload["with"]["name"] == "refreshed-locks"
    assert upload["with"]["path"].split() == ["locks/", "docker-bake.hcl"]

    proposed = refresh.run("propose")
    assert proposed.code == 0, proposed.stderr
    branch = JOBS["refresh"]["env"]["BRANCH"]
    # the commit pushed is the one the build jobs check out and build
    assert proposed.outputs["sha"] == _git(refresh.origin, "rev-parse", branch)
    # one commit on top of main holding exactly the refreshed files
    assert _git(refresh.origin, "rev-list", "--count", f"main..{branch}") == "1"
    changed = _git(refresh.origin, "diff", "--name-only", f"main..{branch}").split()
    assert changed == ["locks/edge-py313/1-cuda.txt", "locks/edge-py313/3-rest.txt"]
    (pr_list, create) = refresh.gh_calls()
    assert pr_list.startswith(f"pr list --head {branch} --base main --state open")
    assert create.startswith(f"pr create --base main --head {branch} --title ")

    # the next week's refresh, with that pull request still open: force-pushed and updated
    _git(refresh.repo, "checkout", "-q", "main")
    (refresh.repo / "locks" / "edge-py313" / "3-rest.txt").write_text("numpy==1.2\n")
    Path(refresh.env["GH_OPEN_PR"]).write_text("42\n")
    refresh.gh_log.unlink()
    again = refresh.run("propose")
    assert again.code == 0, again.stderr
    assert refresh.gh_calls()[1].startswith("pr edit 42 --body-file ")
    assert _git(refresh.origin, "rev-list", "--count", f"main..{branch}") == "1"
    assert _git(refresh.origin, "show", f"{branch}:locks/edge-py313/3-rest.txt") == "numpy==1.2"


def test_a_pull_request_that_cannot_be_opened_does_not_stop_the_edge_rebuild(
    refresh: Refresh
) -> None:
    """The repository does not let GitHub Actions open pull requests (and no
    LOCK_REFRESH_TOKEN): the refreshed commit is pushed, its sha handed to the build jobs, and
    the summary names the setting; the step succeeds, so edge still gets the week's fixes."""
    (refresh.repo / "locks" / "edge-py313" / "3-rest.txt").write_text("numpy==1.1\n")
    gh = Path(refresh.env["PATH"].split(os.pathsep)[0]) / "gh"
    gh.write_text(gh.read_text() + 'if [ "$1 $2" = "pr create" ]; then echo "GitHub Actions is'
                  ' not permitted to create or approve pull requests" >&2; exit 1; fi\n')
    ran = refresh.run("propose")
    assert ran.code == 0, ran.stderr
    branch = JOBS["refresh"]["env"]["BRANCH"]
    assert ran.outputs["sha"] == _git(refresh.origin, "rev-parse", branch)
    summary = refresh.summary.read_text()
    assert "Allow GitHub Actions to create and approve pull\nrequests" in summary
    assert "LOCK_REFRESH_TOKEN" in summary
    # the build then runs for that commit: the refresh job succeeded and changed something
    assert "needs.refresh.result == 'success' && needs.refresh.outputs.changed == 'true'" in (
        JOBS["build"]["if"])


def test_gpu_runner_requires_the_gpu_checks_and_qemu_skips_nested(tmp_path: Path,
                                                                  allow_subprocess: None) -> None:
    outputs = {"push": "true"}
    assert build_steps(outputs, tmp_path, job="build-gpu") == [
        "bake --target edge-py313 --push",
        "verify --target edge-py313 --require-gpu",
        "test --target edge-py313 --require-gpu",
    ]
    assert build_steps(outputs, tmp_path, emulated=True)[-1] == (
        "test --target edge-py313 --skip-nested")


def test_promotion_without_results_fails(tmp_path: Path, allow_subprocess: None) -> None:
    ran, commands = promote({"names": "branch"}, tmp_path, results=0)
    assert ran.code == 1
    assert "no results files were downloaded" in ran.stderr
    assert commands == []


def test_a_failing_release_fails_the_step_despite_the_tee(tmp_path: Path,
                                                          allow_subprocess: None) -> None:
    bin_dir, _ = recording_bakery(tmp_path)
    (bin_dir / "bakery").write_text("#!/bin/sh\necho '| tag | FAILED |'\nexit 1\n")
    work = tmp_path / "w"
    (work / "results" / "results-a").mkdir(parents=True)
    (work / "results" / "results-a" / "results.json").write_text("{}")
    summary = tmp_path / "summary.md"
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "NAMES": "release",
           "GITHUB_STEP_SUMMARY": str(summary)}
    ran = run_step(step("promote", "promote")["run"], env, str(work), tmp_path)
    assert ran.code == 1
    assert "FAILED" in summary.read_text()


def test_free_disk_script_refuses_a_too_small_disk(tmp_path: Path, allow_subprocess: None) -> None:
    """The disk step fails in seconds, naming both figures, when the runner is too small."""
    if shutil.which("jq") is None:
        pytest.skip("jq is not installed (GitHub runners have it)")
    script = ROOT / ".github/scripts/free-disk.sh"
    done = subprocess.run(
        ["bash", str(script), "100000"], capture_output=True, text=True, check=False,
        timeout=60, env={**os.environ, "SCRATCH": str(tmp_path / "no-such-disk"),
                          "FREE_DISK_DRY_RUN": "1"},
    )
    assert done.returncode == 1
    assert "this job needs 100000 GB" in done.stderr
    assert "use a larger runner" in done.stderr
    assert "would remove" in done.stdout or "before:" in done.stdout
