"""Sizes in the matrix (`size_budget = "6 GB"`) and in reports."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bakery.sizes import human_bytes, parse_size
from tests.support.cli import MINIMAL_MATRIX, run_cli


@pytest.mark.parametrize(("text", "size"), [
    ("6 GB", 6_000_000_000), ("6GB", 6_000_000_000), ("1.5 GiB", 1_610_612_736),
    ("512 MB", 512_000_000), ("100 B", 100),
])
def test_sizes_parse_in_decimal_and_binary_units(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["6", "six GB", "6 gb", "-1 GB", "0 GB", "6 PB", "6 GB 7"])
def test_what_is_not_a_size_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_size(text)


@given(st.integers(min_value=1, max_value=10**13))
def test_human_sizes_round_trip_within_their_precision(size: int) -> None:
    shown = human_bytes(size)
    assert abs(parse_size(shown) - size) <= max(1, size * 0.005)


def test_a_bad_budget_in_the_matrix_is_one_line_naming_the_key(
    capsys: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    from pathlib import Path

    matrix = Path(str(tmp_path)) / "matrix.toml"
    matrix.write_text(MINIMAL_MATRIX.replace("[images.edge_cpu]\n",
                                             '[images.edge_cpu]\nsize_budget = "6 gigs"\n'))
    result = run_cli(capsys, "plan", "--matrix", str(matrix), "--ref", "refs/heads/main")
    assert result.code == 2
    assert len(result.err.splitlines()) == 1
    assert "images.edge_cpu.size_budget" in result.err and "'6 gigs' is not a size" in result.err


@pytest.mark.parametrize(("text", "problem"), [
    ("0.5 B", "a size must be at least 1 B"),
    ("0.0001 KB", "a size must be at least 1 B"),
    ("1" + "0" * 400 + " GB", "a size is at most 1 PB"),
    ("2000 TB", "a size is at most 1 PB"),
])
def test_a_budget_too_small_to_be_a_byte_or_too_big_for_any_image_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: object, text: str, problem: str
) -> None:
    from pathlib import Path

    with pytest.raises(ValueError, match=problem):
        parse_size(text)
    matrix = Path(str(tmp_path)) / "matrix.toml"
    matrix.write_text(MINIMAL_MATRIX.replace("[images.edge_cpu]\n",
                                             f'[images.edge_cpu]\nsize_budget = "{text}"\n'))
    result = run_cli(capsys, "plan", "--matrix", str(matrix))
    assert result.code == 2 and "Traceback" not in result.err
    (line,) = result.err.splitlines()
    assert "images.edge_cpu.size_budget" in line and problem in line
