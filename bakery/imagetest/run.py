"""Driving images/test_image.sh: its path, its environment, the image to test, and the loop
over the selected targets (`test_targets`)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from bakery.bake.results import Results
from bakery.errors import ConfigError, MissingToolError
from bakery.imagetest.expect import expectation_env
from bakery.imagetest.hostmatch import handler_enabled, host_skip_reason, qemu_handler
from bakery.plan.target import Target
from bakery.progress import Progress

if TYPE_CHECKING:
    from python_on_whales import DockerClient

    from bakery.matrix import Matrix

SCRIPT = Path("images") / "test_image.sh"
# The probe `bakery verify` runs: the script runs this one too (not a copy next to it).
PROBE = Path(__file__).resolve().parent.parent / "verify" / "probe.py"
GPU_PROBE = PROBE.with_name("gpuprobe.py")
# The script's own settings bakery passes on from the caller's environment (all others too);
# EXPECT_* ones are dropped, so only the plan's expectations are asserted.
_EXPECT_PREFIX = "EXPECT_"


def script_path(matrix_path: Path) -> Path:
    """images/test_image.sh next to the matrix; ConfigError when it is missing."""
    script = matrix_path.parent / SCRIPT
    if not script.is_file():
        raise ConfigError(
            f"{script} is missing: `bakery test` runs images/test_image.sh from the directory"
            f" of {matrix_path} (restore it from the repository, or pass --matrix)"
        )
    return script


def script_env(
    base: Mapping[str, str],
    expect: Mapping[str, str],
    *,
    skip_nested: bool = False,
    nested_via: str | None = None,
    require_gpu: bool = False,
) -> dict[str, str]:
    """The environment for one run: `base` without any EXPECT_*, then the plan's expectations,
    bakery's own probe, and the command-line settings (which win over the environment)."""
    env = {k: v for k, v in base.items() if not k.startswith(_EXPECT_PREFIX)}
    env.update(expect)
    env["PROBE"] = str(PROBE)
    env["GPU_PROBE"] = str(GPU_PROBE)
    if skip_nested:
        env["SKIP_NESTED"] = "1"
    if nested_via is not None:
        env["NESTED_VIA"] = nested_via
    if require_gpu:
        env["REQUIRE_GPU"] = "1"
    return env


def image_for(target: Target, results: Results | None, override: str | None,
              engine: ImageTestEngine | None = None) -> tuple[str | None, str | None]:
    """(image to test, why there is none): --image, else the bake result's image (by digest
    after a push), else the candidate name bake gives it when `engine` holds it (without
    one, the candidate is taken as it is)."""
    if override:
        return override, None
    if results is not None and any(r.id == target.id for r in results.targets):
        from bakery.verify.run import image_to_run  # python-on-whales: only here

        ref, _digest, why = image_to_run(target, results, None)
        return ref, why
    if engine is not None and not engine.present(target.candidate):
        return None, (f"no bake result for it and no image {target.candidate} in the engine"
                      " (run `bakery bake --load`, or pass --image)")
    return target.candidate, None


def run_script(script: Path, image: str, env: Mapping[str, str], *,
               to_stderr: bool = False) -> int:
    """Run the script with the terminal as its output (standard error with `to_stderr`, when
    standard output carries JSON); its exit status."""
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        return subprocess.run(["sh", str(script), image], env=dict(env), check=False,
                              stdout=sys.stderr if to_stderr else None).returncode
    except OSError as exc:
        raise MissingToolError(f"cannot run {script} with sh: {exc}") from None


# what `bakery test` says of one target (the `status` of its JSON document)
ImageTestStatus = Literal["passed", "failed", "not built", "skipped"]


@dataclass(frozen=True)
class ImageTestTally:
    """Which targets `bakery test` passed, failed and skipped (not runnable on this host)."""

    passed: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    # no image to test (never built, its build failed): nothing ran, and that is not a pass
    not_built: tuple[str, ...] = ()
    # why a target did not pass: the script's exit status, why it has no image or is skipped
    reasons: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    def statuses(self) -> dict[str, ImageTestStatus]:
        """Each target's status, by id."""
        groups: tuple[tuple[ImageTestStatus, tuple[str, ...]], ...] = (
            ("passed", self.passed), ("failed", self.failed), ("not built", self.not_built),
            ("skipped", self.skipped))
        return {target: status for status, targets in groups for target in targets}

    def summary(self) -> str:
        not_built = f", {len(self.not_built)} not built" if self.not_built else ""
        return (f"bakery test: {len(self.passed)} passed, {len(self.failed)} failed{not_built},"
                f" {len(self.skipped)} skipped (platform)")


class ImageTestEngine(Protocol):
    """What `test_targets` needs from Docker (`ScriptEngine` in production; a test's
    in-process fake)."""

    def present(self, image: str) -> bool:
        """Whether the engine holds `image` (the candidate name a target without a bake
        result falls back to)."""
        ...

    def run(self, target: Target, image: str) -> int:
        """The test script on `image`: 0 passed, 1 a check failed, other: usage or engine."""
        ...


@dataclass(frozen=True)
class ScriptEngine:
    """The `ImageTestEngine` of `bakery test`: images/test_image.sh with the plan's
    expectations (`script_env`), and the engine asked through one python-on-whales client."""

    client: DockerClient
    matrix: Matrix
    script: Path
    base_env: Mapping[str, str]
    skip_nested: bool = False
    nested_via: str | None = None
    require_gpu: bool = False
    to_stderr: bool = False

    def present(self, image: str) -> bool:
        from bakery.docker.host import image_present

        return image_present(self.client, image)

    def run(self, target: Target, image: str) -> int:
        env = script_env(self.base_env, expectation_env(target, self.matrix),
                         skip_nested=self.skip_nested, nested_via=self.nested_via,
                         require_gpu=self.require_gpu)
        return run_script(self.script, image, env, to_stderr=self.to_stderr)


def test_targets(
    targets: Sequence[Target], *, results: Results | None, image: str | None, host: str,
    binfmt_dir: Path, script: Path, engine: ImageTestEngine, progress: Progress,
) -> ImageTestTally:
    """Run the test script on each target this host can run (natively or through an enabled
    qemu handler), in order; a target with no image to test (never built, or its build
    failed: `NOT BUILT`, as verify says) runs nothing."""
    passed: list[str] = []
    failed: list[str] = []
    skipped: list[str] = []
    not_built: list[str] = []
    reasons: list[tuple[str, str]] = []
    for target in targets:
        handler = qemu_handler(target.arch, binfmt_dir)
        why = host_skip_reason(target.arch, host, handler, enabled=handler_enabled(handler))
        if why is not None:
            progress.line(f"SKIP target {target.id}: {why}")
            skipped.append(target.id)
            reasons.append((target.id, why))
            continue
        ref, why = image_for(target, results, image, engine)
        if ref is None:
            progress.line(f"NOT BUILT target {target.id}: {why}")
            not_built.append(target.id)
            reasons.append((target.id, str(why)))
            continue
        progress.line(f"== {target.id}: {script} {ref}")
        code = engine.run(target, ref)
        (passed if code == 0 else failed).append(target.id)
        if code not in (0, 1):
            progress.line(f"FAIL target {target.id}: {script} exited {code} (usage or engine"
                          " error)")
        if code != 0:
            reasons.append((target.id, f"{script} exited {code}"))
    return ImageTestTally(tuple(passed), tuple(failed), tuple(skipped), tuple(not_built),
                          tuple(reasons))


test_targets.__test__ = False  # type: ignore[attr-defined]  # a library function, not a test
