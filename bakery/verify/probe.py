"""Runs INSIDE an image (its own python3, stdlib only) and says what the image really holds and
does; it also holds THE comparison of expected against found (`judge`). `bakery verify`,
`bakery test` and images/test_image.sh all use this file, so all three judge alike:

    docker run --rm -i --entrypoint python3 IMAGE - [--expect-env] [DIST ...]
        [--import=MODULE ...] < probe.py

Arguments are extra distribution names to report (the feature packages); each comes back with
its installed version or null when absent; `--import=MODULE` names a module to import besides
those of the installed distributions (a feature's `module`: the names come from matrix.toml,
none is written here). `--expect-env` prints, instead of the report, one line per check
(`PASS name found` / `FAIL name: expected X, found Y`) for the EXPECT_* variables in the
environment (ENV_NAMES), judged by `judge`: images/test_image.sh runs that.
On the host, bakery imports `judge` from here (bakery.verify.compare).

Nothing here needs a GPU: CUDA is read from the version torch was built for
(torch.version.cuda), not from a device, and the torch operation runs on the CPU.

Every import happens in a child process of its own (in parallel), never in the probe itself:
a module that kills its interpreter (SIGILL of a wheel built for newer Arm cores than the
Raspberry Pi 4's Cortex-A72) is named in the report ("killed by SIGILL (illegal instruction on
cortex-a72)") and the rest of the report still comes back. Besides the packages asked for,
the top-level modules of every installed distribution are imported (from its top_level.txt,
else its RECORD; private `_x` and test modules are left out). On a native arm64 host the probe
itself runs under `qemu-aarch64 -cpu cortex-a72` (PROBE_QEMU names that qemu inside the
container, PROBE_CPU the CPU) and starts its children through the same qemu, so they stay
under the Raspberry Pi gate too; where the image is emulated through binfmt, QEMU_CPU does it.

Output (probe_version 3):
    {"probe_version": 3, "arch": "x86_64", "python": "3.13.9",
     "packages": {"torch": "2.9.1+cu128", ..., "flash-attn": null},
     "imports": {"torch": null, "tensorrt": "ModuleNotFoundError: ...",    # null = imported
                 "numpy": "killed by SIGILL (illegal instruction on cortex-a72)"},
     "torch_cuda": "12.8" | null,
     "torch_op": "ok" | "RuntimeError: ..." | null,                       # null = no torch
     "python_headers": "/opt/python/include/python3.13/Python.h" | null,
     "ffmpeg_codecs": {"encoders": [...], "decoders": [...]} | null,      # null = no ffmpeg
     "ee_dd": "false" | null,                                             # the image's EE_DD
     "lse_atomics": false | true | null,                  # aarch64: the CPU has LSE atomics
     "emulated_cpu": "cortex-a72" | null,                 # the CPU qemu was told to emulate
     "tools": {"ffmpeg": "7.1.5", "node": "22.23.3", "npm": "10.9.9", "docker": "28.5.2",
               "dockerd": "28.5.2", "ngrok": "3.30.0", "uv": "0.9.11"},   # null = not found
     "uv_pip_check": {"ok": true, "output": "..."} | null,                 # null = no uv
     "errors": {"torch_cuda": "ImportError: ..."}}
"""

from __future__ import annotations

import json
import keyword
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any

CORE = ("torch", "torchvision", "torchaudio", "transformers", "tokenizers")
TOOLS = {
    # name: (argv, regex for the version in its output)
    "ffmpeg": (["ffmpeg", "-hide_banner", "-version"], r"ffmpeg version n?([0-9][^\s]*)"),
    "node": (["node", "--version"], r"v?([0-9][^\s]*)"),
    "npm": (["npm", "--version"], r"([0-9][^\s]*)"),
    "docker": (["docker", "--version"], r"Docker version ([^,\s]+)"),
    "dockerd": (["dockerd", "--version"], r"Docker version ([^,\s]+)"),
    "ngrok": (["ngrok", "version"], r"ngrok version ([^\s]+)"),
    "uv": (["uv", "--version"], r"uv ([^\s]+)"),
}
TIMEOUT = 30
# One import in its child process; torch under emulation takes a while.
IMPORT_TIMEOUT = 900
ABSENT = "absent"
OK = "ok"
PRESENT = "present"
# Top-level names of distributions that are not modules to import (tests, examples, tools).
NOT_MODULES = frozenset({"test", "tests", "testing", "doc", "docs", "example", "examples",
                         "benchmark", "benchmarks", "bench", "script", "scripts", "tools",
                         "setup", "conftest", "build", "dist", "bin", "include", "share"})
