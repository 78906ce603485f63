"""Verify targets: which image to run for each, run the probe in it, judge the answer."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from python_on_whales import DockerClient

from bakery.bake.results import (
    Mismatch,
    Results,
    TargetResult,
    VerifyRecord,
    load_results,
    results_json,
    with_verify,
)
from bakery.docker.run import RunFailed, run_output
from bakery.matrix import Matrix
from bakery.plan.target import Target
from bakery.render.bakefile import write_atomic
from bakery.verify.compare import Check, compare, expectations, feature_packages

Status = Literal["passed", "failed", "not built", "error"]


@dataclass(frozen=True)
class Verdict:
    target: str
    status: Status
    image: str | None = None
    digest: str | None = None
    message: str | None = None
    checks: tuple[Check, ...] = ()
    probe: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "passed"

    def record(self) -> VerifyRecord:
        mismatches = [Mismatch(check=c.name, expected=c.expected, found=c.found)
                      for c in self.checks if not c.ok]
        if self.status == "error":
            mismatches.append(Mismatch(check="probe", expected="a JSON report",
                                       found=self.message))
        return VerifyRecord(ok=self.ok, image=self.image or "", digest=self.digest,
                            verified_at=datetime.now(UTC), mismatches=tuple(mismatches),
                            probe=self.probe)


def probe_source() -> str:
    return resources.files("bakery.verify").joinpath("probe.py").read_text(encoding="utf-8")


def _repository(tag: str) -> str:
    """`host:5000/ns/name:tag` -> `host:5000/ns/name` (a ':' after the last '/' is the tag)."""
    head, _, last = tag.rpartition("/")
    name = last.split("@", 1)[0].split(":", 1)[0]
    return f"{head}/{name}" if head else name


def image_to_run(
    target: Target, results: Results | None, override: str | None
) -> tuple[str | None, str | None, str | None]:
    """(image reference, digest, why there is none) for one target."""
    if override:
        digest = override.split("@", 1)[1] if "@" in override else None
        return override, digest, None
    result: TargetResult | None = None
    if results is not None:
        result = next((r for r in results.targets if r.id == target.id), None)
    if result is None:
        return None, None, "no bake result for it (run `bakery bake`, or pass --image)"
    if result.status != "ok":
        return None, None, f"its build is {result.status}"
    if results is not None and results.output == "cache":
        return None, result.digest, "built without --push or --load: no image to run"
    if not result.digest:
        return None, None, "the bake result has no digest"
    repository = _repository(result.tags[0]) if result.tags else target.repository
    if results is not None and results.output == "load":
        # a loaded image has no registry digest to address it by; its tag names it
        return (result.tags[0] if result.tags else target.tags.primary[0]), result.digest, None
    return f"{repository}@{result.digest}", result.digest, None


def verify_target(
    client: DockerClient,
    target: Target,
    matrix: Matrix,
    image: str,
    digest: str | None,
    source: str,
    *,
    require_gpu: bool = False,
) -> Verdict:
    """Run the probe in `image` (no GPU needed: CUDA is what torch was built for) and judge.

    A cuda target also gets a GPU check (`torch.cuda.is_available()` with `--gpus all`) when
    this host can run one; where it cannot, the check is left out, or, with `require_gpu`,
    fails with the reason."""
    args = ["-c", source, *feature_packages(matrix)]
    try:
        output = run_output(client, image, "python3", args, platform=target.platform,
                            env=emulation_env(target))
    except RunFailed as exc:
        return Verdict(target.id, "error", image, digest, str(exc))
    lines = [line for line in output.splitlines() if line.strip()]
    try:
        probe = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        probe = None
    if not isinstance(probe, dict):
        tail = lines[-1][:200] if lines else "no output"
        return Verdict(target.id, "error", image, digest, f"the probe printed no report: {tail}")
    checks = tuple(compare(expectations(target, matrix), probe))
    if target.accelerator == "cuda":
        gpu = gpu_check(client, image, target.platform, require_gpu)
        checks += () if gpu is None else (gpu,)
    status: Status = "passed" if all(c.ok for c in checks) else "failed"
    return Verdict(target.id, status, image, digest, None, checks, probe)


GPU_CHECK = "gpu torch.cuda"
# The oldest arm64 CPU the images must run on: the Raspberry Pi 4's Cortex-A72 (ARMv8.0, no LSE
# atomics). Where an arm64 image runs emulated (qemu-user through binfmt_misc), qemu reads
# QEMU_CPU and emulates that CPU, so a wheel built for newer cores (one using LSE atomics)
# fails `import torch` or the probe's matmul here, not on the devices. Native arm64 hosts
# ignore the variable.
PI_CPU = {"QEMU_CPU": "cortex-a72"}


def emulation_env(target: Target) -> dict[str, str]:
    return dict(PI_CPU) if target.arch == "arm64" else {}


def gpu_check(client: DockerClient, image: str, platform: str, required: bool) -> Check | None:
    """torch sees a GPU through `--gpus all`; None when it cannot run here and is not required."""
    try:
        output = run_output(client, image, "python3",
                            ["-c", "import torch; print(torch.cuda.is_available())"],
                            platform=platform, gpus="all")
    except RunFailed as exc:
        if not required:
            return None
        return Check(GPU_CHECK, "True", f"cannot run here: {exc}", False)
    found = output.strip().splitlines()[-1] if output.strip() else "no output"
    return Check(GPU_CHECK, "True", found, found == "True")


def record_verdicts(path: Path, verdicts: Sequence[Verdict]) -> set[str]:
    """Write each probed verdict into the results file at `path`; return the ids recorded.

    The file is read again just before writing (a verify run takes minutes; only the `verify`
    entries change) and replaced atomically, so it is never left half-written. Targets that
    were not built, or that the file has no result for, are not recorded.
    """
    current = load_results(path)
    known = {r.id for r in current.targets}
    records = {v.target: v.record() for v in verdicts
               if v.status != "not built" and v.target in known}
    if records:
        write_atomic(path, results_json(with_verify(current, records)))
    return set(records)
