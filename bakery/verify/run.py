"""Verify targets: which targets and which image for each, run the probe in it, judge the
answer, record the verdicts in the results file."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Protocol

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
from bakery.docker.imagetools import CliReader, attestations, image_size
from bakery.docker.run import RunFailed, local_size, run_output
from bakery.errors import ConfigError
from bakery.jsonfile import write_atomic
from bakery.matrix import Matrix
from bakery.plan.select import select_targets
from bakery.plan.target import Plan, Target, enabled_attestations
from bakery.progress import Progress
from bakery.registry.errors import RegistryError
from bakery.sizes import human_bytes
from bakery.tags.refs import ImageRef, parse_reference
from bakery.verify.compare import (
    Check,
    compare,
    expectations,
    feature_modules,
    feature_packages,
)
from bakery.verify.gate import GateUnavailable, PythonLaunch, host_qemu, python_launch
from bakery.verify.gpuprobe import OPTIONAL
from bakery.verify.gpuprobe import judge as gpu_judge

VerifyStatus = Literal["passed", "failed", "not built", "error"]


@dataclass(frozen=True)
class VerifyVerdict:
    """`bakery verify`'s judgement of one target (`record()`: the form the results file keeps)."""

    target: str
    status: VerifyStatus
    image: str | None = None
    digest: str | None = None
    message: str | None = None
    checks: tuple[Check, ...] = ()
    probe: dict[str, Any] = field(default_factory=dict)
    compressed_size: int | None = None
    size: int | None = None
    update_cost: int | None = None

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
                            probe=self.probe, compressed_size=self.compressed_size,
                            size=self.size, update_cost=self.update_cost)


def probe_source() -> str:
    return resources.files("bakery.verify").joinpath("probe.py").read_text(encoding="utf-8")


def _repository(tag: str) -> str:
    """`host:5000/ns/name:tag` -> `host:5000/ns/name`."""
    return parse_reference(tag).repository


def image_to_run(
    target: Target, results: Results | None, override: str | None
) -> tuple[str | None, str | None, str | None]:
    """(image reference, digest, why there is none) for one target."""
    if override:
        digest = ImageRef.parse(override, where="--image").digest
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
    host_arch: str = "x86_64",
    qemu: str | None = None,
) -> VerifyVerdict:
    """Run the probe in `image` (no GPU needed: CUDA is what torch was built for) and judge.

    An arm64 target runs under the Raspberry Pi gate (`bakery.verify.gate`), which depends on
    the engine's architecture `host_arch`; on an arm64 engine through `qemu`, the host's
    static qemu-aarch64. A cuda target also gets the GPU checks (bakery/verify/gpuprobe.py
    with `--gpus all`: device, cuDNN, conv2d and matmul against the CPU, and the deep check of
    each enabled feature's module that has one: TensorRT, bitsandbytes) when this host can
    run them; where it cannot, they are left out, or, with `require_gpu`, fail with the
    reason. Their report is kept as the probe's "gpu"
    (the GPU proof a release reads, bakery/release/gpuproof.py)."""
    try:
        launch = python_launch(target.arch, host_arch, qemu)
    except GateUnavailable as exc:
        return VerifyVerdict(target.id, "error", image, digest, str(exc))
    try:
        output = run_probe(client, image, target.platform, launch,
                           ["-c", source, *feature_packages(matrix),
                            *feature_modules(target, matrix)])
    except RunFailed as exc:
        return VerifyVerdict(target.id, "error", image, digest, str(exc))
    lines = [line for line in output.splitlines() if line.strip()]
    try:
        probe = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        probe = None
    if not isinstance(probe, dict):
        tail = lines[-1][:200] if lines else "no output"
        return VerifyVerdict(target.id, "error", image, digest,
                             f"the probe printed no report: {tail}")
    checks = tuple(compare(expectations(target, matrix), probe))
    if target.accelerator == "cuda":
        gpu, gpu_report = gpu_checks(client, image, target, matrix, require_gpu)
        checks += gpu
        if gpu_report is not None:  # what release reads as the GPU proof
            probe = {**probe, "gpu": gpu_report}
    compressed: int | None = None
    if enabled_attestations(target.attest) and digest and "@" in image:
        checks += tuple(attestation_checks(client, target, image))
    update: int | None = None
    if digest and "@" in image:  # a pushed candidate: its manifest tells what a pull costs
        compressed, size_checks = image_size_checks(client, target, image)
        checks += size_checks
        update = update_cost(client, target, image)
    status: VerifyStatus = "passed" if all(c.ok for c in checks) else "failed"
    return VerifyVerdict(target.id, status, image, digest, None, checks, probe,
                         compressed_size=compressed, size=local_size(client, image),
                         update_cost=update)