# The checks every image gets, and the expectation variable of the Raspberry Pi gate.
EVERY_IMPORT = "every import"
PI_GATE = "pi gate"
PI_GATE_VAR = "EXPECT_PI_GATE"
NOT_IN_FORCE = "the Raspberry Pi gate was not in force"
# What a child prints before its one-line answer (an import may print anything before it).
MARK = "@@bakery-probe@@ "
errors: dict[str, str] = {}


# ----------------------------------------------------------------------------- the probe


def run(argv: list[str]) -> tuple[int, str] | None:
    """(exit code, combined output) or None when the program is not on PATH."""
    if shutil.which(argv[0]) is None:
        return None
    try:
        done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        errors[argv[0]] = f"{type(exc).__name__}: {exc}"
        return None
    return done.returncode, done.stdout.decode("utf-8", "replace")


def tool_version(name: str) -> str | None:
    argv, pattern = TOOLS[name]
    answer = run(argv)
    if answer is None:
        return None
    code, output = answer
    match = re.search(pattern, output)
    if code != 0 or match is None:
        errors[name] = f"exit {code}: {output.strip()[:300]}"
        return None
    return match.group(1)


def dist_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def emulated_cpu() -> str | None:
    """The CPU qemu emulates for this probe (the Raspberry Pi gate), None when not told."""
    return os.environ.get("PROBE_CPU") or os.environ.get("QEMU_CPU") or None


def python_argv() -> list[str]:
    """How a child starts this image's python: through the qemu this probe runs under when
    that qemu was started explicitly (a native arm64 host), so the child stays under the gate
    (without binfmt, its exec would run natively)."""
    qemu = os.environ.get("PROBE_QEMU")
    if qemu:
        return [qemu, "-cpu", emulated_cpu() or "cortex-a72", sys.executable or "python3"]
    return [sys.executable or "python3"]


def killed(returncode: int) -> str:
    """How a child died of signal -returncode, in words."""
    number = -returncode
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = f"signal {number}"
    if number == signal.SIGILL:
        cpu = emulated_cpu()
        return f"killed by SIGILL (illegal instruction{' on ' + cpu if cpu else ''})"
    return f"killed by {name}"


def in_child(code: str, args: list[str], timeout: float = IMPORT_TIMEOUT) -> tuple[str | None, str]:
    """Run `python -c code args...` in a child: (its MARK line, None when it printed none;
    why not, when it did not finish with one: killed, timed out, exited)."""
    try:
        done = subprocess.run([*python_argv(), "-c", code, *args], stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout}s"
    except OSError as exc:
        return None, f"cannot start python: {type(exc).__name__}: {exc}"
    out = done.stdout.decode("utf-8", "replace").splitlines()
    marked = [line[len(MARK):] for line in out if line.startswith(MARK)]
    if done.returncode < 0:
        return None, killed(done.returncode)
    if marked:
        return marked[-1], ""
    tail = [line.strip() for line in done.stderr.decode("utf-8", "replace").splitlines()
            if line.strip()]
    return None, f"exited {done.returncode}: {tail[-1] if tail else 'no error output'}"[:300]


# The child of one import: MARK, then "ok" or the error in one line; os._exit skips the
# interpreter's shutdown (threads a module started must not hang the probe).
_IMPORT = f"""import importlib, os, sys
try:
    importlib.import_module(sys.argv[1])
    answer = "ok"
except BaseException as exc:
    answer = ("%s: %s" % (type(exc).__name__, exc)).splitlines()[0][:300]
sys.stdout.write("\\n{MARK}" + answer + "\\n")
sys.stdout.flush()
os._exit(0)
"""


