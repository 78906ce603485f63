"""Every shell command example in README.md and docs/*.md is run here, or listed below with the
reason it cannot run on a test machine; so an example cannot drift from the commands again.

* Every `bakery` command of every example is parsed by the real command line (subcommand,
  option names, option values), whether or not it can run here.
* Every `bakery` synopsis (a plain ``` block starting `bakery <command> [`) names every option
  of its command, and only those.
* The examples that need neither Docker nor a network run in-process on a copy of the shipped
  project and must exit 0; `bakery bake --dry-run` runs against the real engine (`engine`).
* Everything else is listed in NOT_HERE (an exact command) or by its subcommand in
  BAKERY_NOT_HERE, with the reason; a listed command that no document holds any more fails.
"""

from __future__ import annotations

import re
import shlex
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer

from bakery.cli.app import COMMANDS, app, register
from tests.support.cli import run_cli
from tests.support.repo import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL_PUNCTUATION = set("|&;<>()")

# Commands that cannot run on a test machine, exactly as the documents write them (comments
# dropped), with the reason.
NOT_HERE = {
    "python3 -m venv .venv && .venv/bin/pip install -q -e '.[dev]' && .venv/bin/bakery plan":
        "installs from PyPI into a new venv: the first step of .ci/run, which CI runs from a"
        " fresh clone; the `bakery plan` at its end runs here as `bakery plan`",
    ".venv/bin/python -m pytest":
        "is this test suite; .ci/run runs exactly this line (tests/test_readme.py checks it)",
    "sudo apt-get install docker-registry":
        "installs a system service (root, Debian's archive)",
    "docker run -d --restart=always -p 5000:5000 --name registry registry:2":
        "pulls registry:2 from Docker Hub; tests start loopback registries of their own"
        " (tests/support/registry.py)",
    "docker buildx create --name bakery --driver docker-container --driver-opt network=host"
    " --bootstrap":
        "bootstraps moby/buildkit, pulled from Docker Hub, and creates a builder on the shared"
        " engine",
    "images/test_image.sh ratio1/base_edge_node_amd64_cpu:py3.13.9-th2.9.1.cpu-tr4.57.1"
    " --expect-file amd64_cpu.env":
        "needs the built image; test_image.sh itself runs against stand-in images in"
        " tests/imagetest",
    "apt-get install -y qemu-user-static binfmt-support":
        "changes the host (root, Debian's archive)",
    "mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc"
    " /proc/sys/fs/binfmt_misc":
        "changes the host (root)",
    "update-binfmts --enable qemu-aarch64":
        "changes the host (root)",
    "bakery ci --event push --ref refs/tags/v1.3.0 --sha \"$(git rev-parse HEAD)\"":
        "needs a checkout of a tagged commit of main; tests/ci runs `bakery ci` on such"
        " repositories",
}
# docs/running.md's example is run as written by an engine test of its own.
RUNNING_DOC = "running.md"
RUN_ELSEWHERE = "tests/engine/test_readme_running.py runs it as written"
# Lines with workflow variables are docs/ci.md's copy of the workflow's steps.
WORKFLOW = "a step of the workflow: tests/test_workflow_runs.py runs it with each event's values"

BAKERY_NOT_HERE = {
    "bake": "builds the real images: needs buildx, ubuntu:24.04 from Docker Hub and the package"
            " indexes (tests/bake and the engine tests build stand-ins)",
    "verify": "needs built candidates (tests/verify runs verify on stand-in images)",
    "test": "needs built images (tests/imagetest runs test on stand-in images)",
    "release": "needs verified candidates in a registry (tests/release does it on loopback"
               " registries)",
    "preflight": "asks the package indexes on the network (tests/preflight uses fixture"
                 " indexes)",
    "lock": "asks the package indexes and the base image's registry on the network"
            " (tests/lockfile uses fixture indexes and loopback registries)",
    "outdated": "asks the package indexes on the network (tests/preflight, tests/lockfile)",
    "update-cost": "needs released and candidate images in a registry (tests/updates)",
    "summary": "needs a results file from a bake",
    "ci": "needs the workflow's event",
}
# Runnable in-process, no Docker, no network: what these subcommands need (with these options).
RUNS_HERE = {"plan", "render"}
# `bakery` with no command, or with a global option instead of one (docs/cli.md)
COMPLETION = "tests/test_cli_habits.py runs it (installing into a temporary HOME)"
GLOBAL_NOT_HERE = {"--show-completion": COMPLETION, "--install-completion": COMPLETION}


