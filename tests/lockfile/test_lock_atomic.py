"""A lock write is all or nothing: when any file of it cannot be written (a disk that fills
up, a manifest that cannot be replaced), every file under locks/ stays byte-identical, and
the error is one line saying so."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.conftest import one_line_error, snapshot
from tests.lockfile.conftest import Project
from tests.support.cli import run_cli


def _locked_then_moved(capsys: pytest.CaptureFixture[str], project: Project) -> None:
    """Lock once, then publish a newer numpy: the next `lock --upgrade` rewrites layer files
    and the manifest."""
    first = run_cli(capsys, "lock", "--no-base", "--matrix", str(project.matrix))
    assert first.code == 0, first.err
    project.index.publish("numpy", "1.1")


def _lock_upgrade(capsys: pytest.CaptureFixture[str], project: Project):  # type: ignore[no-untyped-def]
    return run_cli(capsys, "lock", "--no-base", "--upgrade", "--matrix", str(project.matrix))


def test_a_manifest_that_cannot_be_replaced_leaves_every_layer_file(
        capsys: pytest.CaptureFixture[str], project: Project,
        monkeypatch: pytest.MonkeyPatch) -> None:
    _locked_then_moved(capsys, project)
    before = snapshot(project.locks)
    real = Path.replace

    def refuse_manifest(self: Path, target: str | os.PathLike[str]) -> Path:
        if Path(target).name == "manifest.json":
            raise PermissionError(errno.EACCES, "Permission denied")
        return real(self, target)

    monkeypatch.setattr(Path, "replace", refuse_manifest)
    done = _lock_upgrade(capsys, project)
    line = one_line_error(done.code, done.err)
    assert line == (f"bakery: error: {project.locks / 'manifest.json'}: cannot write:"
                    " Permission denied; locks/ left unchanged")
    assert snapshot(project.locks) == before
    monkeypatch.undo()
    # and the same run, able to write, changes layer files and the manifest
    assert _lock_upgrade(capsys, project).code == 0
    after = snapshot(project.locks)
    assert after["manifest.json"] != before["manifest.json"]
    assert any(after[k] != before[k] for k in before if k.endswith(".txt"))


def test_a_disk_full_at_the_manifest_leaves_every_layer_file(
        capsys: pytest.CaptureFixture[str], project: Project,
        monkeypatch: pytest.MonkeyPatch) -> None:
    _locked_then_moved(capsys, project)
    before = snapshot(project.locks)
    real_fsync = os.fsync

    def full_at_manifest(fd: int) -> None:
        real_fsync(fd)
        if ".manifest.json." in str(Path(f"/proc/self/fd/{fd}").readlink()):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_at_manifest)
    done = _lock_upgrade(capsys, project)
    line = one_line_error(done.code, done.err, codes=(1,))
    assert line.endswith("No space left on device; locks/ left unchanged"), line
    assert snapshot(project.locks) == before


@contextlib.contextmanager
def _small_tmpfs(path: Path) -> Iterator[None]:
    path.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(path)],
                             capture_output=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", str(path)], check=False)


def test_a_really_full_disk_leaves_locks_byte_identical(
        capsys: pytest.CaptureFixture[str], project: Project, tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    with _small_tmpfs(disk):
        shutil.copytree(project.root, disk / "repo")
        moved = Project(disk / "repo", project.index)
        _locked_then_moved(capsys, moved)
        with (disk / "filler").open("wb", buffering=0) as filler:  # fill it to the last byte
            with contextlib.suppress(OSError):
                while True:
                    filler.write(b"\0" * 4096)
            with contextlib.suppress(OSError):
                while True:
                    filler.write(b"\0")
        before = snapshot(moved.locks)
        done = _lock_upgrade(capsys, moved)
        line = one_line_error(done.code, done.err, codes=(1,))
        assert line.endswith("No space left on device; locks/ left unchanged"), line
        assert snapshot(moved.locks) == before


def test_written_is_said_only_when_a_file_changed(
        capsys: pytest.CaptureFixture[str], project: Project, dead_index_url: str) -> None:
    first = run_cli(capsys, "lock", "--no-base", "--matrix", str(project.matrix))
    assert first.code == 0 and "bakery lock: written;" in first.err, first.err
    before = snapshot(project.locks)
    again = run_cli(capsys, "lock", "--no-base", "--matrix", str(project.matrix))
    assert again.code == 0, again.err
    assert "bakery lock: nothing written, every file is as it was" in again.err
    assert "written;" not in again.err
    # every target kept (its index does not answer): nothing written, and not said to be
    project.write(pypi=dead_index_url)
    kept = run_cli(capsys, "lock", "--no-base", "--matrix", str(project.matrix))
    assert kept.out.count("the committed lock is kept") == 4, kept.out
    assert "written;" not in kept.err, kept.err
    assert snapshot(project.locks) == before