def import_error(module: str) -> str | None:
    """None when `import module` works in a child process, else why not, in one line."""
    answer, why = in_child(_IMPORT, [module])
    if answer == OK:
        return None
    return answer if answer is not None else why


def importable(name: str) -> bool:
    return (name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("_")
            and name.lower() not in NOT_MODULES)


def dist_modules(dist: metadata.Distribution) -> set[str]:
    """The top-level modules a distribution installs: its top_level.txt, else what its RECORD
    lists at the top of site-packages (a package directory, a module, an extension)."""
    listed = dist.read_text("top_level.txt")
    if listed is not None:
        return {line.strip().split("/")[0] for line in listed.splitlines() if line.strip()}
    found: set[str] = set()
    for path in dist.files or ():
        parts = path.parts
        if not parts or parts[0] in ("..", "__pycache__") or parts[0].endswith(
                (".dist-info", ".data", ".egg-info", ".pth")):
            continue
        if len(parts) > 1:
            if parts[-1].endswith((".py", ".so", ".pyd")):
                found.add(parts[0])
        elif parts[0].endswith(".py"):
            found.add(parts[0][:-3])
        elif parts[0].endswith((".so", ".pyd")):
            found.add(parts[0].split(".", 1)[0])
    return found


def installed_modules() -> list[str]:
    """The top-level modules of every installed distribution worth importing."""
    found: set[str] = set()
    for dist in metadata.distributions():
        try:
            found |= dist_modules(dist)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            errors[f"modules of {dist.metadata['Name']}"] = f"{type(exc).__name__}: {exc}"
    return sorted(name for name in found if importable(name))


def imports(modules: list[str]) -> dict[str, str | None]:
    """Each module imported in its own child, several at a time: module -> None or why not."""
    workers = max(2, min(8, os.cpu_count() or 2))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(zip(modules, pool.map(import_error, modules), strict=True))


# torch's CUDA build and a tiny operation on the CPU, in a child of their own.
_TORCH = f"""import json, sys
found = {{}}
try:
    import torch
    cuda = torch.version.cuda
    found["cuda"] = None if cuda is None else str(cuda)
    try:
        x = torch.ones(2, 2)
        value = float((x @ x).sum().item())
        found["op"] = ("ok" if value == 8.0
                       else "ones(2, 2) @ ones(2, 2) summed to %s, not 8" % value)
    except BaseException as exc:
        found["op"] = ("%s: %s" % (type(exc).__name__, exc)).splitlines()[0][:300]
except BaseException as exc:
    found["error"] = "%s: %s" % (type(exc).__name__, exc)
sys.stdout.write("\\n{MARK}" + json.dumps(found) + "\\n")
sys.stdout.flush()
"""


def torch_facts() -> tuple[str | None, str | None]:
    """(CUDA version torch was built for, the CPU operation's verdict); (None, None) without
    torch. A failed import is recorded in errors["torch_cuda"]."""
    if dist_version("torch") is None:
        return None, None
    answer, why = in_child(_TORCH, [])
    found: dict[str, Any] = {"error": why}
    if answer is not None:
        try:
            found = json.loads(answer)
        except json.JSONDecodeError:
            found = {"error": f"unreadable answer: {answer[:200]}"}
    if "error" in found:
        errors["torch_cuda"] = str(found["error"])
        return None, str(found["error"]).splitlines()[0][:300]
    return found.get("cuda"), found.get("op")


def python_headers() -> str | None:
    """Python.h in sysconfig's include dir (what C extensions compile against), or None."""
    header = Path(sysconfig.get_paths()["include"]) / "Python.h"
    return str(header) if header.is_file() else None


