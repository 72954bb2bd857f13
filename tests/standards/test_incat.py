"""INCAT disability score and the adjusted INCAT change.

Sources of the expected values: Hughes R et al. Ann Neurol 2001;50:195–201 (arm 0–5 + leg 0–5
= 0–10); adjusted INCAT (ICE trial, Hughes RAC et al. Lancet Neurol 2008;7:136–144, and the
table in Biomark Res 2019 doi:10.1186/s40364-019-0154-2): changes of the arm score between 0
and 1 are not counted; a change of ≥ 1 point is clinically meaningful. Arm 2 → 0 counts 1
point (only the 0↔1 portion is dropped): neurocart's convention, the definition leaves it open.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from neurocart.cli import app
from neurocart.standards import CalculatorInputError, calculate, calculate_frame
from neurocart.standards.incat import CHANGE_FIELDS, adjusted_changes

from .agreement import assert_frame_agrees


@pytest.mark.parametrize(("arm", "leg"), [(0, 0), (5, 5), (1, 3), (4, 0)])
def test_total_is_arm_plus_leg(arm: int, leg: int) -> None:
    result = calculate("incat", {"arm": arm, "leg": leg})
    assert result.value == arm + leg
    assert result.label == f"INCAT {arm + leg} (arm {arm}, leg {leg})"
    assert "Hughes" in result.citation


@pytest.mark.parametrize("field", ["arm", "leg", "previous_arm", "previous_leg"])
@pytest.mark.parametrize("bad", [6, -1])
def test_range_checked(field: str, bad: int) -> None:
    inputs = {"arm": 1, "leg": 1, "previous_arm": 1, "previous_leg": 1, field: bad}
    with pytest.raises(CalculatorInputError) as info:
        calculate("incat", inputs)
    assert info.value.fields == [field]


@pytest.mark.parametrize(
    ("given_", "missing"),
    [({"previous_arm": 1}, "previous_leg"), ({"previous_leg": 1}, "previous_arm")],
)
def test_previous_scores_come_together(given_: dict[str, int], missing: str) -> None:
    with pytest.raises(CalculatorInputError) as info:
        calculate("incat", {"arm": 1, "leg": 1, **given_})
    assert info.value.fields == [missing]


@pytest.mark.parametrize(
    ("prev", "now", "raw", "adjusted", "meaningful", "direction"),
    [
        ((0, 2), (1, 2), 1, 0, False, "no change"),  # arm 0 → 1 ignored
        ((1, 2), (0, 2), -1, 0, False, "no change"),  # arm 1 → 0 ignored
        ((1, 2), (2, 2), 1, 1, True, "worsening"),  # arm 1 → 2 counts
        ((2, 2), (0, 2), -2, -1, True, "improvement"),  # arm 2 → 0: only 2 → 1 counts
        ((0, 2), (3, 2), 3, 2, True, "worsening"),
        ((1, 3), (1, 2), -1, -1, True, "improvement"),  # leg change of 1 = threshold
        ((0, 3), (1, 2), 0, -1, True, "improvement"),  # arm 0→1 ignored, leg 3→2 counts
        ((3, 3), (3, 3), 0, 0, False, "no change"),
    ],
)
def test_adjusted_change(
    prev: tuple[int, int],
    now: tuple[int, int],
    raw: int,
    adjusted: int,
    meaningful: bool,
    direction: str,
) -> None:
    result = calculate(
        "incat",
        {"arm": now[0], "leg": now[1], "previous_arm": prev[0], "previous_leg": prev[1]},
    )
    assert result.details["change"] == raw
    assert result.details["adjusted_change"] == adjusted
    assert result.details["meaningful"] is meaningful
    assert result.details["direction"] == direction
    assert result.details["previous_total"] == sum(prev)
    if prev[0] != now[0] and {prev[0], now[0]} & {0, 1} and abs(adjusted - raw) > 0:
        assert any("between 0 and 1 is not counted" in r for r in result.reasons)


limb = st.integers(0, 5)


@given(limb, limb, st.sampled_from(["arm", "leg"]))
def test_total_in_range_and_never_decreases_when_a_limb_worsens(
    arm: int, leg: int, which: str
) -> None:
    before = calculate("incat", {"arm": arm, "leg": leg}).value
    assert 0 <= before <= 10
    worse: dict[str, Any] = {"arm": arm, "leg": leg}
    worse[which] = min(worse[which] + 1, 5)
    assert calculate("incat", worse).value >= before


@given(limb, limb, limb, limb)
def test_adjusted_change_never_exceeds_raw_in_size(a: int, b: int, pa: int, pb: int) -> None:
    d = calculate("incat", {"arm": a, "leg": b, "previous_arm": pa, "previous_leg": pb}).details
    assert abs(d["adjusted_change"] - d["change"]) <= 1
    assert d["meaningful"] is (abs(d["adjusted_change"]) >= 1)


row_st = st.fixed_dictionaries(
    {"arm": limb, "leg": limb}, optional={"previous_arm": limb, "previous_leg": limb}
).filter(lambda r: ("previous_arm" in r) == ("previous_leg" in r))


@given(st.lists(row_st, min_size=1, max_size=20))
def test_frame_agrees(rows: list[dict[str, int]]) -> None:
    assert_frame_agrees("incat", rows)


def test_frame_applies_the_pairing_check() -> None:
    frame = pd.DataFrame([{"arm": 1, "leg": 1, "previous_arm": 1, "previous_leg": None}])
    with pytest.raises(CalculatorInputError) as info:
        calculate_frame("incat", frame)
    assert info.value.fields == ["previous_leg"]


changes_st = st.fixed_dictionaries(
    {"arm": limb, "leg": limb, "previous_arm": limb, "previous_leg": limb}
)


@given(st.lists(changes_st, max_size=30))
def test_adjusted_changes_are_the_calculator_s(rows: list[dict[str, int]]) -> None:
    got = adjusted_changes(pd.DataFrame(rows, columns=list(CHANGE_FIELDS)))
    expected = [calculate("incat", row).details["adjusted_change"] for row in rows]
    assert got.tolist() == expected


def test_every_arm_and_leg_change_is_the_calculator_s() -> None:
    grid = [
        {"arm": a, "leg": b, "previous_arm": pa, "previous_leg": pb}
        for a in range(6) for b in range(6) for pa in range(6) for pb in range(6)
    ]  # fmt: skip
    expected = [calculate("incat", row).details["adjusted_change"] for row in grid]
    assert adjusted_changes(pd.DataFrame(grid)).tolist() == expected


@pytest.mark.parametrize(
    ("rows", "fields"),
    [
        ([{"arm": 1, "leg": 1, "previous_arm": 1, "previous_leg": 6}], ["previous_leg"]),
        ([{"arm": 1.5, "leg": 1, "previous_arm": 1, "previous_leg": 1}], ["arm"]),
        ([{"arm": 1, "leg": 1, "previous_arm": 1, "previous_leg": None}], ["previous_leg"]),
        ([{"arm": 1, "leg": 1, "previous_arm": 1, "previous_leg": 1}, {"arm": 1, "leg": 1}],
         ["previous_arm", "previous_leg"]),
    ],
)  # fmt: skip
def test_adjusted_changes_refuse_what_the_calculator_refuses(
    rows: list[dict[str, Any]], fields: list[str]
) -> None:
    with pytest.raises(CalculatorInputError) as info:
        adjusted_changes(pd.DataFrame(rows))
    assert info.value.fields == fields


def test_cli() -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["calc", "--list"])
    assert listed.exit_code == 0
    assert "incat" in listed.output
    ran = runner.invoke(
        app,
        ["calc", "incat", "--json", '{"arm": 1, "leg": 2, "previous_arm": 0, "previous_leg": 2}'],
    )
    assert ran.exit_code == 0, ran.output
    assert '"adjusted_change": 0' in ran.output
