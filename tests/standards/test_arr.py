"""Annualized relapse rate of one patient.

Source of the expected values: the person-years method (Akaishi T et al. Front Neurol
2022;13:875456): ARR = relapses ÷ years of follow-up, with neurocart's year of 365.25 days
(neurocart's convention: 2 relapses in 730 days give 1.0007, not 1.0).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from neurocart.cli import app
from neurocart.standards import CalculatorInputError, calculate

from .agreement import assert_frame_agrees


@pytest.mark.parametrize(
    ("relapses", "days", "expected"),
    [
        (2, 730, 2 * 365.25 / 730),  # 1.000685, not 1.0: the year is 365.25 days
        (3, 1461, 0.75),  # 1461 days = exactly 4 Julian years
        (0, 500, 0.0),
        (1, 36525, 0.01),  # a century
    ],
)
def test_rate(relapses: int, days: int, expected: float) -> None:
    result = calculate("arr", {"relapses": relapses, "follow_up_days": days})
    assert result.value == pytest.approx(expected, rel=1e-12)
    assert "365.25" in result.reasons[0]


def test_year_length_is_documented_in_result() -> None:
    result = calculate("arr", {"relapses": 2, "follow_up_days": 730})
    assert result.value != 1.0
    assert result.label == "ARR 1.00"
    assert "1.0007" in result.reasons[1]
    assert result.details["days_per_year"] == 365.25


@pytest.mark.parametrize(("days", "warned"), [(1, True), (364, True), (365, False), (900, False)])
def test_short_follow_up_warning(days: int, warned: bool) -> None:
    result = calculate("arr", {"relapses": 1, "follow_up_days": days})
    assert bool(result.warnings) is warned
    if warned:
        assert "unstable" in result.warnings[0]


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("follow_up_days", 0),
        ("follow_up_days", -5),
        ("follow_up_days", 730.5),
        ("relapses", -1),
        ("relapses", "2"),
    ],
)
def test_bad_input_names_field(field: str, bad: Any) -> None:
    inputs = {"relapses": 1, "follow_up_days": 365, field: bad}
    with pytest.raises(CalculatorInputError) as info:
        calculate("arr", inputs)
    assert info.value.fields == [field]


@given(st.integers(0, 50), st.integers(1, 20000), st.integers(0, 10), st.integers(0, 5000))
def test_monotone(relapses: int, days: int, more: int, longer: int) -> None:
    base = calculate("arr", {"relapses": relapses, "follow_up_days": days}).value
    more_relapses = calculate("arr", {"relapses": relapses + more, "follow_up_days": days}).value
    longer_fu = calculate(
        "arr", {"relapses": relapses, "follow_up_days": min(days + longer, 36525)}
    ).value
    assert base >= 0
    assert more_relapses >= base
    assert longer_fu <= base


@given(
    st.lists(
        st.fixed_dictionaries(
            {"relapses": st.integers(0, 30), "follow_up_days": st.integers(1, 36525)}
        ),
        min_size=1,
        max_size=20,
    )
)
def test_frame_agrees(rows: list[dict[str, Any]]) -> None:
    assert_frame_agrees("arr", rows)


def test_cli() -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["calc", "--list"])
    assert listed.exit_code == 0
    assert "arr" in listed.output
    ran = runner.invoke(app, ["calc", "arr", "--json", '{"relapses": 3, "follow_up_days": 1461}'])
    assert ran.exit_code == 0, ran.output
    assert '"value": 0.75' in ran.output
