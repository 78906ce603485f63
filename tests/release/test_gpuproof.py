"""A release of a cuda image needs its GPU checks to have run on a GPU, unless matrix.toml says
why it goes out without; `bakery summary` shows which."""

from __future__ import annotations

import pytest

from bakery.errors import ConfigError
from bakery.matrix import parse_matrix
from bakery.plan import expand
from bakery.plan.target import Target
from bakery.release.operations import release_operations
from bakery.tags.git import GitContext
from bakery.views.markdown import results_markdown
from tests.release.data import IDS, REF, SHA, entry, plan, results, verify_record
from tests.support.cli import MINIMAL_MATRIX

GPU = "edge_gpu-py313"
UNPROVEN = {"verify": verify_record(GPU, probe={})}  # verified, but no GPU report


def waived_targets() -> list[Target]:
    text = MINIMAL_MATRIX.replace(
        '[images.edge_gpu]\n',
        '[images.edge_gpu]\nrelease_without_gpu_proof = "no GPU runner until the lab'
        ' machine is back"\n')
    assert text != MINIMAL_MATRIX
    return list(expand(parse_matrix(text, source="matrix.toml"),
                       git=GitContext(ref=REF, sha=SHA, source="cli")).targets)


def refusals(targets: list[Target], names: str = "all") -> dict[str, str]:
    entries = [entry(t, **(UNPROVEN if t == GPU else {})) for t in IDS]
    _ops, refused = release_operations(targets, results(entries), names)  # type: ignore[arg-type]
    return {r.target: r.reason for r in refused}


def test_a_gpu_image_not_proven_on_a_gpu_is_refused_naming_the_fix() -> None:
    assert refusals(list(plan().targets)) == {GPU: (
        "not proven on a GPU: its GPU checks did not run (run `bakery verify --target"
        f" {GPU} --require-gpu` on a host with an NVIDIA GPU, or say why this release goes out"
        ' without: release_without_gpu_proof = "..." in [images.edge_gpu] of matrix.toml)')}


def test_a_branch_push_needs_no_gpu_proof() -> None:
    assert refusals(list(plan().targets), names="branch") == {}


def test_the_matrix_can_send_a_release_out_without_one_and_the_summary_says_so() -> None:
    targets = waived_targets()
    assert refusals(targets) == {}
    planned = {t.id: t for t in targets}
    text = results_markdown([results([entry(GPU, **UNPROVEN)])], planned, title="t")
    assert ("passed; released WITHOUT a GPU proof: no GPU runner until the lab machine is"
            " back") in text


def test_the_summary_names_the_gpu_a_proof_ran_on_or_its_absence() -> None:
    planned = {t.id: t for t in plan().targets}
    proven = results_markdown([results([entry(GPU)])], planned, title="t")
    assert "passed; GPU proven on NVIDIA A10G (8.6), driver 570.133.20" in proven
    unproven = results_markdown([results([entry(GPU, **UNPROVEN)])], planned, title="t")
    assert "passed; not proven on a GPU: a release refuses it" in unproven
    cpu = results_markdown([results([entry("edge_cpu-py313")])], planned, title="t")
    assert "GPU" not in cpu


def test_a_blank_reason_is_bad_input() -> None:
    text = MINIMAL_MATRIX.replace('[images.edge_gpu]\n',
                                  '[images.edge_gpu]\nrelease_without_gpu_proof = " "\n')
    with pytest.raises(ConfigError, match="release_without_gpu_proof"):
        parse_matrix(text, source="matrix.toml")
