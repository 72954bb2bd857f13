"""ICE score (immune effector cell-associated encephalopathy).

Source of the expected values: Lee DW et al. Biol Blood Marrow Transplant 2019;25(4):625–638,
doi:10.1016/j.bbmt.2018.12.758 — the ICE score: orientation to year, month, city, hospital
(4 points); naming three objects (3); following simple commands (1); writing a standard
sentence (1); attention, counting back from 100 by tens (1); total 10; a patient who is
unarousable and unable to perform ICE scores 0.
neurocart choice: items may be omitted when unarousable, and are required otherwise.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neurocart.standards import CalculatorInputError, calculate

from .agreement import assert_frame_agrees

FULL = {"orientation": 4, "naming": 3, "commands": 1, "writing": 1, "attention": 1}
MAXIMA = dict(FULL)


@pytest.mark.parametrize(
    ("items", "score"),
    [
        (FULL, 10),
        ({**FULL, "orientation": 0}, 6),
        ({**FULL, "orientation": 3}, 9),
        ({**FULL, "naming": 0}, 7),
        ({**FULL, "commands": 0}, 9),
        ({**FULL, "writing": 0}, 9),
        ({**FULL, "attention": 0}, 9),
        ({"orientation": 2, "naming": 1, "commands": 1, "writing": 0, "attention": 0}, 4),
        ({"orientation": 0, "naming": 0, "commands": 0, "writing": 0, "attention": 0}, 0),
    ],
)
def test_sum_of_items(items: dict[str, int], score: int) -> None:
    result = calculate("ice", items)
    assert result.value == score
    assert result.label == f"ICE {score}/10"
    assert result.reasons[-1] == f"ICE score {score}/10"
    assert "Lee DW" in result.citation


def test_reasons_name_each_item_with_its_points() -> None:
    result = calculate("ice", {**FULL, "naming": 2, "writing": 0})
    assert "naming three objects: 2/3" in result.reasons
    assert "writing a standard sentence: 0/1" in result.reasons
    assert any("pre-infusion ICE" in w for w in result.warnings)
    assert calculate("ice", FULL).warnings == []


@pytest.mark.parametrize(
    "inputs",
    [
        {"unarousable": True},
        {"unarousable": True, **dict.fromkeys(FULL, 0)},
        {"unarousable": True, "orientation": 0},
    ],
)
def test_unarousable_scores_zero(inputs: dict[str, Any]) -> None:
    result = calculate("ice", inputs)
    assert result.value == 0
    assert result.label == "ICE 0/10 (unarousable)"
    assert "unarousable" in result.reasons[0]


@pytest.mark.parametrize("item", list(FULL))
def test_missing_item_when_arousable_names_it(item: str) -> None:
    inputs = {k: v for k, v in FULL.items() if k != item}
    with pytest.raises(CalculatorInputError) as info:
        calculate("ice", inputs)
    assert info.value.fields == [item]


@pytest.mark.parametrize("item", list(FULL))
def test_points_when_unarousable_name_the_item(item: str) -> None:
    with pytest.raises(CalculatorInputError) as info:
        calculate("ice", {"unarousable": True, item: 1})
    assert info.value.fields == [item]


@pytest.mark.parametrize(
    ("inputs", "field"),
    [
        ({**FULL, "orientation": 5}, "orientation"),
        ({**FULL, "naming": 4}, "naming"),
        ({**FULL, "commands": 2}, "commands"),
        ({**FULL, "writing": -1}, "writing"),
        ({**FULL, "attention": 1.0}, "attention"),
        ({**FULL, "unarousable": "no"}, "unarousable"),
        ({**FULL, "recall": 1}, "recall"),
    ],
)
def test_bad_input_names_the_field(inputs: dict[str, Any], field: str) -> None:
    with pytest.raises(CalculatorInputError) as info:
        calculate("ice", inputs)
    assert info.value.fields == [field]


item_values = st.fixed_dictionaries({k: st.integers(0, top) for k, top in MAXIMA.items()})


@given(item_values, st.sampled_from(list(MAXIMA)), st.integers(1, 4))
def test_losing_points_never_raises_the_score(items: dict[str, int], item: str, loss: int) -> None:
    score = calculate("ice", items).value
    assert 0 <= score <= 10
    worse = calculate("ice", {**items, item: max(items[item] - loss, 0)}).value
    assert worse <= score
    assert calculate("ice", {"unarousable": True}).value <= worse


@st.composite
def ice_rows(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.integers(0, 4)) == 0:
        row: dict[str, Any] = {"unarousable": True}
        for item in MAXIMA:
            if draw(st.booleans()):
                row[item] = 0
        return row
    row = draw(item_values)
    if draw(st.booleans()):
        row["unarousable"] = False
    return row


@given(st.lists(ice_rows(), min_size=1, max_size=25))
def test_frame_agrees(rows: list[dict[str, Any]]) -> None:
    assert_frame_agrees("ice", rows)