def ffmpeg_codecs() -> dict[str, list[str]] | None:
    found: dict[str, list[str]] = {}
    for kind in ("encoders", "decoders"):
        answer = run(["ffmpeg", "-hide_banner", f"-{kind}"])
        if answer is None:
            return None
        code, output = answer
        if code != 0:
            errors[f"ffmpeg -{kind}"] = f"exit {code}: {output.strip()[:300]}"
            return None
        # " V....D libx264   libx264 H.264 ..." after the legend, which ends at " ------"
        lines = output.split(" ------", 1)[-1].splitlines()
        found[kind] = sorted({line.split()[1] for line in lines if len(line.split()) >= 2})
    return found


def lse_atomics() -> bool | None:
    """On aarch64: whether the CPU has the LSE atomics (ARMv8.1; a Raspberry Pi 4's Cortex-A72
    has not, nor has qemu emulating one with QEMU_CPU=cortex-a72). None elsewhere."""
    if platform.machine() != "aarch64":
        return None
    try:
        import ctypes

        getauxval = ctypes.CDLL(None).getauxval
        getauxval.restype = ctypes.c_ulong
        return bool(getauxval(16) & (1 << 8))  # AT_HWCAP, HWCAP_ATOMICS
    except (OSError, AttributeError) as exc:
        errors["lse_atomics"] = f"{type(exc).__name__}: {exc}"
        return None


def uv_pip_check() -> dict[str, object] | None:
    answer = run(["uv", "pip", "check", "--python", sys.executable])
    if answer is None:
        return None
    code, output = answer
    return {"ok": code == 0, "output": output.strip()[-2000:]}