@dataclass(frozen=True)
class Example:
    doc: str
    line: str  # as written, continuations joined

    @property
    def command(self) -> str:
        """The command without its comment."""
        lexer = shlex.shlex(self.line, posix=False, punctuation_chars=False)
        lexer.commenters = "#"
        lexer.whitespace_split = True
        return " ".join(lexer)

    def bakery_argv(self) -> list[str] | None:
        """`bakery ...` as argv, cut at the first shell punctuation (a redirection, a pipe);
        a placeholder `<candidate>` stands for a word."""
        line = re.sub(r"<([a-z][a-z_-]*)>", r"\1", self.line)
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        tokens = list(lexer)
        if tokens[:1] != ["bakery"]:
            return None
        argv = []
        for token in tokens[1:]:
            if set(token) <= SHELL_PUNCTUATION:
                break
            argv.append(token)
        return argv


def _blocks(text: str, langs: tuple[str, ...]) -> Iterator[str]:
    for lang, body in re.findall(r"^```(\w*)\n(.*?)^```", text, flags=re.S | re.M):
        if lang in langs:
            yield body


def examples() -> list[Example]:
    found = []
    for path in DOCS:
        for body in _blocks(path.read_text(), ("sh", "bash", "console")):
            for line in body.replace("\\\n", " ").splitlines():
                if line.strip() and not line.lstrip().startswith("#"):
                    found.append(Example(doc=path.name, line=re.sub(r" {2,}", " ", line.strip())))
    return found


def synopses() -> list[tuple[str, str]]:
    found = []
    for path in DOCS:
        for body in _blocks(path.read_text(), ("",)):
            if re.match(r"bakery [a-z-]+ \[", body):
                found.append((path.name, " ".join(body.split())))
    return found


EXAMPLES = examples()


def reason(example: Example) -> str | None:
    """Why an example cannot run here; None when this module runs it."""
    if example.command in NOT_HERE:
        return NOT_HERE[example.command]
    if example.doc == RUNNING_DOC:
        return RUN_ELSEWHERE
    argv = example.bakery_argv()
    if argv is None:
        return None  # not bakery and not listed: test_every_example_runs_or_says_why fails
    if "$" in example.line:
        return WORKFLOW
    if not argv or argv[0].startswith("-"):
        return GLOBAL_NOT_HERE.get(argv[0]) if argv else None
    if argv[0] in RUNS_HERE or (argv[0] == "test" and "--print-env" in argv):
        return None
    if argv[0] == "bake" and "--dry-run" in argv:
        return None
    return BAKERY_NOT_HERE.get(argv[0])


def _command(name: str) -> Any:
    """The click command typer builds for `bakery <name>` (typer carries its own click)."""
    register([name])
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    assert name in commands, f"bakery has no command {name!r}"
    return commands[name]


def _option_names(command: Any) -> set[str]:
    return {name for p in command.params if p.param_type_name == "option"
            for name in (*p.opts, *p.secondary_opts)} - {"-h", "--help"}


