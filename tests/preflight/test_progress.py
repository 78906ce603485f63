"""Progress while commands wait on package indexes: one line per index with its pages and the
seconds taken, on a terminal; nothing at all when the output is not a terminal."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bakery.views.progress import Lines
from tests.preflight.test_cli import preflight, project  # noqa: F401 (a fixture)
from tests.support.index_server import IndexServer

LINE = r"^  {url} +(\d+)/\1 pages  \d+\.\ds  done$"


def test_a_line_per_key_counts_and_times_its_steps() -> None:
    lines = Lines("pages")
    lines.expect("https://pypi.org/simple/", 2)
    lines.expect("https://download.pytorch.org/whl/cpu/")
    lines.done("https://pypi.org/simple/")
    first, second = lines.lines()
    assert re.match(r"^  https://pypi.org/simple/               1/2 pages  \d+\.\ds  \.\.\.$",
                    first), first
    assert second.startswith("  https://download.pytorch.org/whl/cpu/  0/1 pages  ")
    lines.done("https://pypi.org/simple/")
    assert lines.lines()[0].endswith("s  done")


def test_preflight_shows_each_index_on_a_terminal(
        project: Path, index_server: IndexServer,  # noqa: F811
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich: standard error is a terminal
    monkeypatch.setenv("TERM", "xterm")
    done = preflight(capsys, project, "--dry-run")
    assert done.code == 0, done.err
    final = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", done.err).replace("\r", "\n")
    url = re.escape(index_server.url())
    assert re.search(LINE.format(url=url), final, re.MULTILINE), final
    assert "preflight: querying package indexes for 2 image(s)" in final


def test_nothing_extra_when_piped(project: Path, capsys: pytest.CaptureFixture[str],  # noqa: F811
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TTY_COMPATIBLE", "0")
    done = preflight(capsys, project, "--dry-run")
    assert done.code == 0, done.err
    assert "pages" not in done.err and "querying" not in done.err
    assert done.err == "bakery preflight: --dry-run, no lock written\n"
