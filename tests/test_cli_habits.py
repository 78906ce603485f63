"""What a command-line tool is expected to do: a version flag, help on a bare call, shell
completion, and help that names its placeholders in words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bakery import __version__
from bakery.cli.app import COMMANDS
from tests.support.cli import run_cli


@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_version(capsys: pytest.CaptureFixture[str], flag: str) -> None:
    result = run_cli(capsys, flag)
    assert (result.code, result.out, result.err) == (0, f"bakery {__version__}\n", "")


def test_bare_bakery_prints_the_help_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys)
    assert result.code == 0 and result.err == ""
    assert result.out.startswith("Usage: bakery [OPTIONS] COMMAND [ARGS]...")
    assert all(f"  {name} " in result.out for name in COMMANDS)
    assert result.out == run_cli(capsys, "--help").out


def test_completion_script_for_bash(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "--show-completion", "bash")
    assert result.code == 0, result.err
    assert "_BAKERY_COMPLETE=complete_bash" in result.out
    assert "complete -o default -F _bakery_completion bakery" in result.out


def test_completion_installs_into_the_users_shell_setup(
        capsys: pytest.CaptureFixture[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    result = run_cli(capsys, "--install-completion", "bash")
    assert result.code == 0, result.err
    script = tmp_path / ".bash_completions" / "bakery.sh"
    assert "_bakery_completion" in script.read_text(encoding="utf-8")
    assert str(script.relative_to(tmp_path)) in (tmp_path / ".bashrc").read_text(encoding="utf-8")


@pytest.mark.parametrize(("words", "expected"), [
    ("bakery pl", {"plan"}),
    ("bakery plan --form", {"--format"}),
    ("bakery plan --format ", {"table", "json", "gha-matrix"}),
])
def test_completion_answers_commands_options_and_choices(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        words: str, expected: set[str]) -> None:
    monkeypatch.setenv("_BAKERY_COMPLETE", "complete_bash")
    monkeypatch.setenv("COMP_WORDS", words)
    monkeypatch.setenv("COMP_CWORD", str(len(words.split(" ")) - 1))
    result = run_cli(capsys)
    assert result.code == 0, result.err
    assert set(result.out.split()) == expected


# an option line of click's help: `  -j, --jobs N   text` or `  --load   text`
_OPTION = re.compile(r"^  (?:-\w, )?(--[\w-]+)(?: (\S+))?(?:\s{2,}|$)")
# a placeholder in words (TARGET, N, PATH, TARGET.KEY=VALUE) or the choices ([table|json])
_WORDS = re.compile(r"^(?:[A-Z][A-Z0-9_]*(?:\.[A-Z]+)?(?:=[A-Z]+)?|\[[a-z0-9-]+(?:\|[a-z0-9-]+)+\])$")


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_names_placeholders_in_words(capsys: pytest.CaptureFixture[str],
                                          command: str) -> None:
    result = run_cli(capsys, *command.split(), "--help")
    assert result.code == 0, result.err
    assert not re.search(r"<(?:str|path|int|float|list|bool|text)\b", result.out), result.out
    if command == "update-cost":
        assert "\n  CANDIDATE  The candidate image" in result.out
    placeholders = {}
    for line in result.out.splitlines():
        found = _OPTION.match(line)
        if found and found.group(2):
            placeholders[found.group(1)] = found.group(2)
    for option, placeholder in placeholders.items():
        assert _WORDS.match(placeholder), f"bakery {command} {option} {placeholder}"
    if command in ("plan", "bake", "verify", "test", "lock", "outdated"):
        assert placeholders["--target"] == "TARGET"
    if command == "bake":
        assert placeholders["--jobs"] == "N" and placeholders["--results"] == "PATH"


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_reports_as_json_on_request(capsys: pytest.CaptureFixture[str],
                                                   command: str) -> None:
    help_text = run_cli(capsys, command, "--help").out
    found = re.search(r"^  -f, --format \[([a-z|-]+)\]", help_text, re.MULTILINE)
    assert found, help_text
    assert "json" in found.group(1).split("|")
