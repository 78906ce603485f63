"""The one map of the code (docs/design.md, "Map of the code") stays the code's: every package
and top-level module under bakery/ is listed, nothing is listed that does not exist, and every
module a row names is in its package. README.md and AGENTS.md point to it instead of repeating
it."""

from __future__ import annotations

import re

from tests.support.repo import ROOT

SECTION = "## Map of the code"


def map_rows() -> dict[str, str]:
    """path -> description, from the section's table."""
    text = (ROOT / "docs" / "design.md").read_text()
    assert SECTION in text, f"docs/design.md lost its {SECTION!r} section"
    section = text[text.index(SECTION) + len(SECTION):]
    section = section[:section.index("\n## ")] if "\n## " in section else section
    rows: dict[str, str] = {}
    for line in section.splitlines():
        match = re.match(r"^\| `(bakery/[^`]*)` \| (.*) \|$", line)
        if match:
            assert match.group(1) not in rows, f"{match.group(1)} is listed twice"
            rows[match.group(1)] = match.group(2)
    return rows


def on_disk() -> set[str]:
    """Every package (a directory with __init__.py) and every top-level module of bakery/."""
    bakery = ROOT / "bakery"
    packages = {f"bakery/{d.name}/" for d in bakery.iterdir()
                if d.is_dir() and (d / "__init__.py").is_file()}
    modules = {f"bakery/{f.name}" for f in bakery.glob("*.py")}
    return packages | modules


def test_the_map_lists_every_package_and_module_and_nothing_else() -> None:
    listed, present = set(map_rows()), on_disk()
    assert sorted(present - listed) == [], "not in docs/design.md's map of the code"
    assert sorted(listed - present) == [], "docs/design.md's map lists what does not exist"


def test_every_module_a_row_names_exists_in_its_package() -> None:
    named = 0
    for path, description in map_rows().items():
        if not path.endswith("/"):
            continue
        for module in re.findall(r"`([a-z_]+\.py)`", description):
            assert (ROOT / path / module).is_file(), f"{path}{module} (docs/design.md)"
            named += 1
    assert named > 30, named


def test_readme_and_agents_link_to_the_map_instead_of_repeating_it() -> None:
    for doc in ("README.md", "AGENTS.md"):
        text = (ROOT / doc).read_text()
        assert "docs/design.md" in text, doc
        repeated = re.findall(r"^\| `bakery/[^`]+` \|.*$", text, flags=re.M)
        assert repeated == [], f"{doc} repeats the map: {repeated}"
