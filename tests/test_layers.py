"""The layers of docs/design.md ("Map of the code", "Layers") are the code's: the import graph
is derived from bakery/ (every import statement, those inside functions included), and no
import runs from a lower layer to a higher one, no package depends on itself through others,
and every package and top-level module sits in exactly one layer."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from tests.support.repo import ROOT

SECTION = "### Layers"
REST = "*.py"  # the layer of every top-level module not named in another


def layers_from_doc(text: str) -> list[list[str]]:
    """The numbered list under SECTION: per layer, from the top, its units (`cli/`,
    `errors.py`, `*.py`), the backticked names an item starts with."""
    assert SECTION in text, f"docs/design.md lost its {SECTION!r} section"
    section = text[text.index(SECTION) + len(SECTION):]
    section = section[:section.index("\n#")] if "\n#" in section else section
    layers = []
    for line in section.splitlines():
        item = re.match(r"^\d+\.\s+((?:`[^`]+`(?:,\s*)?)+)", line)
        if item:
            layers.append(re.findall(r"`([^`]+)`", item.group(1)))
    return layers


def units_on_disk(root: Path) -> set[str]:
    """`name/` per package, `name.py` per top-level module of the package at `root`."""
    packages = {f"{d.name}/" for d in root.iterdir() if (d / "__init__.py").is_file()}
    return packages | {f.name for f in root.glob("*.py")}


def unit_of(module: str, root: Path) -> str:
    """The unit a dotted module name under `root`'s package belongs to."""
    parts = module.split(".")[1:]
    if not parts:
        return "__init__.py"
    if (root / parts[0] / "__init__.py").is_file():
        return f"{parts[0]}/"
    if (root / f"{parts[0]}.py").is_file():
        return f"{parts[0]}.py"
    return "__init__.py"  # a name the package itself defines (`from bakery import __version__`)


def _module_name(path: Path, root: Path) -> str:
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(node: ast.AST, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:
        anchor = module.split(".")
        anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
        base = ".".join([*anchor, *([base] if base else [])])
    # `from pkg import sub` may name a submodule: count both the package and the name
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def import_graph(root: Path) -> dict[str, dict[str, set[str]]]:
    """unit -> {imported unit: {the files importing it}}, between different units only."""
    graph: dict[str, dict[str, set[str]]] = {}
    for path in sorted(root.rglob("*.py")):
        module = _module_name(path, root)
        source = unit_of(module, root)
        graph.setdefault(source, {})
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            for name in _imported(node, module, path.name == "__init__.py"):
                if name != root.name and not name.startswith(f"{root.name}."):
                    continue
                target = unit_of(name, root)
                if target != source:
                    where = str(path.relative_to(root.parent))
                    graph[source].setdefault(target, set()).add(where)
    return graph


def layer_index(layers: list[list[str]], units: Iterable[str]) -> dict[str, int]:
    """unit -> its layer (0: the top); every unit in one layer, every name listed exists."""
    index: dict[str, int] = {}
    units = set(units)
    for number, layer in enumerate(layers):
        for unit in layer:
            assert unit == REST or unit in units, f"the layer list names {unit}, not in the code"
            assert unit not in index, f"{unit} is in two layers"
            index[unit] = number
    rest = index.get(REST)
    for unit in sorted(units - set(index)):
        assert unit.endswith(".py") and rest is not None, f"{unit} is in no layer"
        index[unit] = rest
    return index


def upward(graph: Mapping[str, Mapping[str, set[str]]], index: Mapping[str, int]) -> list[str]:
    """Every import from a lower layer to a higher one, with the files that make it."""
    return [
        f"{source} -> {target} ({', '.join(sorted(files))})"
        for source, targets in sorted(graph.items())
        for target, files in sorted(targets.items())
        if index[target] < index[source]
    ]


def cycles(graph: Mapping[str, Mapping[str, set[str]]]) -> list[list[str]]:
    """The strongly connected components of more than one unit (Tarjan)."""
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(unit: str) -> None:
        order[unit] = low[unit] = len(order)
        stack.append(unit)
        for target in graph.get(unit, {}):
            if target not in order:
                visit(target)
                low[unit] = min(low[unit], low[target])
            elif target in stack:
                low[unit] = min(low[unit], order[target])
        if low[unit] == order[unit]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == unit:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for unit in sorted(graph):
        if unit not in order:
            visit(unit)
    return found


def problems(root: Path, doc: str) -> list[str]:
    """What is wrong with the imports of the package at `root` against the layers in `doc`."""
    graph = import_graph(root)
    index = layer_index(layers_from_doc(doc), units_on_disk(root))
    return [f"upward import: {edge}" for edge in upward(graph, index)] + [
        f"cycle: {' <-> '.join(component)}" for component in cycles(graph)
    ]


def test_no_import_runs_upward_and_no_package_cycle() -> None:
    doc = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
    assert problems(ROOT / "bakery", doc) == []


def test_the_layer_list_is_read_whole() -> None:
    layers = layers_from_doc((ROOT / "docs" / "design.md").read_text(encoding="utf-8"))
    assert layers[0] == ["__main__.py"] and layers[-1] == [REST]
    assert ["project/"] in layers and ["plan/"] in layers, layers
    assert len(layers) >= 10


DOC = """## Map of the code

### Layers

1. `high/`: on top.
2. `mid/`, `side/`: siblings.
3. `low/`: below.
4. `*.py` (the rest): shared.

### Next
"""


def _tree(tmp_path: Path, files: Mapping[str, str]) -> Path:
    root = tmp_path / "pkg"
    for name in ("high", "mid", "side", "low"):
        (root / name).mkdir(parents=True)
        (root / name / "__init__.py").write_text("")
    (root / "__init__.py").write_text("")
    (root / "shared.py").write_text("")
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def test_the_checker_passes_downward_and_sibling_imports(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "high/a.py": "import pkg.mid.b\nfrom pkg.low import c\n",
        "mid/b.py": "from pkg.side import d\nfrom pkg import shared\n",
        "low/c.py": "from . import e\nfrom pkg.shared import x\n",
    })
    assert problems(root, DOC) == []


@pytest.mark.parametrize(("files", "expected"), [
    ({"low/c.py": "def f():\n    from pkg.high import a\n"},
     ["upward import: low/ -> high/ (pkg/low/c.py)"]),
    ({"shared.py": "import pkg.mid\n"}, ["upward import: shared.py -> mid/ (pkg/shared.py)"]),
    ({"low/c.py": "from ..mid import b\n"}, ["upward import: low/ -> mid/ (pkg/low/c.py)"]),
    ({"low/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import side\n"},
     ["upward import: low/ -> side/ (pkg/low/c.py)"]),
    ({"mid/b.py": "import pkg.side.d\n", "side/d.py": "from pkg.mid import b\n"},
     ["cycle: mid/ <-> side/"]),
])
def test_the_checker_fails_on_an_upward_import_or_a_cycle(
    tmp_path: Path, files: dict[str, str], expected: list[str]
) -> None:
    assert problems(_tree(tmp_path, files), DOC) == expected


def test_a_unit_in_no_layer_or_a_layer_naming_nothing_fails(tmp_path: Path) -> None:
    root = _tree(tmp_path, {})
    (root / "new").mkdir()
    (root / "new" / "__init__.py").write_text("")
    with pytest.raises(AssertionError, match="new/ is in no layer"):
        problems(root, DOC)
    with pytest.raises(AssertionError, match="names gone/"):
        problems(_tree(tmp_path / "other", {}), DOC.replace("`low/`", "`low/`, `gone/`"))