def update_cost(client: DockerClient, target: Target, image: str) -> int | None:
    """The compressed bytes a device holding the released image (the target's primary name)
    downloads to get the candidate (`bakery.registry.cost`, the formula `bakery update-cost`
    prints), read through the docker CLI. Not released yet: the whole candidate. None when
    either manifest cannot be read."""
    from bakery.registry.cost import update_cost as cost

    try:
        return cost(lambda ref: CliReader(client, ref), image, target.tags.primary[0],
                    target.platform).download
    except RegistryError:
        return None


SIZE_CHECK = "size (compressed)"


def image_size_checks(
    client: DockerClient, target: Target, image: str
) -> tuple[int | None, tuple[Check, ...]]:
    """(compressed size, the budget check): over the matrix's `size_budget`, the check fails
    naming the three biggest layers. Without a budget there is no check; an unreadable
    manifest then only leaves the size unknown."""
    budget = target.size_budget
    try:
        size = image_size(client, image, target.platform)
    except RegistryError as exc:
        if budget is None:
            return None, ()
        return None, (Check(SIZE_CHECK, f"at most {human_bytes(budget)}",
                            f"unreadable: {exc}", False),)
    if budget is None:
        return size.compressed, ()
    found = human_bytes(size.compressed)
    ok = size.compressed <= budget
    if not ok:
        biggest = ", ".join(f"{digest[:19]} {human_bytes(n)}" for digest, n in size.layers[:3])
        found += f"; biggest layers: {biggest}"
    return size.compressed, (Check(SIZE_CHECK, f"at most {human_bytes(budget)}", found, ok),)


def run_probe(client: DockerClient, image: str, platform: str, launch: PythonLaunch,
              args: list[str]) -> str:
    """The probe's output, its python started as `launch` says (the Raspberry Pi gate)."""
    return run_output(client, image, launch.entrypoint, [*launch.args, *args],
                      platform=platform, env=dict(launch.env), volumes=launch.volumes)


def host_gate(client: DockerClient, targets: Sequence[Target]) -> tuple[str, str | None]:
    """(engine architecture, host's static qemu-aarch64) for the Raspberry Pi gate; the
    engine is asked only when an arm64 target is among `targets` (otherwise the architecture
    decides nothing and "x86_64" stands in)."""
    if not any(t.arch == "arm64" for t in targets):
        return "x86_64", None
    from bakery.docker.host import engine_architecture

    return engine_architecture(client), host_qemu()


def gpu_source() -> str:
    return resources.files("bakery.verify").joinpath("gpuprobe.py").read_text(encoding="utf-8")


def gpu_wanted(target: Target, matrix: Matrix) -> list[str]:
    """The modules of `target`'s enabled features that have a deep GPU check (gpuprobe.OPTIONAL,
    keyed by the name users import); any other feature gets the generic checks only."""
    modules = {matrix.features[flag].import_name for flag, decision in target.flags.items()
               if decision.enabled and flag in matrix.features}
    return [name for name in OPTIONAL if name in modules]


def gpu_checks(
    client: DockerClient, image: str, target: Target, matrix: Matrix, required: bool
) -> tuple[tuple[Check, ...], dict[str, Any] | None]:
    """The GPU checks (bakery/verify/gpuprobe.py through `--gpus all`) and the GPU report;
    ((), None) when they cannot run here and are not required."""
    wanted = gpu_wanted(target, matrix)
    try:
        output = run_output(client, image, "python3", ["-c", gpu_source(), *wanted],
                            platform=target.platform, gpus="all")
    except RunFailed as exc:
        if not required:
            return (), None
        return (Check("gpu device", "a CUDA device", f"cannot run here: {exc}", False),), None
    lines = [line for line in output.splitlines() if line.strip()]
    try:
        found = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        found = None
    if not isinstance(found, dict):
        tail = lines[-1][:200] if lines else "no output"
        return (Check("gpu device", "a GPU report", f"unreadable: {tail}", False),), None
    return tuple(Check(name, expected, value, ok)
                 for name, expected, value, ok in gpu_judge(found, wanted)), found


