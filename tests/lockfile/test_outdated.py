"""`bakery outdated` against the wheel index on 127.0.0.1: newest releases and their wheels
per target, the torch set only as a matching set."""

from __future__ import annotations

import json

from tests.lockfile.conftest import TORCH_TAGS, Project
from tests.support.cli import run_cli


def outdated(capsys, project: Project, tmp_path):  # type: ignore[no-untyped-def]
    result = run_cli(capsys, "outdated", "--format", "json", "--cache-dir",
                     str(tmp_path / "cache"), "--matrix", str(project.matrix))
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    return doc, {row["pin"]: row for row in doc["pins"]}


def test_newer_releases_with_their_wheels_per_target(capsys, project, tmp_path):
    project.index.publish("transformers", "4.58.0", requires=("tokenizers>=0.22",))
    project.index.publish("transformers", "5.0.0rc1")  # a pre-release is never offered
    # tokenizers 0.23.0 has a wheel for x86_64 only
    project.index.publish("tokenizers", "0.23.0", "py3-none-manylinux_2_28_x86_64")
    doc, rows = outdated(capsys, project, tmp_path)

    labels = [t["label"] for t in doc["targets"]]
    assert labels == ["py3.12 amd64 cpu", "py3.12 arm64 cpu", "py3.13 amd64 cpu",
                      "py3.13 arm64 cpu"]
    assert rows["transformers"]["current"] == "4.57.1"
    assert rows["transformers"]["newest"] == "4.58.0" and rows["transformers"]["outdated"]
    assert set(rows["transformers"]["wheels"].values()) == {"ok"}
    tokenizers = rows["tokenizers"]["wheels"]
    assert tokenizers["py3.13 amd64 cpu"] == "ok"
    assert tokenizers["py3.13 arm64 cpu"] == "no-wheel-for-platform"
    assert rows["x86-only"]["newest"] == "1.0" and not rows["x86-only"]["outdated"]


def test_the_torch_set_is_offered_only_when_complete(capsys, project, tmp_path):
    for tag in TORCH_TAGS:
        project.index.publish("torch", "2.10.0", tag)
    project.index.publish("torchvision", "0.25.0")
    _, rows = outdated(capsys, project, tmp_path)
    torch = rows["torch set (pypi)"]
    # torchaudio 2.10.0 is not there yet: the newest complete set is still the current one
    assert torch["newest"] == "2.9.1 / 0.24.1 / 2.9.1" and not torch["outdated"]

    project.index.publish("torchaudio", "2.10.0")
    _, rows = outdated(capsys, project, tmp_path / "fresh")
    torch = rows["torch set (pypi)"]
    assert torch["newest"] == "2.10.0 / 0.25.0 / 2.10.0"
    assert set(torch["wheels"].values()) == {"ok"}


def test_an_unreachable_index_is_named(capsys, project, tmp_path, dead_index_url):
    project.write(pypi=dead_index_url)
    _, rows = outdated(capsys, project, tmp_path)
    assert rows["transformers"]["newest"] is None
    assert f"index {dead_index_url} is unavailable" in rows["transformers"]["note"]


def test_the_table_fits_the_terminal_and_shows_progress_per_index(
        capsys, project, tmp_path, monkeypatch):
    import re

    project.index.publish("tokenizers", "0.23.0", "py3-none-manylinux_2_28_x86_64")
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich: a terminal
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setenv("COLUMNS", "100")
    result = run_cli(capsys, "outdated", "--cache-dir", str(tmp_path / "cache"), "--matrix",
                     str(project.matrix))
    assert result.code == 0, result.err
    table = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", result.out).splitlines()
    assert max(map(len, table)) <= 100, "\n".join(table)
    assert any(line.startswith("│ tokenizers") for line in table), "\n".join(table)
    # on the terminal's standard error: a line per index with its pages and seconds
    progress = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", result.err).replace("\r", "\n")
    assert re.search(r"^  http://127\.0\.0\.1:\d+/\S+ +(\d+)/\1 pages  \d+\.\ds  done$",
                     progress, re.MULTILINE), progress


def test_piped_the_table_is_wide_and_nothing_else_is_printed(capsys, project, tmp_path,
                                                             monkeypatch):
    monkeypatch.setenv("TTY_COMPATIBLE", "0")
    monkeypatch.delenv("COLUMNS", raising=False)
    result = run_cli(capsys, "outdated", "--cache-dir", str(tmp_path / "cache"), "--matrix",
                     str(project.matrix))
    assert result.code == 0, result.err
    assert result.err == ""
    assert "\x1b[" not in result.out and "tokenizers" in result.out
