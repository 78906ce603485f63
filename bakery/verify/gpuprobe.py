"""Runs INSIDE a cuda image with a GPU (`docker run --gpus all`, its own python3, stdlib at the
top) and proves that what a GPU job needs works on the device, not only that torch sees one:

    docker run --rm --gpus all --entrypoint python3 IMAGE -c "$(cat gpuprobe.py)" [MODULE ...]
        [--expect-env]

- device: torch.cuda.is_available(), each device's name and compute capability, the NVIDIA
  driver (/proc/driver/nvidia/version, else nvidia-smi) and the CUDA torch was built for;
- cudnn: torch.backends.cudnn.version() (cuDNN loads lazily: a missing or broken one passes
  `import torch`);
- conv2d, matmul: a small one on CUDA compared with the same on the CPU (TF32 off);
- the deep check of each MODULE asked for that has one (OPTIONAL, keyed by the name users
  import; any other module asked for is ignored here: the probe's generic checks, installed at
  its pin and importing, cover every feature):
  - tensorrt: trt.Builder builds and serializes a one-layer network;
  - bitsandbytes: a 4-bit (nf4) Linear4bit layer runs on CUDA and matches its dequantized
    weights.

Each check runs in a child process of its own, so a crash (a segfault in a CUDA library) is
named and the others still report. Output: one JSON line {"gpu_probe_version": 1, "device":
{...}, "checks": {"cudnn": "ok: 91002" | "<error>", ...}}; with --expect-env, PASS/FAIL lines
judged by `judge` (images/test_image.sh). On the host, `bakery verify` imports `judge`.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

TIMEOUT = 600
MARK = "@@bakery-gpu@@ "
# the modules with a deep check of their own (a feature's `module` in matrix.toml)
OPTIONAL = ("tensorrt", "bitsandbytes")
# the most a CUDA result may differ from the CPU's (float32, TF32 off)
TOLERANCE = 1e-3

_PRELUDE = f"""import json, sys
def answer(value):
    sys.stdout.write("\\n{MARK}" + json.dumps(value) + "\\n")
    sys.stdout.flush()
try:
"""
_EPILOGUE = """
except BaseException as exc:
    answer(("%s: %s" % (type(exc).__name__, exc)).splitlines()[0][:300])
"""

CODE = {
    "device": """
    import torch
    found = {"cuda_available": torch.cuda.is_available(), "torch_cuda": torch.version.cuda,
             "devices": []}
    if found["cuda_available"]:
        for i in range(torch.cuda.device_count()):
            major, minor = torch.cuda.get_device_capability(i)
            found["devices"].append({"name": torch.cuda.get_device_name(i),
                                     "capability": "%d.%d" % (major, minor)})
    answer(found)""",
    "cudnn": """
    import torch
    version = torch.backends.cudnn.version()
    answer("ok: %s" % version if version else "cuDNN is not available to torch")""",
    "conv2d": """
    import torch
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(0)
    x, w = torch.randn(2, 3, 16, 16), torch.randn(8, 3, 3, 3)
    cpu = torch.nn.functional.conv2d(x, w, padding=1)
    gpu = torch.nn.functional.conv2d(x.cuda(), w.cuda(), padding=1).cpu()
    diff = float((cpu - gpu).abs().max())
    answer("ok" if diff <= TOLERANCE else "differs from the CPU result by %.3g" % diff)""",
    "matmul": """
    import torch
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.manual_seed(0)
    a, b = torch.randn(64, 64), torch.randn(64, 64)
    diff = float(((a @ b) - (a.cuda() @ b.cuda()).cpu()).abs().max())
    answer("ok" if diff <= TOLERANCE else "differs from the CPU result by %.3g" % diff)""",
    "tensorrt": """
    import tensorrt as trt
    logger = trt.Logger(trt.Logger.ERROR)
    builder = trt.Builder(logger)
    flag = getattr(trt.NetworkDefinitionCreationFlag, "EXPLICIT_BATCH", None)
    network = builder.create_network(0 if flag is None else 1 << int(flag))
    tensor = network.add_input("x", trt.float32, (1, 8))
    relu = network.add_activation(tensor, trt.ActivationType.RELU)
    network.mark_output(relu.get_output(0))
    engine = builder.build_serialized_network(network, builder.create_builder_config())
    answer("ok: serialized engine of %d bytes" % engine.nbytes if engine is not None
           else "build_serialized_network returned None")""",
    "bitsandbytes": """
    import torch, bitsandbytes as bnb
    torch.manual_seed(0)
    layer = bnb.nn.Linear4bit(64, 32, bias=False, compute_dtype=torch.float16,
                              quant_type="nf4").cuda()
    x = torch.randn(4, 64, dtype=torch.float16, device="cuda")
    y = layer(x)
    weight = bnb.functional.dequantize_4bit(layer.weight.data, layer.weight.quant_state)
    diff = float((y - x @ weight.t()).abs().max())
    answer("ok" if diff <= 0.05 and tuple(y.shape) == (4, 32)
           else "differs from its dequantized weights by %.3g" % diff)""",
}


def run_check(name: str) -> Any:
    """The answer of check `name` from a child process, or why there is none."""
    code = _PRELUDE + CODE[name].replace("TOLERANCE", repr(TOLERANCE)) + _EPILOGUE
    try:
        done = subprocess.run([sys.executable, "-c", code], stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        return f"timed out after {TIMEOUT}s"
    lines = done.stdout.decode("utf-8", "replace").splitlines()
    marked = [line[len(MARK):] for line in lines if line.startswith(MARK)]
    if marked:
        return json.loads(marked[-1])
    if done.returncode < 0:
        return f"killed by signal {-done.returncode}"
    tail = [line for line in done.stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    return f"exited {done.returncode}: {tail[-1] if tail else 'no error output'}"[:300]


def driver() -> str | None:
    """The NVIDIA kernel driver's version, as the container sees it."""
    try:
        text = Path("/proc/driver/nvidia/version").read_text(encoding="utf-8")
        match = re.search(r"Kernel Module(?: for [^ ]+)?\s+([0-9][0-9.]+)", text)
        if match:
            return match.group(1)
    except OSError:
        pass
    if shutil.which("nvidia-smi"):
        done = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                              capture_output=True, timeout=60, check=False)
        listed = done.stdout.decode("utf-8", "replace").strip().splitlines()
        if done.returncode == 0 and listed:
            return listed[0].strip()
    return None


