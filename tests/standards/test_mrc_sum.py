"""MRC sum score.

Sources of the expected values: Kleyweg RP et al. Muscle Nerve 1991;14:1103–1109 (six muscle
groups per side — shoulder abduction, elbow flexion, wrist extension, hip flexion, knee
extension, ankle dorsiflexion — each MRC 0–5, total 0–60, higher = stronger); clinically
meaningful change ±2 points (Practical Neurology review table).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from neurocart.cli import app
from neurocart.standards import CalculatorInputError, calculate
from neurocart.standards.mrc_sum import ITEMS

from .agreement import assert_frame_agrees

FULL = dict.fromkeys(ITEMS, 5)


def test_twelve_groups() -> None:
    muscles = {
        "shoulder_abduction",
        "elbow_flexion",
        "wrist_extension",
        "hip_flexion",
        "knee_extension",
        "ankle_dorsiflexion",
    }
    assert set(ITEMS) == {f"{m}_{side}" for m in muscles for side in ("left", "right")}


@pytest.mark.parametrize(
    ("grades", "total"),
    [
        (FULL, 60),
        (dict.fromkeys(ITEMS, 0), 0),
        ({**FULL, "hip_flexion_left": 3, "hip_flexion_right": 4}, 57),
    ],
)
def test_total(grades: dict[str, int], total: int) -> None:
    result = calculate("mrc_sum", grades)
    assert result.value == total
    assert result.label == f"MRC sum {total}/60"
    assert "Kleyweg" in result.citation


@pytest.mark.parametrize("name", ITEMS)
@pytest.mark.parametrize("bad", [6, -1])
def test_grade_out_of_range_rejected(name: str, bad: int) -> None:
    with pytest.raises(CalculatorInputError) as info:
        calculate("mrc_sum", {**FULL, name: bad})
    assert info.value.fields == [name]


def test_half_grades_rejected() -> None:
    with pytest.raises(CalculatorInputError) as info:
        calculate("mrc_sum", {**FULL, "elbow_flexion_left": 4.5})
    assert info.value.fields == ["elbow_flexion_left"]


@pytest.mark.parametrize("bad", [-1, 61])
def test_previous_total_range_checked(bad: int) -> None:
    with pytest.raises(CalculatorInputError) as info:
        calculate("mrc_sum", {**FULL, "previous_total": bad})
    assert info.value.fields == ["previous_total"]


@pytest.mark.parametrize(
    ("previous", "change", "meaningful", "direction"),
    [
        (48, 2, True, "improvement"),  # higher is better: a rise of 2 is improvement
        (49, 1, False, "improvement"),
        (52, -2, True, "worsening"),
        (51, -1, False, "worsening"),
        (50, 0, False, "no change"),
    ],
)
def test_meaningful_change_threshold_2_higher_is_better(
    previous: int, change: int, meaningful: bool, direction: str
) -> None:
    grades = {**FULL, "shoulder_abduction_left": 0, "shoulder_abduction_right": 0}  # 50
    result = calculate("mrc_sum", {**grades, "previous_total": previous})
    assert result.value == 50
    assert result.details["change"] == change
    assert result.details["meaningful"] is meaningful
    assert result.details["direction"] == direction
    assert "higher is better" in result.reasons[-1] or direction == "no change"


grades_st = st.fixed_dictionaries({name: st.integers(0, 5) for name in ITEMS})


@given(grades_st, st.sampled_from(ITEMS))
def test_total_in_range_and_falls_when_a_muscle_weakens(grades: dict[str, int], name: str) -> None:
    before = calculate("mrc_sum", grades).value
    assert 0 <= before <= 60
    if grades[name] > 0:
        assert calculate("mrc_sum", {**grades, name: grades[name] - 1}).value == before - 1


@settings(max_examples=40)
@given(st.lists(st.tuples(grades_st, st.none() | st.integers(0, 60)), min_size=1, max_size=15))
def test_frame_agrees(rows: list[tuple[dict[str, int], int | None]]) -> None:
    assert_frame_agrees(
        "mrc_sum", [g if p is None else {**g, "previous_total": p} for g, p in rows]
    )


def test_cli() -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["calc", "--list"])
    assert listed.exit_code == 0
    assert "mrc_sum" in listed.output
    assert runner.invoke(app, ["calc", "mrc_sum", "--help"]).exit_code == 0
