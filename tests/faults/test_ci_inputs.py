"""The CI variables `bakery ci` reads are outside input: a ref git would never make (a line
break, a space, `..`), a commit named by a name, an empty default branch, a checkout that is
not there. Each is refused in one line (exit 2) and nothing is printed for $GITHUB_OUTPUT;
what it does print can never hold a line of its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bakery.ci.events import EVENTS, decide, github_outputs, ref_problem
from bakery.errors import ConfigError
from tests.faults.conftest import one_line_error
from tests.support.cli import run_cli

INJECTED = [
    "refs/heads/main\npush=true",
    "refs/heads/main\r\nnames=all",
    "refs/tags/v1.3.0\nnames=all",
    "refs/heads/ma in",
    "refs/heads/a..b",
    "refs/heads/a~1",
    "refs/heads/a^",
    "refs/heads/a:b",
    "refs/heads/a?",
    "refs/heads/a*",
    "refs/heads/a[b",
    "refs/heads/a\\b",
    "refs/heads/a@{1}",
    "refs/heads/.hidden",
    "refs/heads/x.lock",
    "refs/heads//main",
    "refs/heads/main/",
    "refs/heads/main.",
    "refs/heads/\x7fmain",
    "refs/heads/\tmain",
    "main",
    "",
]


@pytest.mark.parametrize("ref", INJECTED)
@pytest.mark.parametrize("event", ["push", "pull_request", "schedule"])
def test_a_ref_git_forbids_is_refused_and_nothing_is_output(
        capsys: pytest.CaptureFixture[str], ref: str, event: str) -> None:
    done = run_cli(capsys, "ci", "--event", event, "--ref", ref, "--format", "github")
    line = one_line_error(done.code, done.err)
    assert line.startswith("bakery: error: GITHUB_REF: "), line
    assert "is not a valid git ref name" in line, line
    assert done.out == ""


def test_the_refs_a_workflow_has_pass() -> None:
    for ref in ("refs/heads/main", "refs/tags/v1.3.0-rc.1", "refs/pull/12/merge",
                "refs/heads/feature/x_y-1.2"):
        assert ref_problem(ref) is None, ref


def test_an_empty_default_branch_promotes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    done = run_cli(capsys, "ci", "--event", "push", "--ref", "refs/heads/",
                   "--default-branch", "", "--format", "github")
    line = one_line_error(done.code, done.err)
    assert "GITHUB_REF: 'refs/heads/' is not a valid git ref name" in line
    done = run_cli(capsys, "ci", "--event", "push", "--ref", "refs/heads/main",
                   "--default-branch", "", "--format", "github")
    line = one_line_error(done.code, done.err)
    assert line == "bakery: error: --default-branch: '' is not a valid branch name"
    assert done.out == ""


@pytest.mark.parametrize("sha", ["HEAD", "main", "origin/main", "HEAD~1", "abc", "0" * 41,
                                 "ABCDEF1"])
def test_a_commit_named_by_a_name_is_refused(capsys: pytest.CaptureFixture[str],
                                             sha: str) -> None:
    """A name would be resolved by git in the checkout, and HEAD is always on itself."""
    done = run_cli(capsys, "ci", "--event", "push", "--ref", "refs/tags/v1.3.0",
                   "--sha", sha, "--branch-ref", "HEAD", "--format", "github")
    line = one_line_error(done.code, done.err)
    assert line == (f"bakery: error: GITHUB_SHA: {sha!r} is not a commit id (7 to 40 lowercase"
                    " hex digits)")
    assert done.out == ""


def test_a_missing_checkout_is_named_as_such(capsys: pytest.CaptureFixture[str],
                                             tmp_path: Path) -> None:
    missing = tmp_path / "no-such-checkout"
    done = run_cli(capsys, "ci", "--event", "push", "--ref", "refs/tags/v1.3.0",
                   "--sha", "a" * 40, "--repo", str(missing))
    line = one_line_error(done.code, done.err)
    assert line == (f"bakery: error: --repo: {missing} is not a directory (the git checkout"
                    " of the release tag)")
    assert "not on PATH" not in line


def _parse_github_output(text: str) -> dict[str, str]:
    """$GITHUB_OUTPUT as the runner reads it: `key=value`, or `key<<DELIM` ... `DELIM`."""
    out: dict[str, str] = {}
    lines = text.split("\n")
    assert lines.pop() == ""
    while lines:
        line = lines.pop(0)
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delimiter = line.split("<<", 1)
            end = lines.index(delimiter)
            out[key] = "\n".join(lines[:end])
            del lines[:end + 1]
        else:
            key, value = line.split("=", 1)
            out[key] = value
    return out


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["reason", "ref", "names", "push"]),
                       st.text(max_size=40), min_size=1))
def test_no_value_adds_an_output_of_its_own(values: dict[str, str]) -> None:
    assert _parse_github_output(github_outputs(values)) == values


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(EVENTS), st.text(max_size=30).map(lambda s: "refs/" + s),
       st.text(max_size=12))
def test_any_ref_and_branch_are_refused_or_give_exactly_the_outputs(
        event: str, ref: str, branch: str) -> None:
    try:
        decision = decide(event, ref, default_branch=branch)
    except ConfigError as exc:
        assert "\n" not in str(exc).replace(repr(ref), "").replace(repr(branch), "")
        return
    outputs = decision.outputs()
    parsed = _parse_github_output(github_outputs(outputs))
    assert parsed == outputs
    assert all("\n" not in v and "\r" not in v for v in outputs.values())
