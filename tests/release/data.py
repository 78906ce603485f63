"""Test data for release: the plan of MINIMAL_MATRIX at a v1.2.0 tag, and bake results files
written by hand (the format of bakery/bake/results.py, with verify's verdicts)."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

from bakery.bake.results import Results
from bakery.matrix import parse_matrix
from bakery.plan import Plan, expand
from bakery.tags.git import GitContext
from tests.support.cli import MINIMAL_MATRIX
from tests.verify.gpu_reports import GOOD_GPU

REF = "refs/tags/v1.2.0"
SHA = "0123456789abcdef0123456789abcdef01234567"
REF_ARGS = ("--ref", REF, "--sha", SHA)
IDS = ["edge_cpu-py313", "edge_cpu-py313-dind", "edge_cpu-py312", "edge_gpu-py313",
       "edge_gpu-py313-dind", "edge_gpu-py312"]  # every target of MINIMAL_MATRIX
CPU = [i for i in IDS if i.startswith("edge_cpu")]


@cache
def plan() -> Plan:
    return expand(parse_matrix(MINIMAL_MATRIX, source="matrix.toml"),
                  git=GitContext(ref=REF, sha=SHA, source="cli"))


def digest(name: str) -> str:
    return "sha256:" + hashlib.sha256(name.encode()).hexdigest()


def repository(target: str) -> str:
    """The staging repository bake pushed `target`'s candidate to (release copies from it)."""
    return plan().target(target).candidate.rsplit(":", 1)[0]


def candidate(target: str) -> str:
    return plan().target(target).candidate


def primary(target: str) -> str:
    return plan().target(target).tags.primary[0]


def to_create(target: str) -> list[str]:
    """The names release creates for `target`, in plan order: primary, legacy, compatibility,
    release."""
    tags = plan().target(target).tags
    return [*tags.primary, *tags.legacy, *tags.compatibility, *tags.release]


def verify_record(target: str, **changes: Any) -> dict[str, Any]:
    """Verified on its digest; a cuda target's GPU checks ran on a GPU (the GPU proof)."""
    d = digest(target)
    probe = {"gpu": GOOD_GPU} if plan().target(target).accelerator == "cuda" else {}
    return {"ok": True, "image": f"{repository(target)}@{d}", "digest": d,
            "verified_at": "2026-11-28T11:00:00Z", "mismatches": [], "probe": probe} | changes


def entry(target: str, **changes: Any) -> dict[str, Any]:
    """One target's result: built ok, pushed as its candidate, verified on its digest."""
    return {
        "id": target, "status": "ok", "platform": "linux/amd64", "digest": digest(target),
        "tags": [candidate(target)], "duration_s": 1.0, "started_at": "2026-11-28T10:00:00Z",
        "error": None, "command": [], "build_ref": None, "log_file": None,
        "verify": verify_record(target),
    } | changes


def results_doc(targets: list[dict[str, Any]], output: str = "push") -> dict[str, Any]:
    return {
        "schema_version": 1, "bakery_version": "0.1.0", "matrix": "matrix.toml",
        "bake_file": "docker-bake.hcl", "builder": None, "output": output, "fail_fast": False,
        "jobs": 1, "git": {"ref": REF, "sha": SHA, "source": "cli"},
        "started_at": "2026-11-28T10:00:00Z", "duration_s": 1.0, "ok": True, "targets": targets,
    }


def results(targets: list[dict[str, Any]], output: str = "push") -> Results:
    return Results.model_validate_json(json.dumps(results_doc(targets, output)))


def write_results(path: Path, targets: list[dict[str, Any]], output: str = "push") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results_doc(targets, output)))


# why a target is refused, as the result entry that causes it and the reason release gives
REFUSALS: dict[str, tuple[dict[str, Any] | None, str]] = {
    "missing": (None, "not built: no bake result for it (run `bakery bake --push`)"),
    "failed": ({"status": "failed", "digest": None,
                "error": {"step": "[x 3/4] RUN uv pip install", "message": "exit code: 1",
                          "log_tail": []}}, "build failed: exit code: 1"),
    "cancelled": ({"status": "cancelled", "digest": None}, "build cancelled"),
    "no digest": ({"digest": None}, "not built: the bake result has no digest"),
    "unverified": ({"verify": None}, "not verified: run `bakery verify`"),
    "verify failed": ({"verify": "FAILED"},
                      "verification failed: torch expected 2.9.1 found 2.9.0"),
    "other digest": ({"verify": "OLD"}, "verified digest differs from the built one"),
    "stale plan": ({"tags": ["acme/edge_gpu:py3.13.9-th2.9.0-tr4.57.1"]},
                   "built for another plan: bake pushed acme/edge_gpu:py3.13.9-th2.9.0-tr4.57.1"),
}


def refused_entry(target: str, why: str) -> dict[str, Any] | None:
    change, _ = REFUSALS[why]
    if change is None:
        return None
    change = dict(change)
    if change.get("verify") == "FAILED":
        change["verify"] = verify_record(target, ok=False, mismatches=[
            {"check": "torch", "expected": "2.9.1", "found": "2.9.0"}])
    elif change.get("verify") == "OLD":
        change["verify"] = verify_record(target, digest=digest("an older build"))
    return entry(target, **change)
