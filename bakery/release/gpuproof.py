"""The GPU proof a release needs: a cuda target's candidate must have passed the GPU checks on a
GPU (`bakery verify --require-gpu` on a GPU host; bakery/verify/gpuprobe.py), unless its image
in matrix.toml says, in `release_without_gpu_proof`, why this release goes out without one.

Verify keeps the GPU checks' report as the probe's "gpu" when they ran; a verdict that passed
with that report is the proof (a failed GPU check fails the verdict itself).
"""

from __future__ import annotations

from bakery.bake.results import VerifyRecord
from bakery.plan.target import Target

MATRIX_KEY = "release_without_gpu_proof"


def gpu_report(verify: VerifyRecord | None) -> dict[str, object] | None:
    report = verify.probe.get("gpu") if verify is not None else None
    return report if isinstance(report, dict) else None


def gpu_proof_refusal(target: Target, verify: VerifyRecord | None) -> str | None:
    """Why `target` may not be released for want of a GPU proof, or None."""
    if target.accelerator != "cuda" or target.gpu_proof_waiver:
        return None
    if verify is not None and verify.ok and gpu_report(verify) is not None:
        return None
    return (f"not proven on a GPU: its GPU checks did not run (run `bakery verify --target"
            f" {target.id} --require-gpu` on a host with an NVIDIA GPU, or say why this release"
            f" goes out without: {MATRIX_KEY} = \"...\" in [images.{target.image}] of"
            " matrix.toml)")


def gpu_proof_note(target: Target | None, verify: VerifyRecord | None) -> str | None:
    """What `bakery summary` says of a cuda target's GPU proof (None for other targets)."""
    if target is None or target.accelerator != "cuda":
        return None
    report = gpu_report(verify)
    if verify is not None and verify.ok and report is not None:
        device = report.get("device")
        devices = device.get("devices") if isinstance(device, dict) else None
        names = ", ".join(f"{d.get('name')} ({d.get('capability')})" for d in devices or []
                          if isinstance(d, dict))
        return f"GPU proven on {names or 'a GPU'}, driver {report.get('driver') or 'unknown'}"
    if target.gpu_proof_waiver:
        return f"released WITHOUT a GPU proof: {target.gpu_proof_waiver}"
    return "not proven on a GPU: a release refuses it"
