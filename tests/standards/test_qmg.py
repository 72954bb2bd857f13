"""QMG (quantitative myasthenia gravis score).

Sources of the expected values: Barohn RJ et al. Ann N Y Acad Sci 1998;841:769–772 (13 items,
each 0–3, total 0–39); clinically meaningful change ≥ 3 points (REGAIN/ADAPT responder
definition, cited from memory).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from neurocart.cli import app
from neurocart.standards import CalculatorInputError, calculate
from neurocart.standards.qmg import ITEMS

from .agreement import assert_frame_agrees

ZERO = dict.fromkeys(ITEMS, 0)


def test_items_are_the_published_thirteen() -> None:
    assert len(ITEMS) == 13
    assert set(ITEMS) == {
        "double_vision",
        "ptosis",
        "facial_muscles",
        "swallowing",
        "speech",
        "right_arm",
        "left_arm",
        "vital_capacity",
        "right_grip",
        "left_grip",
        "head_lift",
        "right_leg",
        "left_leg",
    }


@pytest.mark.parametrize(
    ("items", "total"),
    [(ZERO, 0), (dict.fromkeys(ITEMS, 3), 39), ({**ZERO, "ptosis": 2, "left_leg": 1}, 3)],
)
def test_total(items: dict[str, int], total: int) -> None:
    result = calculate("qmg", items)
    assert result.value == total
    assert result.label == f"QMG {total}/39"
    assert "Barohn" in result.citation


@pytest.mark.parametrize("name", ITEMS)
@pytest.mark.parametrize("bad", [4, -1])
def test_item_out_of_range_rejected(name: str, bad: int) -> None:
    with pytest.raises(CalculatorInputError) as info:
        calculate("qmg", {**ZERO, name: bad})
    assert info.value.fields == [name]


@pytest.mark.parametrize("bad", [-1, 40])
def test_previous_total_range_checked(bad: int) -> None:
    with pytest.raises(CalculatorInputError) as info:
        calculate("qmg", {**ZERO, "previous_total": bad})
    assert info.value.fields == ["previous_total"]


@pytest.mark.parametrize(
    ("previous", "change", "meaningful", "direction"),
    [
        (9, -3, True, "improvement"),  # at the threshold
        (8, -2, False, "improvement"),  # just below
        (3, 3, True, "worsening"),
        (4, 2, False, "worsening"),
        (6, 0, False, "no change"),
    ],
)
def test_meaningful_change_threshold_3(
    previous: int, change: int, meaningful: bool, direction: str
) -> None:
    items = {**ZERO, "right_arm": 3, "left_arm": 3}  # total 6
    result = calculate("qmg", {**items, "previous_total": previous})
    assert result.value == 6
    assert result.details["change"] == change
    assert result.details["meaningful"] is meaningful
    assert result.details["direction"] == direction
    if direction != "no change":
        assert ("clinically meaningful " + direction in result.reasons[-1]) is meaningful


items_st = st.fixed_dictionaries({name: st.integers(0, 3) for name in ITEMS})


@given(items_st, st.sampled_from(ITEMS))
def test_total_in_range_and_monotone(items: dict[str, int], name: str) -> None:
    before = calculate("qmg", items).value
    assert 0 <= before <= 39
    if items[name] < 3:
        assert calculate("qmg", {**items, name: items[name] + 1}).value == before + 1


@settings(max_examples=40)
@given(st.lists(st.tuples(items_st, st.none() | st.integers(0, 39)), min_size=1, max_size=20))
def test_frame_agrees(rows: list[tuple[dict[str, int], int | None]]) -> None:
    assert_frame_agrees("qmg", [i if p is None else {**i, "previous_total": p} for i, p in rows])


def test_cli() -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["calc", "--list"])
    assert listed.exit_code == 0
    assert "qmg" in listed.output
    ran = runner.invoke(app, ["calc", "qmg", "--json", '{"ptosis": 1}'])
    assert ran.exit_code == 2  # twelve items missing
