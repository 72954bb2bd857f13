"""ICAHT — EHA/EBMT consensus grading of immune effector cell-associated hematotoxicity.

Sources of the expected values:
* Rejeski K, Subklewe M, Aljurf M, et al. Blood 2023;142(10):865–877 (doi:10.1182/
  blood.2023020578), as read in the module docstring (Table 1 still to be checked against the
  PDF): early ICAHT (days
  0–30) by days with ANC ≤ 0.5 (1–6 → 1, 7–13 → 2, 14–30 → 3, never above 0.5 → 4) and
  ≤ 0.1 ×10⁹/L (7–13 → 3, ≥ 14 → 4), the higher column; recovery stable only after ≥ 3 days
  > threshold; early-onset (day 0–3) episode ongoing at the last ANC → 4; late ICAHT
  (days 31–100) by the nadir (≤ 1.5 → 1, ≤ 1.0 → 2, ≤ 0.5 → 3, ≤ 0.1 → 4) confirmed by a
  second value ≤ 1.5.
* The automated implementation (github emilyliangmd/automatedicahtgrading, index.Rmd):
  longest exceedance with gaps ≤ 2 days joined (`longest_episode` here); grade 4 for an
  exceedance starting day 0–3 that ends on the last lab date; late grade from the two lowest
  per-day ANC values.
* Rejeski K, Sanz J, et al. T-ICAHT (Blood), Table 1 footnote: the consensus authors count
  the cumulative days below the threshold, non-stable recovery days included (`cumulative`,
  the default here). neurocart and the publication agree on every criterion tested here; the
  only departure from a source is from the automated implementation's `Manual Code.R`, which
  counts unmeasured gaps > 7 days (see test_gaps_longer_than_seven_days_are_never_counted).
Series are built by hand; each test says what the day counts are.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurocart.standards import (
    CalculatorInputError,
    NotVectorizedError,
    calculate,
    calculate_frame,
)
from neurocart.standards.icaht import (
    EARLY_WINDOW_DAYS,
    LATE_CONFIRMATION_10E9_L,
    MAX_ANC_10E9_L,
    early_grades,
)

LOW = 0.3  # ≤ 0.5, > 0.1
VERY_LOW = 0.05  # ≤ 0.1
HIGH = 2.0  # recovered


def daily(
    low: Iterable[int] = (),
    *,
    very_low: Iterable[int] = (),
    days: Iterable[int] = range(0, 31),
    low_value: float = LOW,
    high_value: float = HIGH,
) -> list[dict[str, object]]:
    """One value per day in `days`: VERY_LOW on `very_low`, `low_value` on `low`, else high."""
    low_set, very_set = set(low), set(very_low)
    return [
        {
            "day": d,
            "anc_10e9_l": VERY_LOW if d in very_set else low_value if d in low_set else high_value,
        }
        for d in days
    ]


def grade(series: list[dict[str, object]], **options: object) -> int:
    value = calculate("icaht", {"anc_series": series, **options}).value
    assert isinstance(value, int)
    return value


# --- early ICAHT: the ≤ 0.5 column -------------------------------------------------------


@pytest.mark.parametrize(
    ("days_low", "expected"),
    [(0, 0), (1, 1), (6, 1), (7, 2), (13, 2), (14, 3), (20, 3)],
)
def test_severe_duration_boundaries(days_low: int, expected: int) -> None:
    # the episode starts on day 10 (not early onset) and recovers before day 30
    result = calculate("icaht", {"anc_series": daily(range(10, 10 + days_low))})
    assert result.value == expected
    assert result.details["days_anc_le_0_5"] == days_low
    assert result.label == f"early ICAHT grade {expected}"
    assert any(r.startswith(f"grade {expected}") for r in result.reasons)


@pytest.mark.parametrize(("anc", "counted"), [(0.5, 7), (0.51, 0), (0.0, 7)])
def test_severe_threshold_is_inclusive(anc: float, counted: int) -> None:
    result = calculate("icaht", {"anc_series": daily(range(10, 17), low_value=anc)})
    assert result.details["days_anc_le_0_5"] == counted


# --- early ICAHT: the ≤ 0.1 column -------------------------------------------------------


@pytest.mark.parametrize(
    ("days_very_low", "expected"),
    [
        (6, 2),  # 10 days ≤ 0.5 → 2; 6 days ≤ 0.1 add nothing
        (7, 3),  # 10 days ≤ 0.5 → 2; 7 days ≤ 0.1 → 3
    ],
)
def test_profound_six_seven_days(days_very_low: int, expected: int) -> None:
    series = daily(range(10, 20), very_low=range(11, 11 + days_very_low))
    result = calculate("icaht", {"anc_series": series})
    assert result.details["days_anc_le_0_5"] == 10
    assert result.details["days_anc_le_0_1"] == days_very_low
    assert result.value == expected


@pytest.mark.parametrize(("days_very_low", "expected"), [(13, 3), (14, 4)])
def test_profound_thirteen_fourteen_days(days_very_low: int, expected: int) -> None:
    # the ≤ 0.5 column alone gives 3 (14–30 days): only the ≤ 0.1 column can make it 4
    series = daily(range(8, 24), very_low=range(9, 9 + days_very_low))
    result = calculate("icaht", {"anc_series": series})
    assert result.details["days_anc_le_0_5"] == 16
    assert result.value == expected
    assert any(f"ANC ≤ 0.1 for {days_very_low} day(s)" in r for r in result.reasons)


@pytest.mark.parametrize(("anc", "counted"), [(0.1, 7), (0.11, 0)])
def test_profound_threshold_is_inclusive(anc: float, counted: int) -> None:
    series = daily(range(10, 17), low_value=anc)
    assert calculate("icaht", {"anc_series": series}).details["days_anc_le_0_1"] == counted


# --- recoveries: non-stable (< 3 days) joins, stable (≥ 3 days) separates -----------------


def test_two_day_recovery_joins_episodes_and_gap_days_count() -> None:
    # low 10–12, above 0.5 on 13–14 (2 days), low 15–17: one episode 10–17 = 8 days → 2
    # (counting only the low days would give 6 → grade 1)
    series = daily([*range(10, 13), *range(15, 18)])
    for mode in ("cumulative", "longest_episode"):
        result = calculate("icaht", {"anc_series": series, "duration_mode": mode})
        assert result.value == 2
        assert result.details["days_anc_le_0_5"] == 8
        assert result.details["episodes"] == [
            {"threshold_10e9_l": 0.5, "start_day": 10, "end_day": 17, "days": 8}
        ]
        assert any("days 13–14" in r and "no stable recovery" in r for r in result.reasons)


def test_three_day_stable_recovery_separates_episodes() -> None:
    # low 10–14 (5), above 0.5 on 15–17 (3 days: stable), low 18–22 (5)
    series = daily([*range(10, 15), *range(18, 23)])
    cumulative = calculate("icaht", {"anc_series": series})
    longest = calculate("icaht", {"anc_series": series, "duration_mode": "longest_episode"})
    assert (cumulative.details["days_anc_le_0_5"], cumulative.value) == (10, 2)
    assert (longest.details["days_anc_le_0_5"], longest.value) == (5, 1)
    assert [e["days"] for e in cumulative.details["episodes"]] == [5, 5]
    assert any("days 15–17" in r and "stable recovery" in r for r in cumulative.reasons)


def test_cumulative_is_the_default() -> None:
    series = daily([*range(10, 15), *range(18, 23)])
    assert calculate("icaht", {"anc_series": series}).details["duration_mode"] == "cumulative"


def test_non_stable_recovery_also_joins_at_the_profound_threshold() -> None:
    # ≤ 0.1 on 10–13 and 16–18, 0.3 (> 0.1) on 14–15: one ≤ 0.1 episode of 9 days → 3
    series = daily(range(10, 19), very_low=[*range(10, 14), *range(16, 19)])
    result = calculate("icaht", {"anc_series": series})
    assert result.details["days_anc_le_0_1"] == 9
    assert result.value == 3


# --- grade 4 rules -----------------------------------------------------------------------


def test_never_above_half_in_the_whole_window_is_grade_4() -> None:
    result = calculate("icaht", {"anc_series": daily(range(0, 31))})
    assert result.details["days_anc_le_0_5"] == EARLY_WINDOW_DAYS == 31
    assert result.value == 4
    assert any("never above 0.5" in r for r in result.reasons)


@pytest.mark.parametrize(("start", "expected"), [(0, 4), (3, 4), (4, 2)])
def test_early_onset_episode_ongoing_at_last_anc_is_grade_4(start: int, expected: int) -> None:
    # follow-up ends on day 14 (death or last follow-up) with the ANC still ≤ 0.5;
    # an episode starting on day 4 lasts 11 days → grade 2 by duration alone
    result = calculate("icaht", {"anc_series": daily(range(start, 15), days=range(0, 15))})
    assert result.value == expected
    if expected == 4:
        assert any("still ongoing at the last available ANC (day 14)" in r for r in result.reasons)
    assert any("before day 30" in w for w in result.warnings)


def test_early_onset_episode_that_recovered_before_the_last_anc_is_not_grade_4() -> None:
    # low on days 1–11, above 0.5 on day 12 (the last value): not ongoing → 11 days → 2
    assert grade(daily(range(1, 12), days=range(0, 13))) == 2


def test_late_onset_episode_lasting_to_day_30_is_graded_by_duration() -> None:
    assert grade(daily(range(20, 31))) == 2  # 11 days, starts on day 20


# --- missing days ------------------------------------------------------------------------


def _sparse(points: dict[int, float]) -> list[dict[str, object]]:
    return [{"day": d, "anc_10e9_l": v} for d, v in points.items()]


def test_missing_days_of_at_most_two_between_neutropenic_days_count() -> None:
    # measured 0.3 on days 10 and 13 only: days 11–12 cannot hold a stable recovery
    series = _sparse({0: HIGH, 10: LOW, 13: LOW, 20: HIGH, 30: HIGH})
    result = calculate("icaht", {"anc_series": series})
    assert result.details["days_anc_le_0_5"] == 4
    assert any("days 11–12: no ANC" in r for r in result.reasons)


def test_longer_unmeasured_stretch_is_not_counted_and_warned() -> None:
    series = daily([10, 18], days=[*range(0, 11), *range(18, 31)])  # days 11–17 missing
    result = calculate("icaht", {"anc_series": series})
    assert result.details["days_anc_le_0_5"] == 2
    assert result.value == 1
    assert any("days 11–17" in w and "underestimated" in w for w in result.warnings)


def test_interpolation_fills_seven_day_gap() -> None:
    series = daily([10, 18], days=[*range(0, 11), *range(18, 31)])  # 7 days missing
    result = calculate("icaht", {"anc_series": series, "interpolate_gaps": True})
    assert result.details["days_anc_le_0_5"] == 9
    assert result.details["interpolated_days"] == list(range(11, 18))
    assert result.value == 2


def test_gaps_longer_than_seven_days_are_never_counted() -> None:
    series = daily([10, 19], days=[*range(0, 11), *range(19, 31)])  # 8 days missing
    for interpolate in (False, True):
        result = calculate("icaht", {"anc_series": series, "interpolate_gaps": interpolate})
        assert result.details["days_anc_le_0_5"] == 2
        assert result.details["interpolated_days"] == []
        assert result.value == 1


def test_interpolation_is_linear_across_the_threshold() -> None:
    # day 10: 0.2, day 16: 0.8 → 0.3, 0.4, 0.5-ish, 0.6, 0.7 on days 11–15
    series = _sparse({**dict.fromkeys(range(0, 10), HIGH), 10: 0.2, 16: 0.8, 30: HIGH})
    result = calculate("icaht", {"anc_series": series, "interpolate_gaps": True})
    # days 10, 11, 12 are surely ≤ 0.5; day 13 sits on 0.5 (floating point): 3 or 4 days
    assert result.details["days_anc_le_0_5"] in (3, 4)
    assert result.value == 1


# --- input handling ----------------------------------------------------------------------


def test_unsorted_input_grades_the_same() -> None:
    series = daily([*range(5, 15), *range(17, 20)], very_low=range(6, 13))
    shuffled = series[:]
    random.Random(7).shuffle(shuffled)
    assert shuffled != series
    a = calculate("icaht", {"anc_series": series})
    b = calculate("icaht", {"anc_series": shuffled})
    assert (a.value, a.details) == (b.value, b.details)


def test_lowest_value_of_a_day_counts() -> None:
    # day 16: 0.4 then 2.0 — whichever order, the lowest (0.4) counts
    series = [{"day": 16, "anc_10e9_l": 0.4}, *daily(range(10, 16))]
    result = calculate("icaht", {"anc_series": series})
    assert result.details["days_anc_le_0_5"] == 7
    assert result.value == 2
    assert any("day 16" in r and "lowest" in r for r in result.reasons)


def test_early_phase_ignores_values_after_day_30_with_a_warning() -> None:
    series = [*daily(range(10, 13)), {"day": 35, "anc_10e9_l": 0.01}]
    result = calculate("icaht", {"anc_series": series})
    assert result.value == 1
    assert any("after day 30 ignored" in w for w in result.warnings)


def test_reasons_and_details_name_counts_and_episodes() -> None:
    result = calculate("icaht", {"anc_series": daily(range(10, 18), very_low=[12])})
    assert result.details["days_anc_le_0_5"] == 8
    assert result.details["days_anc_le_0_1"] == 1
    assert result.details["episodes"] == [
        {"threshold_10e9_l": 0.5, "start_day": 10, "end_day": 17, "days": 8},
        {"threshold_10e9_l": 0.1, "start_day": 12, "end_day": 12, "days": 1},
    ]
    text = " | ".join(result.reasons)
    assert "ANC ≤ 0.5 ×10⁹/L: 8 day(s) counted" in text
    assert "days 10–17" in text
    assert "ANC ≤ 0.1 ×10⁹/L: 1 day(s) counted" in text
    assert "grade 2: ANC ≤ 0.5 for 8 day(s) (7–13 days)" in text
    assert "Rejeski" in result.citation


# --- late ICAHT ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nadir", "expected"),
    [(1.51, 0), (1.5, 1), (1.01, 1), (1.0, 2), (0.51, 2), (0.5, 3), (0.11, 3), (0.1, 4), (0, 4)],
)
def test_late_nadir_bands(nadir: float, expected: int) -> None:
    # the nadir on two days confirms itself when ≤ 1.5
    series = _sparse({45: nadir, 60: nadir, 80: 3.0})
    result = calculate("icaht", {"anc_series": series, "phase": "late"})
    assert result.value == expected
    assert result.label == f"late ICAHT grade {expected}"


def test_late_isolated_dip_is_grade_0() -> None:
    series = _sparse({40: 0.3, 50: 2.0, 70: 1.8})
    result = calculate("icaht", {"anc_series": series, "phase": "late"})
    assert result.value == 0
    assert any("isolated dip" in r for r in result.reasons)
    assert result.details["confirmed"] is False


@pytest.mark.parametrize(
    ("second", "expected"), [(LATE_CONFIRMATION_10E9_L, 3), (1.51, 0), (1.4, 3)]
)
def test_late_nadir_confirmed_by_a_second_value(second: float, expected: int) -> None:
    # the grade follows the nadir (0.3 → 3), the second value only has to be ≤ 1.5
    series = _sparse({40: 0.3, 55: second, 70: 2.5})
    result = calculate("icaht", {"anc_series": series, "phase": "late"})
    assert result.value == expected
    assert result.details["nadir_day"] == 40


def test_late_same_day_repeat_does_not_confirm() -> None:
    series = [*_sparse({50: 2.0}), {"day": 40, "anc_10e9_l": 0.3}, {"day": 40, "anc_10e9_l": 1.0}]
    assert grade(series, phase="late") == 0


def test_late_single_value_is_graded_as_it_is() -> None:
    result = calculate("icaht", {"anc_series": _sparse({45: 0.8}), "phase": "late"})
    assert result.value == 2
    assert any("single" in w for w in result.warnings)


def test_late_ignores_values_outside_days_31_to_100() -> None:
    series = _sparse({10: 0.01, 30: 0.01, 45: 1.2, 50: 1.3, 120: 0.01})
    result = calculate("icaht", {"anc_series": series, "phase": "late"})
    assert result.value == 1
    assert any("before day 31 ignored" in w for w in result.warnings)
    assert any("after day 100 ignored" in w for w in result.warnings)


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inputs", "field"),
    [
        ({"anc_series": [{"day": 3, "anc_10e9_l": -0.1}]}, "anc_series.0.anc_10e9_l"),
        (
            {"anc_series": [{"day": 3, "anc_10e9_l": 0.2}, {"day": -1, "anc_10e9_l": 0.2}]},
            "anc_series.1.day",
        ),
        ({"anc_series": [{"day": 3, "anc_10e9_l": 1500.0}]}, "anc_series.0.anc_10e9_l"),
        ({"anc_series": [{"day": 3.0, "anc_10e9_l": 0.2}]}, "anc_series.0.day"),
        ({"anc_series": [{"day": 3, "anc": 0.2}]}, "anc_series.0.anc"),
        ({"anc_series": []}, "anc_series"),
        ({}, "anc_series"),
        ({"anc_series": [{"day": 3, "anc_10e9_l": 0.2}], "phase": "mid"}, "phase"),
        ({"anc_series": [{"day": 3, "anc_10e9_l": 0.2}], "duration_mode": "max"}, "duration_mode"),
    ],
)
def test_bad_input_names_the_field(inputs: dict[str, object], field: str) -> None:
    with pytest.raises(CalculatorInputError) as info:
        calculate("icaht", inputs)
    assert field in info.value.fields


def test_plausible_anc_maximum_is_accepted() -> None:
    assert grade([{"day": 3, "anc_10e9_l": MAX_ANC_10E9_L}, {"day": 30, "anc_10e9_l": 4}]) == 0


@pytest.mark.parametrize(
    ("series", "phase"),
    [(_sparse({35: 0.2, 40: 0.1}), "early"), (_sparse({5: 0.2, 30: 0.1}), "late")],
)
def test_no_value_in_the_phase_window_is_rejected(
    series: list[dict[str, object]], phase: str
) -> None:
    with pytest.raises(CalculatorInputError) as info:
        calculate("icaht", {"anc_series": series, "phase": phase})
    assert info.value.fields == ["anc_series"]


def test_no_vectorized_path() -> None:
    frame = pd.DataFrame({"anc_series": [[{"day": 1, "anc_10e9_l": 0.2}]]})
    with pytest.raises(NotVectorizedError):
        calculate_frame("icaht", frame)


# --- properties ------------------------------------------------------------------------------

ANC_VALUES = st.sampled_from([0.0, 0.05, 0.1, 0.11, 0.3, 0.5, 0.51, 0.9, 1.0, 1.5, 1.6, 3.0])
points = st.lists(
    st.tuples(st.integers(0, 110), st.one_of(ANC_VALUES, st.floats(0, 5))),
    min_size=1,
    max_size=40,
)
options = st.fixed_dictionaries(
    {
        "phase": st.sampled_from(["early", "late"]),
        "duration_mode": st.sampled_from(["cumulative", "longest_episode"]),
        "interpolate_gaps": st.booleans(),
    }
)


def _series(pts: list[tuple[int, float]]) -> list[dict[str, object]]:
    return [{"day": d, "anc_10e9_l": v} for d, v in pts]


def _in_window(pts: list[tuple[int, float]], phase: object) -> bool:
    lo, hi = (0, 30) if phase == "early" else (31, 100)
    return any(lo <= d <= hi for d, _ in pts)


@settings(max_examples=300)
@given(points, options, st.data())
def test_lowering_any_anc_never_lowers_the_grade(
    pts: list[tuple[int, float]], opts: dict[str, object], data: st.DataObject
) -> None:
    if not _in_window(pts, opts["phase"]):
        return
    i = data.draw(st.integers(0, len(pts) - 1))
    day, anc = pts[i]
    lower = data.draw(st.floats(0, anc))
    worse = [*pts[:i], (day, lower), *pts[i + 1 :]]
    before = calculate("icaht", {"anc_series": _series(pts), **opts})
    after = calculate("icaht", {"anc_series": _series(worse), **opts})
    assert 0 <= before.value <= 4
    assert 0 <= after.value <= 4
    assert after.value >= before.value, (pts, worse, before.reasons, after.reasons)


@given(points, st.booleans())
def test_cumulative_counts_at_least_the_longest_episode(
    pts: list[tuple[int, float]], interpolate: bool
) -> None:
    if not _in_window(pts, "early"):
        return
    base = {"anc_series": _series(pts), "interpolate_gaps": interpolate}
    cumulative = calculate("icaht", base)
    longest = calculate("icaht", {**base, "duration_mode": "longest_episode"})
    assert cumulative.value >= longest.value
    assert cumulative.details["days_anc_le_0_5"] >= longest.details["days_anc_le_0_5"]
    assert cumulative.details["days_anc_le_0_5"] <= EARLY_WINDOW_DAYS
    assert cumulative.details["days_anc_le_0_1"] <= cumulative.details["days_anc_le_0_5"]


@given(points, options, st.randoms(use_true_random=False))
def test_order_of_the_series_does_not_matter(
    pts: list[tuple[int, float]], opts: dict[str, object], rnd: random.Random
) -> None:
    if not _in_window(pts, opts["phase"]):
        return
    shuffled = pts[:]
    rnd.shuffle(shuffled)
    a = calculate("icaht", {"anc_series": _series(pts), **opts})
    b = calculate("icaht", {"anc_series": _series(shuffled), **opts})
    assert (a.value, a.details) == (b.value, b.details)


# --- many series at once (the cohort's path) -------------------------------------------------

early_points = st.lists(
    st.tuples(st.integers(0, 30), st.one_of(ANC_VALUES, st.floats(0, 5))), min_size=1, max_size=45
)


@settings(max_examples=200)
@given(st.lists(early_points, min_size=1, max_size=6), st.randoms(use_true_random=False))
def test_early_grades_of_many_series_are_the_calculator_s(
    many: list[list[tuple[int, float]]], rnd: random.Random
) -> None:
    rows = [(s, d, v) for s, pts in enumerate(many) for d, v in pts]
    rnd.shuffle(rows)  # rows of the series interleaved, days in any order
    series, day, anc = (np.array(c) for c in zip(*rows, strict=True))
    got = early_grades(series.astype(np.intp), day.astype(np.int64), anc.astype(float))
    expected = [calculate("icaht", {"anc_series": _series(pts)}).value for pts in many]
    assert got.tolist() == expected


def test_early_grades_refuse_what_the_calculator_refuses() -> None:
    series = np.array([0, 0, 1], dtype=np.intp)
    with pytest.raises(CalculatorInputError) as caught:
        early_grades(series, np.array([0, 1, 2], dtype=np.int64), np.array([0.3, 0.3, 150.0]))
    assert "anc_10e9_l" in str(caught.value)
