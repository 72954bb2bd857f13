"""ASTCT ICANS grade (adults), and neurocart's baseline-adjusted extension.

Source of the expected values: Lee DW et al. Biol Blood Marrow Transplant 2019;25(4):625–638,
doi:10.1016/j.bbmt.2018.12.758 — the adult ICANS grading table and its footnotes: ICE 7–9 → 1,
3–6 → 2, 0–2 → 3, 0 and unarousable → 4; consciousness awakens spontaneously 1, to voice 2,
only to tactile stimulus 3, unarousable 4; seizure resolving rapidly 3, prolonged or
repetitive 4; deep focal motor weakness 4; focal edema 3, diffuse edema 4; the grade is the
most severe domain (worked example: ICE 3 with a generalized seizure → grade 3); ICE 0 in an
awake patient with global aphasia → 3, ICE 0 because unarousable → 4.
Baseline adjustment (neurocart extension, docs/calculators.md `icans`; the pre-infusion baseline
ICE asked for by Greco R et al. 2024, EBMT/ISCT position statement): effective
ICE = 10 − (baseline − current), floored at 0, current above baseline counts as 10.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neurocart.standards import CalculatorInputError, calculate

from .agreement import assert_frame_agrees


@pytest.mark.parametrize(
    ("ice", "grade"),
    [(10, 0), (9, 1), (8, 1), (7, 1), (6, 2), (5, 2), (4, 2), (3, 2), (2, 3), (1, 3), (0, 3)],
)
def test_ice_domain(ice: int, grade: int) -> None:
    result = calculate("icans", {"ice_score": ice})
    assert result.value == grade
    assert result.label == ("no ICANS" if grade == 0 else f"grade {grade}")
    assert result.details["astct_grade"] == grade
    assert "Lee DW" in result.citation


@pytest.mark.parametrize(
    ("field", "choice", "grade"),
    [
        ("consciousness", "normal", 0),
        ("consciousness", "awakens_spontaneously", 1),
        ("consciousness", "awakens_to_voice", 2),
        ("consciousness", "awakens_to_tactile", 3),
        ("consciousness", "unarousable", 4),
        ("seizure", "none", 0),
        ("seizure", "resolves_rapidly", 3),
        ("seizure", "prolonged_or_repetitive", 4),
        ("motor", "none", 0),
        ("motor", "deep_focal_weakness", 4),
        ("cerebral_edema", "none", 0),
        ("cerebral_edema", "focal", 3),
        ("cerebral_edema", "diffuse", 4),
    ],
)
def test_other_domains(field: str, choice: str, grade: int) -> None:
    ice = 0 if choice == "unarousable" else 10
    result = calculate("icans", {"ice_score": ice, field: choice})
    assert result.value == grade
    assert result.details["domain_grades"][field] == grade


def test_ice_10_and_nothing_else_is_grade_0() -> None:
    result = calculate("icans", {"ice_score": 10})
    assert (result.value, result.label) == (0, "no ICANS")
    assert result.warnings == []


def test_published_example_ice_3_with_seizure_is_grade_3() -> None:
    result = calculate("icans", {"ice_score": 3, "seizure": "resolves_rapidly"})
    assert result.value == 3
    assert result.details["domain_grades"]["ice"] == 2


def test_most_severe_domain_wins() -> None:
    inputs = {"ice_score": 8, "consciousness": "awakens_to_voice", "cerebral_edema": "focal"}
    assert calculate("icans", inputs).value == 3


def test_unarousable_patient_is_grade_4() -> None:
    result = calculate("icans", {"ice_score": 0, "consciousness": "unarousable"})
    assert (result.value, result.label) == (4, "grade 4")
    assert any("unarousable" in r and "grade 4" in r for r in result.reasons)
    assert calculate("icans", {"consciousness": "unarousable"}).value == 4


def test_ice_0_awake_is_grade_3() -> None:
    result = calculate("icans", {"ice_score": 0, "consciousness": "normal"})
    assert result.value == 3
    assert any("global aphasia" in r for r in result.reasons)


def test_ice_not_assessed() -> None:
    result = calculate("icans", {})
    assert result.value == 0
    assert any("ICE not assessed" in r for r in result.reasons)
    assert result.warnings
    assert calculate("icans", {"seizure": "resolves_rapidly"}).value == 3


def test_motor_weakness_warns_about_pre_existing_deficit() -> None:
    result = calculate("icans", {"ice_score": 10, "motor": "deep_focal_weakness"})
    assert result.value == 4
    assert any("myelitis" in w for w in result.warnings)


# ---- the baseline-adjusted extension ---------------------------------------------------


def test_baseline_7_current_7_is_adjusted_0_while_astct_1() -> None:
    result = calculate("icans", {"ice_score": 7, "baseline_ice_score": 7})
    assert result.value == 0
    assert result.label == "no ICANS (baseline-adjusted; ASTCT grade 1)"
    assert result.details["astct_grade"] == 1
    assert result.details["baseline_adjusted_grade"] == 0
    assert result.details["effective_ice_score"] == 10
    text = " ".join(result.reasons)
    assert "BASELINE-ADJUSTED" in text
    assert "NOT the ASTCT grade" in text
    assert "ASTCT grade (unadjusted): grade 1" in text
    assert any("flare" in w and "clinician" in w for w in result.warnings)


@pytest.mark.parametrize(
    ("baseline", "current", "effective", "adjusted", "astct"),
    [
        (7, 7, 10, 0, 1),
        (7, 6, 9, 1, 2),
        (7, 4, 7, 1, 2),
        (7, 3, 6, 2, 2),
        (10, 5, 5, 2, 2),
        (10, 10, 10, 0, 0),
        (8, 10, 10, 0, 0),  # current above baseline counts as 10
        (5, 9, 10, 0, 1),
        (10, 0, 0, 3, 3),
        (8, 0, 2, 3, 3),
        (0, 0, 10, 0, 3),
    ],
)
def test_baseline_adjustment(
    baseline: int, current: int, effective: int, adjusted: int, astct: int
) -> None:
    result = calculate("icans", {"ice_score": current, "baseline_ice_score": baseline})
    assert result.value == adjusted
    assert result.details["effective_ice_score"] == effective
    assert result.details["astct_grade"] == astct
    assert result.details["baseline_adjusted_grade"] == adjusted


def test_baseline_does_not_touch_other_domains() -> None:
    result = calculate(
        "icans", {"ice_score": 6, "baseline_ice_score": 6, "seizure": "resolves_rapidly"}
    )
    assert result.value == 3
    assert result.details["astct_grade"] == 3
    unarousable = calculate(
        "icans", {"ice_score": 0, "baseline_ice_score": 5, "consciousness": "unarousable"}
    )
    assert unarousable.value == 4


def test_no_baseline_has_astct_grade_only() -> None:
    result = calculate("icans", {"ice_score": 5})
    assert result.details["astct_grade"] == 2
    assert "baseline_adjusted_grade" not in result.details
    assert not any("baseline" in r.lower() for r in result.reasons)


@pytest.mark.parametrize(
    ("inputs", "field"),
    [
        ({"baseline_ice_score": 8}, "baseline_ice_score"),
        ({"ice_score": 5, "consciousness": "unarousable"}, "ice_score"),
        ({"ice_score": 11}, "ice_score"),
        ({"ice_score": -1}, "ice_score"),
        ({"ice_score": 5.0}, "ice_score"),
        ({"ice_score": 5, "baseline_ice_score": 11}, "baseline_ice_score"),
        ({"ice_score": 5, "consciousness": "drowsy"}, "consciousness"),
        ({"ice_score": 5, "seizure": "status"}, "seizure"),
        ({"ice_score": 5, "motor": "tremor"}, "motor"),
        ({"ice_score": 5, "cerebral_edema": "mild"}, "cerebral_edema"),
        ({"ice_score": 5, "age_years": 40}, "age_years"),
    ],
)
def test_bad_input_names_the_field(inputs: dict[str, Any], field: str) -> None:
    with pytest.raises(CalculatorInputError) as info:
        calculate("icans", inputs)
    assert info.value.fields == [field]


# ---- properties -------------------------------------------------------------------------

LADDERS: dict[str, list[str]] = {
    "consciousness": [
        "normal",
        "awakens_spontaneously",
        "awakens_to_voice",
        "awakens_to_tactile",
        "unarousable",
    ],
    "seizure": ["none", "resolves_rapidly", "prolonged_or_repetitive"],
    "motor": ["none", "deep_focal_weakness"],
    "cerebral_edema": ["none", "focal", "diffuse"],
}


@st.composite
def icans_rows(draw: st.DrawFn) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name, ladder in LADDERS.items():
        if draw(st.booleans()):
            row[name] = draw(st.sampled_from(ladder))
    if draw(st.integers(0, 3)):
        row["ice_score"] = draw(st.integers(0, 10))
        if draw(st.booleans()):
            row["baseline_ice_score"] = draw(st.integers(0, 10))
    if row.get("consciousness") == "unarousable" and "ice_score" in row:
        row["ice_score"] = 0
    return row


def grades(row: dict[str, Any]) -> tuple[int, int]:
    result = calculate("icans", row)
    assert 0 <= result.value <= 4
    assert 0 <= result.details["astct_grade"] <= 4
    assert isinstance(result.value, int)
    return result.value, result.details["astct_grade"]


@given(icans_rows(), st.integers(0, 10))
def test_never_decreases_when_ice_falls(row: dict[str, Any], fall: int) -> None:
    if "ice_score" not in row:
        row = {**row, "ice_score": 0 if row.get("consciousness") == "unarousable" else 10}
    worse = {**row, "ice_score": max(row["ice_score"] - fall, 0)}
    before, after = grades(row), grades(worse)
    assert after[0] >= before[0]  # the value (baseline-adjusted when a baseline is given)
    assert after[1] >= before[1]  # the ASTCT grade


@given(icans_rows(), st.sampled_from(list(LADDERS)), st.integers(1, 4))
def test_never_decreases_when_a_domain_worsens(
    row: dict[str, Any], domain: str, steps: int
) -> None:
    ladder = LADDERS[domain]
    now = ladder.index(row.get(domain, ladder[0]))
    worse = {**row, domain: ladder[min(now + steps, len(ladder) - 1)]}
    if worse.get("consciousness") == "unarousable" and "ice_score" in worse:
        worse["ice_score"] = 0  # an unarousable patient scores 0 (a fall, itself a worsening)
    before, after = grades(row), grades(worse)
    assert after[0] >= before[0]
    assert after[1] >= before[1]


@given(icans_rows())
def test_adjusted_grade_never_exceeds_astct_grade(row: dict[str, Any]) -> None:
    value, astct = grades(row)
    assert value <= astct


@given(st.lists(icans_rows(), min_size=1, max_size=25))
def test_frame_agrees(rows: list[dict[str, Any]]) -> None:
    assert_frame_agrees("icans", rows)


def test_frame_agrees_on_every_ice_and_baseline() -> None:
    rows: list[dict[str, Any]] = [{"ice_score": i} for i in range(11)]
    rows += [{"ice_score": i, "baseline_ice_score": b} for i in range(11) for b in range(11)]
    rows += [{"consciousness": c} for c in LADDERS["consciousness"]]
    rows += [{"ice_score": 0, "consciousness": "unarousable", "baseline_ice_score": 9}]
    assert_frame_agrees("icans", rows)