def report(wanted: list[str]) -> dict[str, Any]:
    device = run_check("device")
    found: dict[str, Any] = {"gpu_probe_version": 1, "driver": driver(), "device": device,
                             "checks": {}}
    for name in ("cudnn", "conv2d", "matmul", *[w for w in OPTIONAL if w in wanted]):
        found["checks"][name] = run_check(name)
    return found


# ----------------------------------------------------------------------------- the judgement


def describe(found: dict[str, Any]) -> str | None:
    """"NVIDIA A10G (compute capability 8.6), driver 570.133.20, CUDA 12.8", or None when
    torch saw no CUDA device (why, when it could not even say)."""
    device = found.get("device")
    if not isinstance(device, dict):
        return None
    devices = device.get("devices") or []
    if not device.get("cuda_available") or not devices:
        return None
    names = ", ".join(f"{d.get('name')} (compute capability {d.get('capability')})"
                      for d in devices)
    return (f"{names}, driver {found.get('driver') or 'unknown'},"
            f" CUDA {device.get('torch_cuda') or 'unknown'}")


def judge(found: dict[str, Any], wanted: list[str]) -> list[tuple[str, str, str | None, bool]]:
    """(check, expected, found, ok) for the device and each GPU behaviour; the deep checks of
    OPTIONAL only for the modules `wanted` (their feature is on)."""
    checks: list[tuple[str, str, str | None, bool]] = []
    seen = describe(found)
    device = found.get("device")
    if seen is None:
        why = device if isinstance(device, str) else "torch.cuda.is_available() is False"
        checks.append(("gpu device", "a CUDA device", why, False))
    else:
        checks.append(("gpu device", "a CUDA device", seen, True))
    results = found.get("checks") or {}
    for name in ("cudnn", "conv2d", "matmul", *[w for w in OPTIONAL if w in wanted]):
        value = results.get(name)
        text = None if value is None else str(value)
        ok = text is not None and (text == "ok" or text.startswith("ok: "))
        checks.append((f"gpu {name}", "ok", text, ok))
    return checks


def main(argv: list[str]) -> None:
    as_checks = "--expect-env" in argv
    wanted = [a for a in argv if a in OPTIONAL]
    found = report(wanted)
    if not as_checks:
        json.dump(found, sys.stdout, sort_keys=True)
        sys.stdout.write("\n")
        return
    for name, expected, value, ok in judge(found, wanted):
        if ok:
            print(f"PASS {name} {value}")
        else:
            print(f"FAIL {name}: expected {expected}, found {value or 'nothing'}")


if __name__ == "__main__":
    main(sys.argv[1:])
