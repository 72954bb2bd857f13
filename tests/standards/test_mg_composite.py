"""MG Composite.

Sources of the expected values: Burns TM, Conaway M, Sanders DB. Neurology 2010;74:1434–1440
(the ten items and their published points, from the reproduced form; a 3-point improvement is
clinically meaningful — PMC3462556 abstract). Maximum 3+4+2+6+6+6+9+4+5+5 = 50.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from neurocart.cli import app
from neurocart.standards import CalculatorInputError, calculate, calculate_frame
from neurocart.standards.mg_composite import ALLOWED, ITEMS

from .agreement import assert_frame_agrees

ZERO = dict.fromkeys(ITEMS, 0)
WORST = {name: max(points) for name, points in ALLOWED.items()}

PUBLISHED = {
    "ptosis": (0, 1, 2, 3),
    "double_vision": (0, 1, 3, 4),
    "eye_closure": (0, 1, 2),  # normal and mild both score 0
    "talking": (0, 2, 4, 6),
    "chewing": (0, 2, 4, 6),
    "swallowing": (0, 2, 5, 6),
    "breathing": (0, 2, 4, 9),
    "neck_flexion": (0, 1, 3, 4),
    "shoulder_abduction": (0, 2, 4, 5),
    "hip_flexion": (0, 2, 4, 5),
}


def test_allowed_points_are_the_published_weights() -> None:
    assert ALLOWED == PUBLISHED


def test_minimum_and_maximum() -> None:
    assert calculate("mg_composite", ZERO).value == 0
    worst = calculate("mg_composite", WORST)
    assert worst.value == 50
    assert worst.label == "MGC 50/50"
    assert "Burns" in worst.citation


def test_worked_example() -> None:
    # ptosis 1-10 s (2), diplopia 11-45 s (1), moderate eye closure (1), constant slurring (4),
    # rare choking (2), dyspnoea on exertion (2), moderate neck (3), mild shoulder (2) = 17
    items = {
        **ZERO,
        "ptosis": 2,
        "double_vision": 1,
        "eye_closure": 1,
        "talking": 4,
        "swallowing": 2,
        "breathing": 2,
        "neck_flexion": 3,
        "shoulder_abduction": 2,
    }
    assert calculate("mg_composite", items).value == 17


NOT_ALLOWED = [
    (name, value)
    for name, allowed in PUBLISHED.items()
    for value in range(-1, 11)
    if value not in allowed
]


@pytest.mark.parametrize(("name", "value"), NOT_ALLOWED)
def test_value_outside_allowed_set_rejected_naming_field(name: str, value: int) -> None:
    with pytest.raises(CalculatorInputError) as info:
        calculate("mg_composite", {**ZERO, name: value})
    assert info.value.fields == [name]


def test_double_vision_2_is_an_error() -> None:
    with pytest.raises(CalculatorInputError) as info:
        calculate("mg_composite", {**ZERO, "double_vision": 2})
    assert info.value.fields == ["double_vision"]
    assert "0, 1, 3" in str(info.value)


@pytest.mark.parametrize("bad", [True, 3.0, "3"])
def test_points_must_be_ints(bad: Any) -> None:
    # pydantic's Literal accepts True for 1 and 3.0 for 3 even in strict mode; we do not
    with pytest.raises(CalculatorInputError) as info:
        calculate("mg_composite", {**ZERO, "double_vision": bad})
    assert info.value.fields == ["double_vision"]


@pytest.mark.parametrize("bad", [-1, 51])
def test_previous_total_range_checked(bad: int) -> None:
    with pytest.raises(CalculatorInputError) as info:
        calculate("mg_composite", {**ZERO, "previous_total": bad})
    assert info.value.fields == ["previous_total"]


@pytest.mark.parametrize(
    ("previous", "change", "meaningful", "direction"),
    [
        (12, -3, True, "improvement"),
        (11, -2, False, "improvement"),
        (6, 3, True, "worsening"),
        (7, 2, False, "worsening"),
        (9, 0, False, "no change"),
    ],
)
def test_meaningful_change_threshold_3(
    previous: int, change: int, meaningful: bool, direction: str
) -> None:
    items = {**ZERO, "breathing": 9}
    result = calculate("mg_composite", {**items, "previous_total": previous})
    assert result.details["change"] == change
    assert result.details["meaningful"] is meaningful
    assert result.details["direction"] == direction


items_st = st.fixed_dictionaries({name: st.sampled_from(p) for name, p in PUBLISHED.items()})


@given(items_st, st.sampled_from(ITEMS))
def test_total_in_range_and_never_decreases_when_an_item_worsens(
    items: dict[str, int], name: str
) -> None:
    before = calculate("mg_composite", items).value
    assert 0 <= before <= 50
    allowed = PUBLISHED[name]
    position = allowed.index(items[name])
    if position + 1 < len(allowed):
        after = calculate("mg_composite", {**items, name: allowed[position + 1]}).value
        assert after > before


@settings(max_examples=40)
@given(st.lists(st.tuples(items_st, st.none() | st.integers(0, 50)), min_size=1, max_size=20))
def test_frame_agrees(rows: list[tuple[dict[str, int], int | None]]) -> None:
    assert_frame_agrees(
        "mg_composite", [i if p is None else {**i, "previous_total": p} for i, p in rows]
    )


def test_frame_rejects_value_outside_allowed_set() -> None:
    frame = pd.DataFrame([ZERO, {**ZERO, "double_vision": 2}])
    with pytest.raises(CalculatorInputError) as info:
        calculate_frame("mg_composite", frame)
    assert info.value.fields == ["double_vision"]


def test_frame_reads_integer_points_from_csv_like_columns() -> None:
    # a CSV with a missing previous_total reads the item columns as int64 and grades them
    frame = pd.DataFrame([WORST, ZERO])
    graded = calculate_frame("mg_composite", frame)
    assert list(graded["value"]) == [50, 0]
    assert graded["value"].dtype == np.int64


def test_frame_rejects_boolean_cells_like_the_scalar_path() -> None:
    frame = pd.DataFrame([{**ZERO, "double_vision": True}])
    with pytest.raises(CalculatorInputError):
        calculate_frame("mg_composite", frame)


def test_cli() -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["calc", "--list"])
    assert listed.exit_code == 0
    assert "mg_composite" in listed.output
    ran = runner.invoke(app, ["calc", "mg_composite", "--json", json.dumps(WORST)])
    assert ran.exit_code == 0, ran.output
    assert '"value": 50' in ran.output
    bad = runner.invoke(
        app, ["calc", "mg_composite", "--json", json.dumps({**ZERO, "breathing": 3})]
    )
    assert bad.exit_code == 2