def test_the_documents_hold_examples() -> None:
    docs = {e.doc for e in EXAMPLES}
    assert {"README.md", "building.md", "plan.md", "packages.md", "running.md"} <= docs
    assert len(EXAMPLES) > 50


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: f"{e.doc}:{e.command[:50]}")
def test_every_example_runs_or_says_why(example: Example) -> None:
    argv = example.bakery_argv()
    if argv is None:
        assert reason(example) is not None, (
            f"{example.doc}: `{example.command}` is neither run by a test nor listed in"
            " NOT_HERE with the reason it cannot run here")
        return
    if not argv or argv[0].startswith("-"):  # bare `bakery`, or a global option
        root = typer.main.get_command(app)
        known = {n for p in root.params for n in (*p.opts, *p.secondary_opts)}
        unknown = [a for a in argv if a.startswith("-") and a not in known | {"--help"}]
        assert unknown == [], f"{example.doc}: `{example.line}`: bakery has no {unknown}"
        return
    assert argv[0] in COMMANDS, f"{example.doc}: `{example.line}`: no such command"
    command = _command(argv[0])
    args = argv[1:]
    unknown = [a.split("=")[0] for a in args if a.startswith("-")
               and a.split("=")[0] not in _option_names(command) | {"--help"}]
    assert unknown == [], f"{example.doc}: `{example.line}`: bakery {argv[0]} has no {unknown}"
    if "$" not in example.line and "--help" not in args:  # values: choices, numbers, arguments
        command.make_context(argv[0], list(args), resilient_parsing=False)


def test_every_listed_command_is_still_documented() -> None:
    documented = {e.command for e in EXAMPLES}
    stale = [command for command in NOT_HERE if command not in documented]
    assert stale == [], "NOT_HERE lists commands no document holds"


@pytest.mark.parametrize("doc,synopsis", synopses(), ids=lambda v: str(v)[:40])
def test_every_synopsis_names_every_option_of_its_command(doc: str, synopsis: str) -> None:
    name = synopsis.split()[1]
    command = _command(name)
    written = set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", synopsis))
    longs = {n for n in _option_names(command) if n.startswith("--")}
    assert written - _option_names(command) == set(), f"{doc}: not options of bakery {name}"
    assert longs - written == set(), f"{doc}: the synopsis of bakery {name} lacks them"


def test_there_are_synopses_and_runnable_examples_to_check() -> None:
    assert {s.split()[1] for _, s in synopses()} >= {"release", "test"}
    assert len(RUNNABLE) >= 10 and DRY_RUNS


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the shipped project (no git checkout), the working directory of the runs."""
    for name in ("matrix.toml", "matrix.lock.json", "docker-bake.hcl.j2", "docker-bake.hcl"):
        shutil.copy(ROOT / name, tmp_path / name)
    for name in ("locks", "images"):
        shutil.copytree(ROOT / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BAKERY_MATRIX", raising=False)
    return tmp_path


RUNNABLE = [e for e in EXAMPLES if e.bakery_argv() is not None and reason(e) is None]
DRY_RUNS = [e for e in RUNNABLE if (e.bakery_argv() or [""])[0] == "bake"]


@pytest.mark.parametrize("example", [e for e in RUNNABLE if e not in DRY_RUNS],
                         ids=lambda e: f"{e.doc}:{e.command[:60]}")
def test_the_examples_that_can_run_here_exit_0(
    example: Example, project: Path, capsys: pytest.CaptureFixture[str], allow_subprocess: None,
) -> None:
    argv = example.bakery_argv()
    assert argv is not None
    result = run_cli(capsys, *argv)
    assert result.code == 0, f"{example.doc}: `{example.line}`\n{result.err}"
    assert result.out


@pytest.mark.engine
@pytest.mark.parametrize("example", DRY_RUNS, ids=lambda e: f"{e.doc}:{e.command[:60]}")
def test_the_bake_dry_runs_exit_0_on_the_engine(
    example: Example, project: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    argv = example.bakery_argv()
    assert argv is not None and "--dry-run" in argv
    result = run_cli(capsys, *argv)
    assert result.code == 0, f"{example.doc}: `{example.line}`\n{result.err}"
    assert "docker buildx bake" in result.out
    assert not (project / ".bakery" / "results.json").exists()