def report(extra: list[str], modules: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    names = list(CORE) + [n for n in extra if n not in CORE]
    packages = {name: dist_version(name) for name in names}
    # the core packages' modules share their names; the rest are asked for by name
    asked = {n for n in CORE if packages[n] is not None} | set(modules)
    cuda, op = torch_facts()
    found: dict[str, Any] = {
        "probe_version": 3,
        "arch": platform.machine(),
        "python": platform.python_version(),
        "packages": packages,
        "imports": imports(sorted(asked | set(installed_modules()))),
        "torch_cuda": cuda,
        "torch_op": op,
        "python_headers": python_headers(),
        "ffmpeg_codecs": ffmpeg_codecs(),
        "ee_dd": os.environ.get("EE_DD"),
        "lse_atomics": lse_atomics(),
        "emulated_cpu": emulated_cpu(),
        "tools": {name: tool_version(name) for name in TOOLS},
        "uv_pip_check": uv_pip_check(),
    }
    found["errors"] = errors
    return found


# ----------------------------------------------------------------------------- the judgement

# PEP 440, the pattern of its appendix B: versions compare by meaning (1.0 == 1.0.0,
# 2.9.1+CU128 == 2.9.1+cu128), the local tag included; anything else compares as text.
_PEP440 = re.compile(
    r"^\s*v?(?:(?P<epoch>[0-9]+)!)?(?P<release>[0-9]+(?:\.[0-9]+)*)"
    r"(?P<pre>[-_.]?(?P<pre_l>a|b|c|rc|alpha|beta|pre|preview)[-_.]?(?P<pre_n>[0-9]+)?)?"
    r"(?P<post>(?:-(?P<post_n1>[0-9]+))|(?:[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>[0-9]+)?))?"
    r"(?P<dev>[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>[0-9]+)?)?"
    r"(?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?\s*$",
    re.IGNORECASE,
)
_PRE = {"alpha": "a", "beta": "b", "c": "rc", "pre": "rc", "preview": "rc"}


def version_key(text: str) -> tuple[Any, ...] | None:
    """A PEP 440 version as a comparable tuple (None when `text` is not one)."""
    match = _PEP440.match(text)
    if match is None:
        return None
    release = [int(part) for part in match.group("release").split(".")]
    while len(release) > 1 and release[-1] == 0:
        release.pop()
    pre = None
    if match.group("pre"):
        label = match.group("pre_l").lower()
        pre = (_PRE.get(label, label), int(match.group("pre_n") or 0))
    post = None
    if match.group("post"):
        post = int(match.group("post_n1") or match.group("post_n2") or 0)
    dev = int(match.group("dev_n") or 0) if match.group("dev") else None
    local = None
    if match.group("local"):
        local = tuple(int(p) if p.isdigit() else p.lower()
                      for p in re.split(r"[-_.]", match.group("local")))
    return (int(match.group("epoch") or 0), tuple(release), pre, post, dev, local)


def same_version(expected: str, found: str) -> bool:
    want, got = version_key(expected), version_key(found)
    if want is None or got is None:
        return expected == found
    return want == got


def found_value(name: str, probe: dict[str, Any]) -> str | None:
    """What the report says for the check `name` (None: nothing found)."""
    packages = probe.get("packages") or {}
    tools = probe.get("tools") or {}
    value: Any
    if name in ("python", "arch"):
        value = probe.get(name)
    elif name == "torch cuda":
        failed = (probe.get("errors") or {}).get("torch_cuda")
        if failed:
            return f"import torch failed: {failed}"
        value = probe.get("torch_cuda") or ("none" if packages.get("torch") else None)
    elif name == EVERY_IMPORT:
        return every_import(probe)
    elif name == PI_GATE:
        return pi_gate(probe)
    elif name.startswith("import "):
        imports = probe.get("imports") or {}
        module = name[len("import "):]
        if module not in imports:
            return None
        return OK if imports[module] is None else f"failed: {imports[module]}"
    elif name == "torch op":
        value = probe.get("torch_op")
    elif name == "python headers":
        value = OK if probe.get("python_headers") else None
    elif name.startswith("ffmpeg encoder ") or name.startswith("ffmpeg decoder "):
        codecs = probe.get("ffmpeg_codecs")
        if codecs is None:
            return None
        kind, codec = name.split()[1:3]
        return PRESENT if codec in (codecs.get(f"{kind}s") or []) else None
    elif name == "EE_DD default":
        value = probe.get("ee_dd")
    elif name == "uv pip check":
        verdict = probe.get("uv_pip_check")
        if verdict is None:
            return None
        if verdict.get("ok"):
            return OK
        # one line: uv's complaints without its "Checked N packages" preamble
        lines = [line.strip() for line in str(verdict.get("output") or "").splitlines()
                 if line.strip() and not line.strip().startswith("Checked ")]
        return "failed: " + ("; ".join(lines)[-300:] or "no output")
    elif name in tools:
        value = tools.get(name)
    else:
        value = packages.get(name)
    return None if value is None else str(value)


def every_import(probe: dict[str, Any]) -> str | None:
    """"ok" when every module the probe imported did import, else each failure
    ("import torch: killed by SIGILL (illegal instruction on cortex-a72)"); None when the
    report has no imports."""
    imports = probe.get("imports")
    if not isinstance(imports, dict) or not imports:
        return None
    failed = [f"import {module}: {why}" for module, why in sorted(imports.items()) if why]
    return OK if not failed else "; ".join(failed)[:1500]


def pi_gate(probe: dict[str, Any]) -> str | None:
    """Whether the probe ran as a Raspberry Pi 4's Cortex-A72 (no LSE atomics): "ok", or why
    the gate was not in force (fail closed: a CPU with LSE atomics is a failure, not a pass)."""
    lse = probe.get("lse_atomics")
    if lse is False:
        return OK
    if lse is True:
        return (f"{NOT_IN_FORCE}: the probe ran on a CPU with LSE atomics, which the Raspberry"
                " Pi 4's Cortex-A72 lacks (a native arm64 host must run the image's python"
                " under `qemu-aarch64 -cpu cortex-a72`)")
    why = (probe.get("errors") or {}).get("lse_atomics")
    if why:
        return f"{NOT_IN_FORCE}: the probe could not read the CPU's features: {why}"
    if probe.get("arch") not in (None, "aarch64"):
        return f"{NOT_IN_FORCE}: the probe ran on {probe.get('arch')}, not aarch64"
    return None


def exact(name: str, expected: str) -> bool:
    """Checks compared as text, not as versions."""
    return (expected in (OK, PRESENT, "none") or name in ("arch", "EE_DD default")
            or name.startswith("import ") or name in (EVERY_IMPORT, PI_GATE))


def judge(expect: dict[str, str], probe: dict[str, Any]) -> list[tuple[str, str, str | None, bool]]:
    """(check, expected, found, ok) for every expectation, in order."""
    checks = []
    for name, expected in expect.items():
        found = found_value(name, probe)
        if expected == ABSENT:
            ok = found is None
        elif found is None:
            ok = False
        elif exact(name, expected):
            ok = found == expected
        else:
            ok = same_version(expected, found)
        checks.append((name, expected, found, ok))
    return checks


# ------------------------------------------------------------ expectations as EXPECT_* variables

# check name -> variable (images/test_image.sh's interface; bakery test writes them)
ENV_NAMES = {
    "python": "EXPECT_PYTHON",
    "arch": "EXPECT_ARCH",
    "torch cuda": "EXPECT_TORCH_CUDA",
    "torch op": "EXPECT_TORCH_OP",
    "python headers": "EXPECT_PYTHON_HEADERS",
    "EE_DD default": "EXPECT_EE_DD",
    **{name: f"EXPECT_{name.upper()}" for name in CORE},
    **{name: f"EXPECT_{name.upper()}" for name in TOOLS},
}
# list-valued variables: EXPECT_IMPORTS="torch tensorrt" (each must import),
# EXPECT_FFMPEG_CODECS="encoder:libx264 decoder:h264", EXPECT_PACKAGES="dist=version dist=absent"
LISTS = ("EXPECT_IMPORTS", "EXPECT_FFMPEG_CODECS", "EXPECT_PACKAGES")


def expect_from_env(environ: dict[str, str]) -> dict[str, str]:
    """The expectations the EXPECT_* variables state (unset or empty: not checked)."""
    expect = {name: environ[var] for name, var in ENV_NAMES.items() if environ.get(var)}
    if environ.get(PI_GATE_VAR):
        expect[PI_GATE] = environ[PI_GATE_VAR]
    for module in environ.get("EXPECT_IMPORTS", "").split():
        expect[f"import {module}"] = OK
    for codec in environ.get("EXPECT_FFMPEG_CODECS", "").split():
        kind, _, name = codec.partition(":")
        expect[f"ffmpeg {kind} {name}"] = PRESENT
    for pair in environ.get("EXPECT_PACKAGES", "").split():
        dist, _, version = pair.partition("=")
        expect[dist] = version
    return expect


def print_checks(expect: dict[str, str], probe: dict[str, Any]) -> None:
    """One line per check; a SKIP line for each single-valued variable left unset."""
    for name, var in ENV_NAMES.items():
        if name not in expect:
            print(f"SKIP {name}: {var} is not set")
    for name, expected, found, ok in judge(expect, probe):
        if ok:
            shown = ABSENT if found is None else found
            print(f"PASS {name}" + ("" if shown in (OK, PRESENT) else f" {shown}"))
        else:
            shown = ABSENT if found is None else " | ".join(found.splitlines())
            print(f"FAIL {name}: expected {expected}, found {shown}")


def main(argv: list[str]) -> None:
    as_checks = "--expect-env" in argv
    modules = [a[len("--import="):] for a in argv if a.startswith("--import=")]
    extra = [a for a in argv if a != "--expect-env" and not a.startswith("--import=")]
    if as_checks:
        expect = expect_from_env(dict(os.environ))
        expect["uv pip check"] = OK  # always checked
        expect[EVERY_IMPORT] = OK
        extra += [name for name in expect if "=" not in name and " " not in name
                  and name not in ENV_NAMES]
        modules += [name[len("import "):] for name in expect if name.startswith("import ")]
        print_checks(expect, report(extra, modules))
        return
    json.dump(report(extra, modules), sys.stdout, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
