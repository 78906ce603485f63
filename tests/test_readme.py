"""The README stays true and short: a path, not a manual. Its two commands are the ones CI
runs, its matrix snippets load on top of the shipped matrix, "Make it yours" makes the names
yours, and it stays under 250 lines."""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from pathlib import Path

import pytest

from bakery.cli.app import COMMANDS
from bakery.project import LoadedPlan, load_plan
from tests.support.cli import run_cli
from tests.support.repo import ROOT

README = (ROOT / "README.md").read_text()
MAKE_IT_YOURS = "## Make it yours"
SHA = "0123456789abcdef0123456789abcdef01234567"


def blocks(lang: str, text: str = README) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def on_shipped(fragment: str, tmp_path: Path) -> LoadedPlan:
    """The plan of the shipped matrix (with its locks) after a reader wrote a README snippet
    into matrix.toml: each of its top-level keys replaces that key's line."""
    text = (ROOT / "matrix.toml").read_text()
    for key, value in tomllib.loads(fragment).items():
        assert not isinstance(value, dict), "a README snippet with tables: extend this test"
        line = f"{key} = {json.dumps(value)}"
        text, found = re.subn(rf"^{re.escape(key)} = .*$", line, text, count=1, flags=re.M)
        if not found:
            text = text.replace("\nschema_version = 1\n", f"\nschema_version = 1\n{line}\n", 1)
    for name in ("matrix.lock.json", "docker-bake.hcl.j2"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "locks", tmp_path / "locks")
    (tmp_path / "matrix.toml").write_text(text)
    return load_plan(tmp_path / "matrix.toml", ref="refs/tags/v1.2.0", sha=SHA)


def test_the_readme_is_a_path_under_250_lines() -> None:
    assert len(README.splitlines()) <= 250
    headings = re.findall(r"^## (.*)$", README, flags=re.M)
    assert headings == ["Start here", "Make it yours", "Build, verify, test, release", "The CI",
                        "Errors and exit codes", "What the test suite leaves behind",
                        "Where to read next"]


def test_the_two_quick_start_commands_are_what_ci_runs() -> None:
    setup, tests = blocks("sh")[:2]
    assert "bakery plan" in setup and "pip install" in setup
    ci = (ROOT / ".ci" / "run").read_text()
    assert tests.strip() in ci
    # and .ci/run sets up the environment the way the README's first command does
    assert "-m venv .venv" in ci and "pip install" in ci and "-e '.[dev]'" in ci


@pytest.mark.parametrize("index", range(len(blocks("toml"))))
def test_every_matrix_snippet_loads_on_the_shipped_matrix(index: int, tmp_path: Path) -> None:
    assert on_shipped(blocks("toml")[index], tmp_path).plan.targets


def test_make_it_yours_puts_every_own_name_under_the_new_namespace(tmp_path: Path) -> None:
    section = README[README.index(MAKE_IT_YOURS):]
    section = section[:section.index("\n## ")]
    snippet = blocks("toml", section)[0]
    namespace = tomllib.loads(snippet)["namespace"]
    assert namespace == "localhost:5000/me"
    plan = on_shipped(snippet, tmp_path).plan
    assert plan.targets and all(target.tags.release for target in plan.targets)
    for target in plan.targets:
        for name in (*target.tags.primary, *target.tags.legacy, *target.tags.compatibility,
                     *target.tags.release, target.candidate):
            assert name.startswith(f"{namespace}/"), name
    # the builder it proposes reaches a registry on localhost
    assert ("docker buildx create --name bakery --driver docker-container --driver-opt"
            " network=host --bootstrap") in section
    assert "localhost:5000" in section and "docker-registry" in section and "registry:2" in section


def test_the_readme_states_what_the_gpu_image_needs_as_its_labels_do() -> None:
    """A device owner reads the driver and GPU generation the image needs before pulling it:
    the README says what matrix.toml puts in the GPU image's labels."""
    matrix = tomllib.loads((ROOT / "matrix.toml").read_text())
    needs = [image["gpu"] for image in matrix["images"].values() if "gpu" in image]
    assert needs
    text = " ".join(README.split())
    for need in needs:
        assert f"driver {need['min_driver']} or newer" in text
        assert f"compute capability {need['min_compute_capability']}" in text
    assert "nvidia.driver.min" in text and "cuda.compute-capability.min" in text


def test_the_readme_links_every_guide() -> None:
    for guide in sorted((ROOT / "docs").glob("*.md")):
        assert f"](docs/{guide.name})" in README, guide.name


def test_the_readme_says_which_commands_take_matrix(capsys: pytest.CaptureFixture[str]) -> None:
    said = re.search(r"Every command\s+except ((?:`[a-z-]+`(?:,\s+|\s+and\s+)?)+)\s+reads\s+"
                     r"`--matrix PATH`", README)
    assert said is not None, "README no longer says which commands take --matrix"
    without = set(re.findall(r"`([a-z-]+)`", said.group(1)))
    for command in COMMANDS:
        takes = "--matrix" in run_cli(capsys, command, "--help").out
        assert takes == (command not in without), command


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lowercase, punctuation dropped, spaces to dashes."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_relative_link_in_the_readme_and_guides_resolves() -> None:
    """Content moved from the README into the guides: no link may point at where it was."""
    checked = 0
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "AGENTS.md"]:
        for target in re.findall(r"\]\(([^)\s]+)\)", doc.read_text()):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            file = (doc.parent / path).resolve() if path else doc
            assert file.exists(), f"{doc.name}: link to {target}"
            if anchor and file.suffix == ".md":
                headings = re.findall(r"^#+ (.*)$", file.read_text(), flags=re.M)
                assert anchor in {_anchor(h) for h in headings}, f"{doc.name}: {target}"
            checked += 1
    assert checked > 20, checked


def test_what_the_tests_leave_behind_names_the_label_they_put_on_their_images() -> None:
    from tests.engine.images import LABEL_KEY

    section = README[README.index("## What the test suite leaves behind"):]
    assert f"docker image prune -a --filter label={LABEL_KEY}" in section
    assert "gpg-agent" in section and "GB" in section
