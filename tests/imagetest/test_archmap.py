"""One architecture map: bakery's (matrix.models.MACHINES) is the source; hostmatch derives
from it, and images/test_image.sh, which must run without Python, keeps a copy this test holds
in step."""

from __future__ import annotations

import re

import pytest

from bakery.imagetest.hostmatch import qemu_handler
from bakery.matrix.models import MACHINES, docker_arch
from tests.support.repo import ROOT


def _cases(function: str) -> dict[str, str]:
    """`name) echo value ;;` lines of one shell function, each name -> value."""
    text = (ROOT / "images" / "test_image.sh").read_text()
    body = re.search(rf"^{function}\(\) {{\n(.*?)^}}", text, re.MULTILINE | re.DOTALL)
    assert body is not None, f"images/test_image.sh has no {function}()"
    out = {}
    for names, value in re.findall(r"^\s*([\w| ]+)\) echo (\w+) ;;", body.group(1), re.MULTILINE):
        for name in names.split("|"):
            out[name.strip()] = value
    return out


def test_the_scripts_qemu_names_are_the_kernel_names_of_machines() -> None:
    assert {arch: _cases("qemu_name")[arch] for arch in MACHINES} == MACHINES


@pytest.mark.parametrize("arch", sorted(MACHINES))
def test_both_names_of_an_architecture_map_to_dockers_in_bakery_and_the_script(
    arch: str
) -> None:
    script = _cases("docker_arch")
    for name in (arch, MACHINES[arch]):
        assert docker_arch(name) == script[name] == arch
    assert qemu_handler(arch).name == f"qemu-{MACHINES[arch]}"