def attestation_checks(client: DockerClient, target: Target, image: str) -> list[Check]:
    """Whether the pushed candidate carries the attestations the matrix asks for."""
    made = enabled_attestations(target.attest)
    wanted = {"provenance": next((a.split("mode=", 1)[1] for a in made
                                  if a.startswith("type=provenance") and "mode=" in a), None),
              "sbom": "present" if "type=sbom" in made else None}
    try:
        found = attestations(client, image)
    except RegistryError as exc:
        return [Check(name=f"attestation {name}", expected=f"present ({mode})"
                      if name == "provenance" else "present", found=f"unreadable: {exc}",
                      ok=False) for name, mode in wanted.items() if mode]
    return [Check(name=f"attestation {name}",
                  expected=f"present (mode={mode})" if name == "provenance" else "present",
                  found="present" if found[name] else None, ok=found[name])
            for name, mode in wanted.items() if mode]


def record_verdicts(path: Path, verdicts: Sequence[VerifyVerdict]) -> set[str]:
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


def verify_results(
    results: Path | None, default: Path, *, image: str | None
) -> tuple[Path, Results | None]:
    """(results path, its results or None): the results file named with --results, else the
    default one; with --image and no --results, a missing default file is no error (the
    verdict is then shown, not recorded)."""
    path = results or default
    if results is None and image and not path.exists():
        return path, None
    return path, load_results(path)


def select_for_verify(
    plan: Plan, names: Sequence[str], results: Results | None, results_path: Path,
    image: str | None,
) -> list[Target]:
    """--target as in `bakery plan`; without it, every planned target the results file holds.
    --image runs one image, so it needs exactly one target."""
    if names:
        targets = select_targets(plan, names)
    elif results is not None:
        built = {r.id for r in results.targets}
        targets = [t for t in plan.targets if t.id in built]
        if not targets:
            raise ConfigError(f"{results_path}: none of its targets is in the plan; pass"
                              " --target, or --matrix for the matrix it was built from")
    else:
        raise ConfigError("--image needs --target (the target whose plan the image must match)")
    if image and len(targets) != 1:
        raise ConfigError(f"--image runs one image; --target selects {len(targets)} targets"
                          f" ({', '.join(t.id for t in targets[:4])}"
                          f"{', ...' if len(targets) > 4 else ''})")
    return targets


class VerifyEngine(Protocol):
    """What `verify_targets` needs from Docker: one target's image probed and judged
    (`DockerProbe` in production; a test's in-process fake)."""

    def probe(self, target: Target, image: str, digest: str | None) -> VerifyVerdict: ...


@dataclass(frozen=True)
class DockerProbe:
    """The `VerifyEngine` of `bakery verify`: `verify_target` through one python-on-whales
    client, with the engine's Raspberry Pi gate settings (`docker_probe`)."""

    client: DockerClient
    matrix: Matrix
    source: str
    require_gpu: bool = False
    host_arch: str = "x86_64"
    qemu: str | None = None

    def probe(self, target: Target, image: str, digest: str | None) -> VerifyVerdict:
        return verify_target(self.client, target, self.matrix, image, digest, self.source,
                             require_gpu=self.require_gpu, host_arch=self.host_arch,
                             qemu=self.qemu)


def docker_probe(client: DockerClient, matrix: Matrix, targets: Sequence[Target], *,
                 require_gpu: bool = False) -> DockerProbe:
    """The engine checked (one line, exit 2, when it does not answer), the Raspberry Pi gate
    read from it, the probe's source loaded: a `DockerProbe` for `targets`."""
    from bakery.docker.run import check_engine

    check_engine(client)
    host, qemu = host_gate(client, targets)
    return DockerProbe(client, matrix, probe_source(), require_gpu, host, qemu)


def verify_targets(
    targets: Sequence[Target], results: Results | None, image: str | None, *,
    engine: VerifyEngine, progress: Progress,
) -> list[VerifyVerdict]:
    """One verdict per target, in order: `not built` (nothing to run, said why) without
    running anything, else what `engine.probe(target, image, digest)` judged."""
    verdicts: list[VerifyVerdict] = []
    for number, target in enumerate(targets, 1):
        ref, digest, why = image_to_run(target, results, image)
        step = f"[{number}/{len(targets)}] {target.id}"
        if ref is None:
            verdicts.append(VerifyVerdict(target.id, "not built", None, digest, why))
            progress.line(f"{step}: not built: {why}")
            continue
        started = time.monotonic()
        with progress.busy(f"{step}: probing {ref}"):
            verdict = engine.probe(target, ref, digest)
        verdicts.append(verdict)
        progress.line(f"{step}: {verdict.status} ({time.monotonic() - started:.1f}s)")
    return verdicts
