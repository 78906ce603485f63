"""The probe's imports: which modules an image's distributions install, and each import in a
child of its own, so a module that kills its interpreter is named and the report comes back."""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

import pytest

from bakery.verify import probe


def dist(site: Path, name: str, files: dict[str, str]) -> None:
    info = site / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    for path, text in files.items():
        (info / path).write_text(text)


def test_modules_come_from_top_level_txt_else_from_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # setuptools wheels list their modules; maturin's (tokenizers, hf-xet) have only RECORD
    dist(tmp_path, "pillow", {"top_level.txt": "PIL\n_private\n"})
    dist(tmp_path, "hf_xet", {"RECORD": "\n".join([
        "hf_xet/__init__.py,sha256=x,1",
        "hf_xet/hf_xet.cpython-311-aarch64-linux-gnu.so,sha256=x,1",
        "hf_xet-1.0.dist-info/METADATA,sha256=x,1",
        "../../bin/hf-xet-tool,sha256=x,1",
        "tests/test_xet.py,sha256=x,1",
        "_hf_xet_hook.pth,sha256=x,1",
        "six.py,sha256=x,1",
        "fastext.cpython-311-aarch64-linux-gnu.so,sha256=x,1",
        "__pycache__/six.cpython-311.pyc,,",
    ])})
    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    assert probe.installed_modules() == ["PIL", "fastext", "hf_xet", "six"]
    (pillow,) = [d for d in metadata.distributions() if d.metadata["Name"] == "pillow"]
    assert probe.dist_modules(pillow) == {"PIL", "_private"}  # private ones are not imported


@pytest.mark.parametrize(("code", "cpu", "said"), [
    (-4, "cortex-a72", "killed by SIGILL (illegal instruction on cortex-a72)"),
    (-4, None, "killed by SIGILL (illegal instruction)"),
    (-11, "cortex-a72", "killed by SIGSEGV"),
])
def test_a_killed_child_is_named_by_its_signal(
    monkeypatch: pytest.MonkeyPatch, code: int, cpu: str | None, said: str
) -> None:
    monkeypatch.delenv("QEMU_CPU", raising=False)
    if cpu:
        monkeypatch.setenv("PROBE_CPU", cpu)
    else:
        monkeypatch.delenv("PROBE_CPU", raising=False)
    assert probe.killed(code) == said


def test_children_start_through_the_probes_own_qemu_when_it_was_started_explicitly(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROBE_QEMU", "/run/bakery-pi-gate/qemu-aarch64")
    monkeypatch.setenv("PROBE_CPU", "cortex-a72")
    assert probe.python_argv() == ["/run/bakery-pi-gate/qemu-aarch64", "-cpu", "cortex-a72",
                                   sys.executable]
    monkeypatch.delenv("PROBE_QEMU")
    assert probe.python_argv() == [sys.executable]


def test_each_import_runs_in_its_own_child_and_a_crash_spares_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, allow_subprocess: None
) -> None:
    (tmp_path / "crashes").mkdir()
    (tmp_path / "crashes" / "__init__.py").write_text(
        "import os, signal\nos.kill(os.getpid(), signal.SIGILL)\n")
    (tmp_path / "fine.py").write_text("print('noise on stdout')\n")
    (tmp_path / "broken.py").write_text("raise ImportError('libfoo.so.1: cannot open')\n")
    (tmp_path / "exits.py").write_text("raise SystemExit(3)\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.setenv("PROBE_CPU", "cortex-a72")
    monkeypatch.delenv("PROBE_QEMU", raising=False)
    found = probe.imports(["broken", "crashes", "exits", "fine"])
    assert found == {
        "broken": "ImportError: libfoo.so.1: cannot open",
        "crashes": "killed by SIGILL (illegal instruction on cortex-a72)",
        "exits": "SystemExit: 3",
        "fine": None,
    }
    assert "crashes" not in sys.modules  # nothing was imported into the probe itself


def test_the_modules_to_import_are_named_by_the_caller_never_by_the_probe(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """verify passes each feature's module (`--import=`, from matrix.toml); test_image.sh's
    EXPECT_IMPORTS names them. The probe itself knows no feature."""
    asked: list[tuple[list[str], list[str]]] = []

    def report(extra: list[str], modules: list[str]) -> dict[str, object]:
        asked.append((list(extra), list(modules)))
        return {}

    monkeypatch.setattr(probe, "report", report)
    monkeypatch.setattr(probe, "print_checks", lambda expect, found: None)
    probe.main(["fastkernels", "tensorrt-cu12-bindings", "--import=fast_kernels",
                "--import=tensorrt"])
    assert asked.pop() == (["fastkernels", "tensorrt-cu12-bindings"],
                           ["fast_kernels", "tensorrt"])
    assert capsys.readouterr().out == "{}\n"
    monkeypatch.setattr(probe.os, "environ", {"EXPECT_IMPORTS": "torch fast_kernels",
                                              "EXPECT_PACKAGES": "fastkernels=1.2.3"})
    probe.main(["--expect-env"])
    extra, modules = asked.pop()
    assert "fastkernels" in extra and modules == ["torch", "fast_kernels"]
