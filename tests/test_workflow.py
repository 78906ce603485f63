"""The GitHub workflow keeps the promises users and maintainers depend on.

Pinned actions, least privilege, release only on tags, secrets only where they are needed, and
the bakery commands it runs are exactly the ones docs/ci.md lists (and the ones the README's
CI section names).
"""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest
import yaml

from tests.support.repo import ROOT

WORKFLOW_PATH = ROOT / ".github" / "workflows" / "images.yml"
WORKFLOW_TEXT = WORKFLOW_PATH.read_text()
WORKFLOW: dict[Any, Any] = yaml.safe_load(WORKFLOW_TEXT)
JOBS: dict[str, dict[str, Any]] = WORKFLOW["jobs"]
# PyYAML reads the bare key `on` as the boolean True (YAML 1.1).
TRIGGERS: dict[str, Any] = WORKFLOW.get("on", WORKFLOW.get(True))

SHELL_PUNCTUATION = set("();<>|&")


def steps(job: str) -> list[dict[str, Any]]:
    return list(JOBS[job]["steps"])


def run_scripts() -> list[str]:
    return [s["run"] for job in JOBS.values() for s in job["steps"] if "run" in s]


def bakery_commands(script: str) -> list[list[str]]:
    """Each `bakery ...` command in a shell script, as tokens, cut at shell punctuation."""
    commands = []
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        tokens = list(lexer)
        for start, token in enumerate(tokens):
            if token != "bakery":
                continue
            command = []
            for word in tokens[start:]:
                if set(word) <= SHELL_PUNCTUATION:
                    break
                command.append(word)
            commands.append(command)
    return commands


def markdown_sh_block(text: str, heading: str) -> str | None:
    section = re.search(rf"^## {re.escape(heading)}.*?$(.*?)(?=^## |\Z)", text, re.M | re.S)
    if section is None:
        return None
    block = re.search(r"```sh\n(.*?)```", section.group(1), re.S)
    return None if block is None else block.group(1)


ALL_WORKFLOWS_TEXT = "\n".join(
    p.read_text() for p in sorted((ROOT / ".github" / "workflows").glob("*.yml")))


def test_every_action_is_pinned_by_commit_sha_with_its_version() -> None:
    uses = re.findall(r"^\s*(?:-\s+)?uses:\s*(.+)$", ALL_WORKFLOWS_TEXT, re.M)
    assert uses, "the workflow uses no actions?"
    for line in uses:
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+", line.strip()), (
            f"not pinned by a full commit SHA with a `# vX.Y.Z` comment: {line!r}"
        )
    # The same action is pinned to the same commit everywhere.
    pins: dict[str, set[str]] = {}
    for line in uses:
        action, _, rest = line.partition("@")
        pins.setdefault(action, set()).add(rest.strip())
    assert {a: p for a, p in pins.items() if len(p) > 1} == {}


def test_permissions_are_minimal() -> None:
    assert WORKFLOW["permissions"] in ({}, {"contents": "read"})
    for name, job in JOBS.items():
        if name == "refresh":
            # the one job that writes: the refreshed locks' branch and its pull request
            assert job["permissions"] == {"contents": "write", "pull-requests": "write"}
            assert job["if"] == "needs.plan.outputs.refresh == 'true'"
            continue
        assert job.get("permissions") == {"contents": "read"}, name


def test_checkout_keeps_no_credentials() -> None:
    for name, job in JOBS.items():
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step.get("with", {}).get("persist-credentials") is False, name


def test_no_expression_is_expanded_inside_a_run_script() -> None:
    for script in run_scripts():
        assert "${{" not in script, script


def test_concurrency() -> None:
    assert "github.ref" in WORKFLOW["concurrency"]["group"]
    # promotions of different refs never overlap
    promote = JOBS["promote"]["concurrency"]
    assert "github.ref" not in promote["group"]
    assert promote["cancel-in-progress"] is False
    # a waiting promotion waits: without `queue: max` GitHub keeps one pending run per group
    # and cancels it when the next one arrives
    assert promote["queue"] == "max"


