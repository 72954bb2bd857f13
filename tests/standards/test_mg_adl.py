"""MG-ADL.

Sources of the expected values: Wolfe GI et al. Neurology 1999;52:1487–1489 (8 items, each
0–3, total 0–24); Muppidi S et al. Muscle Nerve 2011;44:727–731 (a change of ≥ 2 points is
clinically meaningful); minimal symptom expression = total 0–1 (trial convention — the cut-off
is cited from memory, not from a paper).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from neurocart.cli import app
from neurocart.standards import CalculatorInputError, calculate
from neurocart.standards.mg_adl import ITEMS

from .agreement import assert_frame_agrees

ZERO = dict.fromkeys(ITEMS, 0)


def _with(**items: int) -> dict[str, int]:
    return {**ZERO, **items}


def test_items_are_the_published_eight() -> None:
    assert ITEMS == (
        "talking",
        "chewing",
        "swallowing",
        "breathing",
        "brushing_teeth_or_combing_hair",
        "arising_from_chair",
        "double_vision",
        "eyelid_droop",
    )


@pytest.mark.parametrize(
    ("items", "total"),
    [
        (ZERO, 0),
        (dict.fromkeys(ITEMS, 3), 24),
        (_with(talking=2, double_vision=3, eyelid_droop=1), 6),
        (_with(breathing=3), 3),
    ],
)
def test_total(items: dict[str, int], total: int) -> None:
    result = calculate("mg_adl", items)
    assert result.value == total
    assert result.label.startswith(f"MG-ADL {total}/24")
    assert "Wolfe" in result.citation


@pytest.mark.parametrize(("total", "mse"), [(0, True), (1, True), (2, False), (24, False)])
def test_minimal_symptom_expression_at_1_not_2(total: int, mse: bool) -> None:
    items = dict(ZERO)
    for name in ITEMS:
        take = min(3, total - sum(items.values()))
        items[name] = take
    result = calculate("mg_adl", items)
    assert result.value == total
    assert result.details["minimal_symptom_expression"] is mse
    assert ("minimal symptom expression" in result.label) is mse
    assert any("minimal symptom expression" in r for r in result.reasons) is mse


@pytest.mark.parametrize("name", ITEMS)
@pytest.mark.parametrize("bad", [4, -1])
def test_item_out_of_range_rejected(name: str, bad: int) -> None:
    with pytest.raises(CalculatorInputError) as info:
        calculate("mg_adl", _with(**{name: bad}))
    assert info.value.fields == [name]


@pytest.mark.parametrize("bad", [2.0, True, "2"])
def test_item_must_be_a_whole_number(bad: Any) -> None:
    with pytest.raises(CalculatorInputError) as info:
        calculate("mg_adl", {**ZERO, "chewing": bad})
    assert info.value.fields == ["chewing"]


@pytest.mark.parametrize("bad", [-1, 25])
def test_previous_total_range_checked(bad: int) -> None:
    with pytest.raises(CalculatorInputError) as info:
        calculate("mg_adl", {**ZERO, "previous_total": bad})
    assert info.value.fields == ["previous_total"]


@pytest.mark.parametrize(
    ("previous", "current_items", "change", "meaningful", "direction"),
    [
        (5, _with(talking=3), -2, True, "improvement"),  # exactly the threshold
        (4, _with(talking=3), -1, False, "improvement"),  # just below
        (3, _with(talking=3, chewing=2), 2, True, "worsening"),
        (4, _with(talking=3, chewing=2), 1, False, "worsening"),
        (5, _with(talking=3, chewing=2), 0, False, "no change"),
        (24, ZERO, -24, True, "improvement"),
    ],
)
def test_meaningful_change_threshold_2(
    previous: int, current_items: dict[str, int], change: int, meaningful: bool, direction: str
) -> None:
    result = calculate("mg_adl", {**current_items, "previous_total": previous})
    assert result.details["change"] == change
    assert result.details["meaningful"] is meaningful
    assert result.details["direction"] == direction
    assert result.details["previous_total"] == previous
    text = result.reasons[-1]
    assert f"previous MG-ADL {previous}" in text
    if direction != "no change":
        assert ("clinically meaningful " + direction in text) is meaningful
        assert ("not clinically meaningful" in text) is not meaningful


def test_no_change_details_without_previous_total() -> None:
    result = calculate("mg_adl", _with(talking=3))
    assert "change" not in result.details
    assert not any("previous" in r for r in result.reasons)


items_st = st.fixed_dictionaries({name: st.integers(0, 3) for name in ITEMS})


@given(items_st, st.sampled_from(ITEMS))
def test_total_in_range_and_never_decreases_when_an_item_worsens(
    items: dict[str, int], name: str
) -> None:
    before = calculate("mg_adl", items).value
    assert 0 <= before <= 24
    if items[name] < 3:
        after = calculate("mg_adl", {**items, name: items[name] + 1}).value
        assert after == before + 1


@settings(max_examples=40)
@given(st.lists(st.tuples(items_st, st.none() | st.integers(0, 24)), min_size=1, max_size=20))
def test_frame_agrees(rows: list[tuple[dict[str, int], int | None]]) -> None:
    assert_frame_agrees(
        "mg_adl",
        [items if prev is None else {**items, "previous_total": prev} for items, prev in rows],
    )


def test_cli() -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["calc", "--list"])
    assert listed.exit_code == 0
    assert "mg_adl" in listed.output
    assert runner.invoke(app, ["calc", "mg_adl", "--help"]).exit_code == 0
    ran = runner.invoke(app, ["calc", "mg_adl", "--json", '{"talking": 4}'])
    assert ran.exit_code == 2
