"""Property tests: tag compatibility against an independent oracle, and parser round trips."""

from __future__ import annotations

import html
import json
import re
from urllib.parse import quote, urljoin

from hypothesis import given, settings
from hypothesis import strategies as st

from bakery.matrix.models import MACHINES
from bakery.preflight.index import IndexFile, parse_html_page, parse_json_page
from bakery.preflight.wheels import Verdict, WheelTarget, _compact, check_wheel

GLIBC = 39
FLOOR = {"x86_64": 5, "aarch64": 17}


@st.composite
def interpreter_abi(draw: st.DrawFn, target_minor: int) -> tuple[str, str]:
    # Near the target's minor version, where off-by-one mistakes would show.
    minor = target_minor + draw(st.integers(-3, 1))
    kind = draw(st.sampled_from(["cp", "abi3", "none", "py3", "py3x"]))
    if kind == "cp":
        return f"cp3{minor}", f"cp3{minor}"
    if kind == "abi3":
        return f"cp3{minor}", "abi3"
    if kind == "none":
        return f"cp3{minor}", "none"
    if kind == "py3":
        return "py3", "none"
    return f"py3{minor}", "none"


@st.composite
def platform(draw: st.DrawFn, target_machine: str) -> str:
    # Mostly the target's machine: other machines are the easy case.
    machine = draw(st.sampled_from([target_machine] * 4 + ["x86_64", "aarch64", "ppc64le"]))
    kind = draw(st.sampled_from(["pep600"] * 4 + ["2014", "2010", "1", "linux", "any", "other"]))
    if kind == "pep600":
        edges = st.sampled_from([4, 5, 12, 16, 17, 24, 28, 38, 39, 40])
        return f"manylinux_2_{draw(edges | st.integers(3, 45))}_{machine}"
    if kind in ("2014", "2010", "1"):
        return f"manylinux{kind}_{machine}"
    if kind == "linux":
        return f"linux_{machine}"
    if kind == "any":
        return "any"
    return draw(st.sampled_from(["win_amd64", "macosx_11_0_arm64", f"musllinux_1_2_{machine}"]))


def python_ok(interp: str, abi: str, minor: int) -> bool:
    version = int(interp[3:]) if len(interp) > 3 else None
    if interp.startswith("cp"):
        assert version is not None
        if abi == "abi3":
            return version <= minor
        return version == minor
    return version is None or version <= minor  # py3 / py3Y


def platform_ok(plat: str, abi: str, machine: str, allow_plain: bool) -> bool:
    if plat == "any":
        return abi == "none"
    legacy = {"manylinux2014": 17, "manylinux2010": 12, "manylinux1": 5}
    match = re.fullmatch(r"manylinux_2_(\d+)_(\w+)", plat)
    if match:
        glibc, plat_machine = int(match[1]), match[2]
    else:
        prefix, _, plat_machine = plat.partition("_")
        if prefix == "linux":
            return allow_plain and plat_machine == machine
        if prefix not in legacy:
            return False
        glibc = legacy[prefix]
    return plat_machine == machine and FLOOR[machine] <= glibc <= GLIBC


@settings(max_examples=400)
@given(
    data=st.data(),
    minor=st.integers(9, 14),
    arch=st.sampled_from(["amd64", "arm64"]),
    allow_plain=st.booleans(),
)
def test_wheel_tag_compatibility_matches_the_oracle(
    data: st.DataObject, minor: int, arch: str, allow_plain: bool
) -> None:
    tag = st.tuples(interpreter_abi(minor), platform(MACHINES[arch]))
    tags = data.draw(st.lists(tag, min_size=1, max_size=3))
    machine = MACHINES[arch]
    target = WheelTarget(python=f"3.{minor}.1", arch=arch, allow_plain_linux=allow_plain)  # type: ignore[arg-type]
    files = [
        IndexFile(filename=f"pkg-1.0-{i}-{interp}-{abi}-{plat}.whl", url=f"http://127.0.0.1/{i}")
        for i, ((interp, abi), plat) in enumerate(tags, start=1)
    ]
    expected = any(
        python_ok(interp, abi, minor) and platform_ok(plat, abi, machine, allow_plain)
        for (interp, abi), plat in tags
    )
    result = check_wheel(files, project="pkg", version="1.0", target=target)
    assert result.ok == expected, (tags, result.reason)
    if result.ok:
        assert result.tag is not None and result.wheel is not None
        assert result.wheel.endswith(f"-{result.tag}.whl")
        assert result.plain_linux == result.tag.endswith(f"linux_{machine}")
    else:
        assert result.verdict not in (Verdict.OK, Verdict.NO_VERSION, Verdict.SDIST_ONLY)
        assert result.reason.startswith("pkg 1.0")


text = st.text(
    alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs")),
    min_size=1,
    max_size=20,
).filter(lambda s: s.strip() == s)


@st.composite
def index_file(draw: st.DrawFn) -> IndexFile:
    filename = draw(text)
    return IndexFile(
        filename=filename,
        url=urljoin("http://127.0.0.1/simple/p/", "../../files/" + quote(filename, safe="")),
        requires_python=draw(st.none() | text),
        yanked=draw(st.just(False) | st.just(True) | text),
        hashes=(("sha256", draw(st.text("0123456789abcdef", min_size=64, max_size=64))),),
        core_metadata=draw(st.booleans()),
    )


def render_json(files: list[IndexFile]) -> str:
    entries = []
    for f in files:
        entry: dict[str, object] = {
            "filename": f.filename,
            "url": "../../files/" + quote(f.filename, safe=""),
            "hashes": dict(f.hashes),
            "yanked": f.yanked,
        }
        if f.requires_python is not None:
            entry["requires-python"] = f.requires_python
        if f.core_metadata:
            entry["core-metadata"] = True
        entries.append(entry)
    return json.dumps({"meta": {"api-version": "1.0"}, "files": entries})


def render_html(files: list[IndexFile]) -> str:
    anchors = []
    for f in files:
        href = "../../files/" + quote(f.filename, safe="") + f"#sha256={f.hash()}"
        attrs = [f'href="{html.escape(href)}"']
        if f.requires_python is not None:
            attrs.append(f'data-requires-python="{html.escape(f.requires_python)}"')
        if f.yanked is not False:
            reason = "" if f.yanked is True else f.yanked
            attrs.append(f'data-yanked="{html.escape(reason)}"')
        if f.core_metadata:
            attrs.append('data-core-metadata="true"')
        anchors.append(f"<a {' '.join(attrs)}>{html.escape(f.filename)}</a><br/>")
    head = '<head><meta name="pypi:repository-version" content="1.1"></head>'
    return f"<!DOCTYPE html><html>{head}<body>" + "\n".join(anchors) + "</body></html>"


@given(st.lists(index_file(), max_size=6))
def test_json_and_html_parse_to_the_same_files(files: list[IndexFile]) -> None:
    # requires-python is stored stripped, as the parsers return it.
    page = "http://127.0.0.1/simple/p/"
    assert parse_json_page(render_json(files), page) == tuple(files)
    assert parse_html_page(render_html(files), page) == tuple(files)


@given(st.sets(st.integers(0, 20)))
def test_python_ranges_fold_and_unfold(minors: set[int]) -> None:
    folded = _compact(f"cp3{m}" for m in minors)
    unfolded: set[int] = set()
    for part in folded:
        first, _, last = part.partition("-")
        low = int(first[3:])
        high = int(last[3:]) if last else low
        unfolded.update(range(low, high + 1))
    assert unfolded == minors
    assert len(folded) == len(set(folded))