def test_build_fans_out_over_the_plan_matrix() -> None:
    build = JOBS["build"]
    assert build["needs"] == ["plan", "refresh"]
    assert build["strategy"]["fail-fast"] is False
    # the plan's matrix, or the refreshed commit's when a weekly refresh changed a lock
    assert build["strategy"]["matrix"] == (
        "${{ fromJSON(needs.refresh.outputs.matrix || needs.plan.outputs.matrix) }}")
    assert "matrix.runner" in build["runs-on"]
    assert "GPU_RUNNER" not in build["runs-on"]  # hosted runners only: the GPU is build-gpu's
    assert any(s.get("uses", "").startswith("docker/setup-buildx-action@") for s in steps("build"))
    upload = next(s for s in steps("build") if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"]["path"] == ".bakery/results.json"
    assert upload["with"]["name"] == "results-${{ matrix.target }}"
    # .bakery is hidden: upload-artifact >= 4.4 would silently skip it.
    assert upload["with"]["include-hidden-files"] is True
    # a re-run of a failed job replaces its artifact instead of failing on the name
    assert upload["with"]["overwrite"] is True
    # images never outlive the job on the runner
    prune = next(s for s in steps("build") if s.get("name") == "prune")
    assert prune["if"] == "always()"


def test_secrets_only_in_logins_and_never_on_pull_requests() -> None:
    for name, job in JOBS.items():
        for step in job["steps"]:
            uses_secrets = "secrets." in yaml.safe_dump(step)
            if not uses_secrets:
                continue
            if name == "refresh":
                # an optional token of its own, so the pull request's checks run
                assert step["env"] == {
                    "GH_TOKEN": "${{ secrets.LOCK_REFRESH_TOKEN || github.token }}"}
                continue
            assert name in {"build", "build-gpu", "promote"}, name
            assert step["uses"].startswith("docker/login-action@"), step
            if name == "build":
                # pushes only; `bakery ci` says push=false for every pull request
                assert step["if"] == "needs.plan.outputs.push == 'true'"
    assert "secrets." not in yaml.safe_dump(JOBS["plan"])
    assert JOBS["build"]["environment"] == (
        "${{ needs.plan.outputs.push == 'true' && 'staging' || '' }}")


def test_only_the_protected_promote_job_holds_the_credential_that_moves_public_names() -> None:
    for name, job in JOBS.items():
        text = yaml.safe_dump(job)
        if name == "promote":
            assert job["environment"] == "release"
            assert "secrets.DOCKERHUB_TOKEN" in text
        else:
            assert "DOCKERHUB" not in text, name
    for name in ("build", "build-gpu"):
        assert JOBS[name]["environment"] in ("staging", (
            "${{ needs.plan.outputs.push == 'true' && 'staging' || '' }}"))
        login = next(s for s in steps(name) if s.get("name") == "log in to staging")
        assert login["with"]["password"] == "${{ secrets.STAGING_TOKEN }}"


@pytest.mark.parametrize("job", ["build", "build-gpu"])
def test_the_build_logs_out_before_the_candidate_runs_with_broad_privileges(job: str) -> None:
    names = [s.get("name") for s in steps(job)]
    assert names.index("bake") < names.index("verify") < names.index("log out of staging") \
        < names.index("test")
    logout = steps(job)[names.index("log out of staging")]
    assert "docker logout" in logout["run"]
    assert logout.get("if") == JOBS[job]["steps"][names.index("log in to staging")].get("if")


def test_the_gpu_runner_is_only_asked_for_by_pushes_of_this_repository() -> None:
    gpu = JOBS["build-gpu"]
    condition = " ".join(gpu["if"].split())
    assert condition.startswith("github.event_name == 'push' && github.repository ==")
    assert gpu["runs-on"] == "${{ vars.GPU_RUNNER }}"
    assert gpu["needs"] == "plan"  # never a refresh's commit, never a pull request
    assert gpu["strategy"]["matrix"] == "${{ fromJSON(needs.plan.outputs.gpu-matrix) }}"
    # and no other job names the GPU runner
    for name, job in JOBS.items():
        if name != "build-gpu":
            assert "GPU_RUNNER" not in str(job.get("runs-on")), name
    # the plan splits the GPU targets off under the same condition
    split = next(s for s in steps("plan") if s.get("name") == "plan")
    assert " ".join(split["env"]["GPU_JOB"].split()).startswith(
        "${{ github.event_name == 'push' && github.repository ==")
    repo = re.search(r"github.repository == '([^']+)'", condition)
    assert repo is not None and f"github.repository == '{repo[1]}'" in split["env"]["GPU_JOB"]


def test_bakery_is_installed_from_the_hashed_lock() -> None:
    for name, job in JOBS.items():
        for step in job["steps"]:
            script = step.get("run", "")
            if "pip install" not in script:
                continue
            lines = [line.strip() for line in script.splitlines() if "pip install" in line]
            assert lines == [
                "pip install --require-hashes --no-deps -r .github/requirements/bakery.txt",
                "pip install --no-deps --no-build-isolation .",
            ], name


def test_the_commands_are_exactly_those_docs_ci_lists() -> None:
    block = markdown_sh_block((ROOT / "docs" / "ci.md").read_text(), "Commands the workflow runs")
    assert block is not None, "docs/ci.md lost its '## Commands the workflow runs' sh block"
    documented = bakery_commands(block)
    ran = [c for script in run_scripts() for c in bakery_commands(script)]
    assert ran, "the workflow runs no bakery command?"
    assert [shlex.join(c) for c in ran] == [shlex.join(c) for c in documented]


def shape(command: list[str]) -> tuple[str, frozenset[str]]:
    """A bakery command's subcommand and option names: what the README and workflow share."""
    return command[1], frozenset(w for w in command[2:] if w.startswith("--"))


def test_the_readme_ci_section_is_what_the_workflow_runs() -> None:
    """README's "The CI" names the workflow's commands inline (the exact command lines are in
    docs/ci.md, held to the workflow above): each one the workflow runs with those options, and
    every command of the push path named."""
    readme = (ROOT / "README.md").read_text()
    section = re.search(r"^## The CI$(.*?)(?=^## |\Z)", readme, re.M | re.S)
    assert section is not None, "README lost its '## The CI' section"
    listed = [shlex.split(span) for span in re.findall(r"`(bakery [^`]+)`", section.group(1))]
    assert listed, "README's CI section names no bakery command"
    ran = [c for script in run_scripts() for c in bakery_commands(script)]
    missing = [shlex.join(c) for c in listed
               if not any(r[1] == c[1] and shape(c)[1] <= shape(r)[1] for r in ran)]
    assert missing == [], "README names commands the workflow does not run"
    # ...and every command of the push path is named (lock and render: the weekly refresh).
    refresh_only = {"lock", "render"}
    assert {c[1] for c in ran} - refresh_only <= {c[1] for c in listed}
