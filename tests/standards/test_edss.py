"""EDSS (Kurtzke 1983, Neurostatus conventions).

Sources of the expected values:
* Kurtzke JF. Neurology 1983;33:1444–1452 — step definitions (FS equivalents for 0–5.5;
  walking ranges and aids for 4.0–9.5; 10 = death due to MS).
* Neurostatus-eEDSS definitions 04/10.2 (Kappos L) — the visual conversion 6,5,4,3,2,1 →
  4,3,3,2,2,1; ambulation score 0–16 and its rows (neurostatus.net, forum "ambulation").
* neurocart's conventions (the module docstring, `FS_RULES`, `AMBULATION_ROWS`; summary in
  docs/calculators.md `edss`) — the bowel/bladder conversion, the FS rules F1–F22, the
  ambulation table neurocart adopted, and the open points below.
* adobrasinovic/edss, src/index.js (commit b41f4b9) — open JavaScript transcription of the
  Kappos scoring table, re-expressed below as `_kappos_table` and compared with the
  calculator on every combination of FS grades and unaided walking band. It differs from
  neurocart in one documented place: it counts cerebral grade 1, Kurtzke does not.

Uncertainties kept visible: the Neurostatus table 04/10.3 itself was not available;
the one-grade-4 rules (F3–F5) rest on the JS transcription (the R package EDSScalculator
disagrees, see `test_one_grade_4_rules_follow_the_kappos_transcription`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from neurocart.cli import app
from neurocart.standards import CalculatorInputError, calculate, calculate_frame

from .agreement import assert_frame_agrees

FS = ("visual", "brainstem", "pyramidal", "cerebellar", "sensory", "bowel_bladder", "cerebral")
FS_MAX = {
    "visual": 6,
    "brainstem": 5,
    "pyramidal": 6,
    "cerebellar": 5,
    "sensory": 6,
    "bowel_bladder": 6,
    "cerebral": 5,
}
VALID_STEPS = {0.0, *(x / 2 for x in range(2, 21))}
ASSISTANCE_ORDER = (
    "none",
    "unilateral",
    "bilateral",
    "wheelchair_self",
    "wheelchair_assisted",
    "bed_chair_arms",
    "bed_chair_no_arms",
    "bed_communicates",
    "bed_helpless",
)
CHECK = "neurocart check:"


def fs(**grades: int) -> dict[str, Any]:
    """All FS 0 except those given."""
    return {name: grades.get(name, 0) for name in FS}


def edss(**inputs: Any) -> Any:
    grades = {k: v for k, v in inputs.items() if k in FS}
    rest = {k: v for k, v in inputs.items() if k not in FS}
    return calculate("edss", {**fs(**grades), **rest})


# ---------------------------------------------------------------------------------------------
# Acceptance example of the issue


def test_acceptance_example_cli() -> None:
    # pyramidal 3, cerebellar 2, sensory 2, the rest 0; walks 600 m unaided (unrestricted).
    # Kurtzke 3.5: "one FS grade 3 and one or two FS grade 2" → rule F13 → 3.5; the walking
    # range ≥ 500 m leaves the step to the FS, so EDSS = max(3.5, 0) = 3.5.
    payload = {
        "visual": 0,
        "brainstem": 0,
        "pyramidal": 3,
        "cerebellar": 2,
        "sensory": 2,
        "bowel_bladder": 0,
        "cerebral": 0,
        "walking_range_m": 600,
    }
    result = CliRunner().invoke(app, ["calc", "edss", "--json", json.dumps(payload)])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["value"] == 3.5
    assert body["label"] == "EDSS 3.5"
    reasons = " | ".join(body["reasons"])
    assert "F13" in reasons
    assert "grade 3: pyramidal" in reasons
    assert "600 m" in reasons
    assert "ambulation score 0" in reasons
    assert "set by the FS" in reasons
    assert body["warnings"] == []
    assert body["details"]["fs_rule"] == "F13"


def test_help_describes_the_fields() -> None:
    result = CliRunner().invoke(app, ["calc", "edss", "--help"], env={"COLUMNS": "250"})
    assert result.exit_code == 0
    for name in (*FS, "walking_range_m", "walking_restricted", "assistance", "died_of_ms"):
        assert name in result.stdout
    assert "Kurtzke" in result.stdout


# ---------------------------------------------------------------------------------------------
# Steps 0–5.0 from FS combinations (walking unrestricted, 600 m unaided)

FS_CASES: list[tuple[str, dict[str, int], float, str]] = [
    # Kurtzke 0: normal examination (all FS 0; cerebral grade 1 acceptable)
    ("all FS 0", {}, 0.0, "F22"),
    ("cerebral 1 alone is still step 0", {"cerebral": 1}, 0.0, "F22"),
    # 1.0: minimal signs in one FS
    ("one grade 1", {"pyramidal": 1}, 1.0, "F21"),
    ("one grade 1 + cerebral 1 (not counted)", {"sensory": 1, "cerebral": 1}, 1.0, "F21"),
    # 1.5: minimal signs in more than one FS
    ("two grade 1", {"pyramidal": 1, "sensory": 1}, 1.5, "F20"),
    ("seven grade 1 (cerebral one not counted)", dict.fromkeys(FS, 1), 1.5, "F20"),
    # 2.0: minimal disability in one FS
    ("one grade 2", {"cerebellar": 2}, 2.0, "F19"),
    ("one grade 2 + grade 1s", {"cerebellar": 2, "sensory": 1, "brainstem": 1}, 2.0, "F19"),
    ("cerebral 2 counts", {"cerebral": 2}, 2.0, "F19"),
    # 2.5: minimal disability in two FS
    ("two grade 2", {"pyramidal": 2, "sensory": 2}, 2.5, "F18"),
    # 3.0: moderate disability in one FS, or mild disability in three or four FS
    ("one grade 3", {"pyramidal": 3}, 3.0, "F14"),
    ("one grade 3 + grade 1s", {"pyramidal": 3, "sensory": 1, "visual": 1}, 3.0, "F14"),
    ("three grade 2", {"pyramidal": 2, "sensory": 2, "cerebellar": 2}, 3.0, "F17"),
    (
        "four grade 2",
        {"pyramidal": 2, "sensory": 2, "cerebellar": 2, "brainstem": 2},
        3.0,
        "F17",
    ),
    # 3.5: one grade 3 and one or two grade 2; or two grade 3; or five grade 2
    ("grade 3 + one grade 2", {"pyramidal": 3, "sensory": 2}, 3.5, "F13"),
    ("grade 3 + two grade 2", {"pyramidal": 3, "sensory": 2, "cerebellar": 2}, 3.5, "F13"),
    ("two grade 3", {"pyramidal": 3, "cerebellar": 3}, 3.5, "F11"),
    (
        "five grade 2",
        {"pyramidal": 2, "sensory": 2, "cerebellar": 2, "brainstem": 2, "cerebral": 2},
        3.5,
        "F16",
    ),
    # 4.0: one grade 4 (rest 0/1), or combinations beyond 3.5
    ("one grade 4", {"pyramidal": 4}, 4.0, "F6"),
    ("one grade 4 + grade 1s", {"pyramidal": 4, "sensory": 1, "cerebral": 1}, 4.0, "F6"),
    ("two grade 3 + one grade 2", {"pyramidal": 3, "cerebellar": 3, "sensory": 2}, 4.0, "F10"),
    ("three grade 3", {"pyramidal": 3, "cerebellar": 3, "sensory": 3}, 4.0, "F9"),
    (
        "four grade 3",
        {"pyramidal": 3, "cerebellar": 3, "sensory": 3, "brainstem": 3},
        4.0,
        "F9",
    ),
    (
        "grade 3 + three grade 2",
        {"pyramidal": 3, "cerebellar": 2, "sensory": 2, "brainstem": 2},
        4.0,
        "F12",
    ),
    (
        "six grade 2",
        {n: 2 for n in FS if n != "cerebral"},
        4.0,
        "F15",
    ),
    ("seven grade 2", dict.fromkeys(FS, 2), 4.0, "F15"),
    # 4.5: relatively severe disability
    ("grade 4 + grade 3", {"pyramidal": 4, "cerebellar": 3}, 4.5, "F4"),
    ("grade 4 + two grade 3", {"pyramidal": 4, "cerebellar": 3, "sensory": 3}, 4.5, "F4"),
    ("grade 4 + grade 2", {"pyramidal": 4, "sensory": 2}, 4.5, "F5"),
    (
        "five grade 3",
        {"pyramidal": 3, "cerebellar": 3, "sensory": 3, "brainstem": 3, "cerebral": 3},
        4.5,
        "F8",
    ),
    # 5.0: one grade 5, or combinations beyond 4.5
    ("one grade 5", {"pyramidal": 5}, 5.0, "F1"),
    ("cerebral 5", {"cerebral": 5}, 5.0, "F1"),
    ("pyramidal 6", {"pyramidal": 6}, 5.0, "F1"),
    ("two grade 4", {"pyramidal": 4, "cerebellar": 4}, 5.0, "F2"),
    (
        "grade 4 + three grade 3",
        {"pyramidal": 4, "cerebellar": 3, "sensory": 3, "brainstem": 3},
        5.0,
        "F3",
    ),
    # visual 3 counts as 2: six FS at grade 3 need visual 4 (→ 3)
    ("visual 3 counts as 2", {**{n: 3 for n in FS if n != "cerebral"}}, 4.5, "F8"),
    ("six grade 3", {**{n: 3 for n in FS if n != "cerebral"}, "visual": 4}, 5.0, "F7"),
    ("seven grade 3", {**dict.fromkeys(FS, 3), "visual": 4}, 5.0, "F7"),
]


@pytest.mark.parametrize(
    ("case", "grades", "expected", "rule"), FS_CASES, ids=[c[0] for c in FS_CASES]
)
def test_fs_combinations(case: str, grades: dict[str, int], expected: float, rule: str) -> None:
    result = edss(**grades, walking_range_m=600.0)
    assert result.value == expected, case
    assert result.details["fs_rule"] == rule
    assert f"rule {rule}:" in result.reasons[-3]


def test_step_5_5_is_never_reached_by_fs_alone() -> None:
    # Kurtzke: FS equivalents stop at 5.0; 5.5 and above need the walking range.
    worst = edss(**FS_MAX, walking_range_m=600.0)
    assert worst.value == 5.0
    assert edss(**FS_MAX, walking_range_m=150.0).value == 5.5


# ---------------------------------------------------------------------------------------------
# Conversions (Neurostatus) and cerebral grade 1 (Kurtzke)

VISUAL = {0: 0, 1: 1, 2: 2, 3: 2, 4: 3, 5: 3, 6: 4}
BOWEL_BLADDER = {0: 0, 1: 1, 2: 2, 3: 3, 4: 3, 5: 4, 6: 5}
STEP_OF_ONE_GRADE = {0: 0.0, 1: 1.0, 2: 2.0, 3: 3.0, 4: 4.0, 5: 5.0}


@pytest.mark.parametrize(("raw", "converted"), sorted(VISUAL.items()))
def test_visual_conversion(raw: int, converted: int) -> None:
    result = edss(visual=raw, walking_range_m=600.0)
    assert result.details["converted_grades"]["visual"] == converted
    assert result.value == STEP_OF_ONE_GRADE[converted]
    mentioned = any("visual FS" in r and "Neurostatus visual" in r for r in result.reasons)
    assert mentioned == (raw != converted)


@pytest.mark.parametrize(("raw", "converted"), sorted(BOWEL_BLADDER.items()))
def test_bowel_bladder_conversion(raw: int, converted: int) -> None:
    result = edss(bowel_bladder=raw, walking_range_m=600.0)
    assert result.details["converted_grades"]["bowel_bladder"] == converted
    assert result.value == STEP_OF_ONE_GRADE[converted]
    mentioned = any("bowel/bladder FS" in r for r in result.reasons)
    assert mentioned == (raw != converted)


def test_visual_6_counts_as_4_in_combination() -> None:
    # visual 6 → 4; with pyramidal 4 that is two grade 4 → 5.0 (F2), not F1 (grade ≥ 5).
    result = edss(visual=6, pyramidal=4, walking_range_m=600.0)
    assert (result.value, result.details["fs_rule"]) == (5.0, "F2")
    assert "visual FS 6 counted as 4" in result.reasons[0]


def test_cerebral_1_is_ignored_unlike_the_js_calculator() -> None:
    # Kurtzke 1983: step 0 = all FS 0 "(cerebral grade 1 acceptable)"; 1.0/1.5 count grade-1
    # signs "excluding cerebral grade 1". The Kappos-table JS calculator gives 1.0 and 1.5
    # here (it counts cerebral 1); the publication wins.
    alone = edss(cerebral=1, walking_range_m=600.0)
    assert alone.value == 0.0
    assert any("cerebral FS 1 counted as 0" in r and "Kurtzke" in r for r in alone.reasons)
    assert _kappos_table(_counted(fs(cerebral=1), cerebral_1_counts=True), 0) == 1.0
    assert edss(cerebral=1, pyramidal=1, walking_range_m=600.0).value == 1.0
    assert _kappos_table(_counted(fs(cerebral=1, pyramidal=1), cerebral_1_counts=True), 0) == 1.5
    # cerebral 2 and above count as they are
    assert edss(cerebral=2, walking_range_m=600.0).value == 2.0


# ---------------------------------------------------------------------------------------------
# Ambulation rows (steps 4.0–9.5) and death (10), at and around each boundary

AMBULATION_CASES: list[tuple[str, dict[str, Any], float]] = [
    # 4.0: FS step 4.0 and able to walk ≥ 500 m without aid or rest
    ("4.0 one grade 4, 500 m", {"pyramidal": 4, "walking_range_m": 500.0}, 4.0),
    ("500 m unaided is unrestricted", {"walking_range_m": 500.0}, 0.0),
    ("499.9 m unaided → 4.5", {"walking_range_m": 499.9}, 4.5),
    ("300 m unaided → 4.5", {"walking_range_m": 300.0}, 4.5),
    ("299.9 m unaided → 5.0", {"walking_range_m": 299.9}, 5.0),
    ("200 m unaided → 5.0", {"walking_range_m": 200.0}, 5.0),
    ("199.9 m unaided → 5.5", {"walking_range_m": 199.9}, 5.5),
    ("100 m unaided → 5.5", {"walking_range_m": 100.0}, 5.5),
    ("99.9 m unaided → 6.0", {"walking_range_m": 99.9}, 6.0),
    ("20 m unaided → 6.0", {"walking_range_m": 20.0}, 6.0),
    ("unilateral 600 m → 6.0", {"assistance": "unilateral", "walking_range_m": 600.0}, 6.0),
    ("unilateral 50 m → 6.0", {"assistance": "unilateral", "walking_range_m": 50.0}, 6.0),
    ("unilateral 49.9 m → 6.5", {"assistance": "unilateral", "walking_range_m": 49.9}, 6.5),
    ("unilateral 5 m → 6.5", {"assistance": "unilateral", "walking_range_m": 5.0}, 6.5),
    ("unilateral 4.9 m → 7.0", {"assistance": "unilateral", "walking_range_m": 4.9}, 7.0),
    ("bilateral 120 m → 6.0", {"assistance": "bilateral", "walking_range_m": 120.0}, 6.0),
    ("bilateral 119.9 m → 6.5", {"assistance": "bilateral", "walking_range_m": 119.9}, 6.5),
    ("bilateral 20 m → 6.5", {"assistance": "bilateral", "walking_range_m": 20.0}, 6.5),
    ("bilateral 5 m → 6.5", {"assistance": "bilateral", "walking_range_m": 5.0}, 6.5),
    ("bilateral 4.9 m → 7.0", {"assistance": "bilateral", "walking_range_m": 4.9}, 7.0),
    ("bilateral 0 m → 7.0", {"assistance": "bilateral", "walking_range_m": 0.0}, 7.0),
    ("wheelchair without help → 7.0", {"assistance": "wheelchair_self"}, 7.0),
    (
        "wheelchair, a few steps → 7.0",
        {"assistance": "wheelchair_self", "walking_range_m": 3.0},
        7.0,
    ),
    ("wheelchair with help → 7.5", {"assistance": "wheelchair_assisted"}, 7.5),
    ("bed/chair, arms → 8.0", {"assistance": "bed_chair_arms"}, 8.0),
    ("bed/chair, pivots 2 m", {"assistance": "bed_chair_arms", "walking_range_m": 2.0}, 8.0),
    ("bed much of the day → 8.5", {"assistance": "bed_chair_no_arms"}, 8.5),
    ("helpless, communicates → 9.0", {"assistance": "bed_communicates"}, 9.0),
    ("helpless, range 0 allowed", {"assistance": "bed_communicates", "walking_range_m": 0.0}, 9.0),
    ("totally helpless → 9.5", {"assistance": "bed_helpless"}, 9.5),
    ("death due to MS → 10", {"died_of_ms": True}, 10.0),
    ("death overrides everything", {"died_of_ms": True, "assistance": "bed_helpless"}, 10.0),
    (
        "fully ambulatory, restricted → 2.0",
        {"walking_range_m": 800.0, "walking_restricted": True},
        2.0,
    ),
    ("restricted, range not given → 2.0", {"walking_restricted": True}, 2.0),
    ("range not given → FS decide", {}, 0.0),
]


@pytest.mark.parametrize(
    ("case", "inputs", "expected"), AMBULATION_CASES, ids=[c[0] for c in AMBULATION_CASES]
)
def test_ambulation_rows(case: str, inputs: dict[str, Any], expected: float) -> None:
    result = edss(**inputs)
    assert result.value == expected, case
    assert result.label == ("EDSS " + (f"{expected:g}" if expected in (0, 10) else f"{expected}"))


@pytest.mark.parametrize(
    ("grades", "walking_range_m", "expected", "decided"),
    [
        # FS 4.5 (grade 4 + grade 3) and 300–499 m (4.5): agree
        ({"pyramidal": 4, "cerebellar": 3}, 350.0, 4.5, "agree"),
        # FS 5.0 (two grade 4) and 300–499 m: Neurostatus "4.5 or 5.0" → 5.0 from the FS
        ({"pyramidal": 4, "cerebellar": 4}, 350.0, 5.0, "set by the FS"),
        # FS 2.0 with 200–299 m → 5.0 from ambulation
        ({"pyramidal": 2}, 250.0, 5.0, "set by ambulation"),
        # FS 5.0 with 100–199 m → 5.5 from ambulation
        ({"pyramidal": 5}, 150.0, 5.5, "set by ambulation"),
        # FS 1.0 with fully ambulatory but restricted → 2.0
        ({"pyramidal": 1}, None, 2.0, "set by ambulation"),
        # FS 2.5 with fully ambulatory but restricted → 2.5 (the floor does not add)
        ({"pyramidal": 2, "sensory": 2}, None, 2.5, "set by the FS"),
    ],
)
def test_final_edss_is_the_higher_of_fs_and_ambulation(
    grades: dict[str, int], walking_range_m: float | None, expected: float, decided: str
) -> None:
    inputs: dict[str, Any] = {**grades}
    if walking_range_m is None:
        inputs["walking_restricted"] = True
    else:
        inputs["walking_range_m"] = walking_range_m
    result = edss(**inputs)
    assert result.value == expected
    assert decided in result.reasons[-1]


def test_death_reason() -> None:
    result = edss(pyramidal=3, died_of_ms=True)
    assert result.value == 10.0
    assert result.label == "EDSS 10"
    assert any("death due to MS" in r for r in result.reasons)
    assert result.details["neurostatus_ambulation_score"] == 16
    assert result.warnings == []


def test_reasons_name_the_ambulation_row_and_score() -> None:
    result = edss(pyramidal=3, assistance="bilateral", walking_range_m=80.0)
    assert result.value == 6.5
    assert any("80 m with bilateral assistance" in r and "score 9" in r for r in result.reasons)
    assert result.details["ambulation_row"] == "bilateral_5_120"


# ---------------------------------------------------------------------------------------------
# Independent oracle: the Kappos-table transcription of adobrasinovic/edss (JS), re-expressed


def _counted(grades: dict[str, int], *, cerebral_1_counts: bool = False) -> list[int]:
    out = [
        VISUAL[grades["visual"]],
        grades["brainstem"],
        grades["pyramidal"],
        grades["cerebellar"],
        grades["sensory"],
        BOWEL_BLADDER[grades["bowel_bladder"]],
        grades["cerebral"] if cerebral_1_counts or grades["cerebral"] != 1 else 0,
    ]
    return out


def _kappos_table(grades: Sequence[int], ambulation_score: int) -> float:
    """calculateEDSS of adobrasinovic/edss for ambulation scores 0–4, on converted grades."""
    if ambulation_score == 4:
        return 5.5
    if ambulation_score == 3:
        return 5.0
    top = max(grades)
    n_top = sum(g >= top for g in grades)
    rest = [g for g in grades if g < top]
    second = max(rest) if rest else -math.inf
    n_second = sum(g >= second for g in rest)
    if top >= 5 or (top == 4 and n_top >= 2):
        return 5.0
    if top == 4 and n_top == 1:
        if second == 3 and n_second > 2:
            return 5.0
        if second in (2, 3):
            return 4.5
        if ambulation_score < 2 and second < 2:
            return 4.0
    if top == 3 and n_top >= 6:
        return 5.0
    if ambulation_score == 2:
        return 4.5
    if top == 3:
        if n_top == 5:
            return 4.5
        if n_top >= 2:
            return 3.5 if n_top == 2 and second <= 1 else 4.0
        if second == 2:
            return 4.0 if n_second >= 3 else 3.5
        return 3.0
    if top == 2:
        return {1: 2.0, 2: 2.5, 3: 3.0, 4: 3.0, 5: 3.5}.get(n_top, 4.0)
    if ambulation_score == 1:
        return 2.0
    if top == 1:
        return 1.5 if n_top >= 2 else 1.0
    return 0.0


# ambulation score → inputs that express it (0: unrestricted, 1: fully ambulatory but
# restricted, 2: 300–499 m, 3: 200–299 m, 4: 100–199 m, all unaided)
AMBULATION_INPUTS: dict[int, dict[str, Any]] = {
    0: {"walking_range_m": 600.0, "walking_restricted": False},
    1: {"walking_range_m": 600.0, "walking_restricted": True},
    2: {"walking_range_m": 400.0, "walking_restricted": False},
    3: {"walking_range_m": 250.0, "walking_restricted": False},
    4: {"walking_range_m": 150.0, "walking_restricted": False},
}
UNAIDED_ALIVE = {"assistance": "none", "died_of_ms": False}


def test_every_fs_combination_matches_the_kappos_transcription() -> None:
    """All 518,616 FS grade combinations (unrestricted walking), through the frame path; then
    one combination per distinct counted profile with ambulation scores 1–4."""
    sizes = [FS_MAX[n] + 1 for n in FS]
    grid = np.indices(sizes).reshape(len(FS), -1).T
    assert len(grid) == 7 * 6 * 7 * 6 * 7 * 7 * 6
    visual = np.array([VISUAL[g] for g in range(7)])[grid[:, 0]]
    bowel = np.array([BOWEL_BLADDER[g] for g in range(7)])[grid[:, 5]]
    cerebral = np.where(grid[:, 6] == 1, 0, grid[:, 6])
    counted = np.column_stack([visual, grid[:, 1:5], bowel, cerebral])
    ordered = np.sort(counted, axis=1)
    keys = ordered @ (7 ** np.arange(7))  # one integer per multiset of counted grades
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    profiles = ordered[first]
    assert len(profiles) > 1000
    frame = pd.DataFrame(grid, columns=list(FS))
    for score, inputs in AMBULATION_INPUTS.items():
        expected = np.array([_kappos_table(list(p), score) for p in profiles])
        rows = frame if score == 0 else frame.iloc[first]
        if score == 0:
            expected = expected[inverse.ravel()]
        graded = calculate_frame("edss", rows.assign(**inputs, **UNAIDED_ALIVE))
        mismatch = np.flatnonzero(graded["value"].to_numpy() != expected)
        assert mismatch.size == 0, (score, rows.iloc[mismatch[:5]].to_dict("records"))


def test_one_grade_4_rules_follow_the_kappos_transcription() -> None:
    # Known disagreement between open implementations: the R package EDSScalculator gives 4.0
    # for "one 4 + a grade 2" and 4.5 for "one 4 + three grade 3"; the Kurtzke text is
    # ambiguous. neurocart follows the Kappos-table transcription (4.5 and 5.0). Change here if
    # the Neurostatus table 04/10.3 says otherwise.
    assert edss(pyramidal=4, sensory=2, walking_range_m=600.0).value == 4.5
    three_3 = {"cerebellar": 3, "sensory": 3, "brainstem": 3}
    assert edss(pyramidal=4, **three_3, walking_range_m=600.0).value == 5.0


# ---------------------------------------------------------------------------------------------
# Warnings: neurocart checks, not Neurostatus rules


def _warned(result: Any, text: str) -> bool:
    return any(w.startswith(CHECK) and text in w for w in result.warnings)


def test_every_warning_is_labelled_as_a_neurocart_check() -> None:
    result = edss(pyramidal=5, walking_range_m=600.0, walking_restricted=False)
    assert result.warnings
    assert all(w.startswith(CHECK) for w in result.warnings)


def test_paraplegia_with_unrestricted_walking_is_flagged() -> None:
    result = edss(pyramidal=5, walking_range_m=600.0)
    assert result.value == 5.0  # still graded: FS 5.0 (Neurostatus allows FS to reach 5.0)
    assert _warned(result, "pyramidal 5")
    assert _warned(result, "FS alone give 5.0")
    assert _warned(edss(cerebellar=5, walking_range_m=250.0), "cerebellar 5")
    assert not _warned(edss(pyramidal=5, assistance="bilateral", walking_range_m=20.0), "hard to")


def test_walking_limitation_not_explained_by_fs_is_flagged() -> None:
    result = edss(pyramidal=1, sensory=1, walking_range_m=150.0)
    assert result.value == 5.5
    assert _warned(result, "not explained by the FS profile")
    assert not _warned(edss(pyramidal=3, walking_range_m=150.0), "not explained")


def test_fs_step_above_4_with_free_walking_is_informational() -> None:
    assert _warned(edss(pyramidal=4, sensory=2, walking_range_m=600.0), "FS alone give 4.5")
    assert not _warned(edss(pyramidal=4, walking_range_m=600.0), "FS alone give")


def test_aid_under_5_m_is_flagged() -> None:
    result = edss(assistance="unilateral", walking_range_m=2.0, pyramidal=4)
    assert result.value == 7.0
    assert _warned(result, "under 5 m")


def test_unaided_under_5_m_is_flagged() -> None:
    result = edss(walking_range_m=3.0, pyramidal=4)
    assert result.value == 6.0
    assert _warned(result, "only 3 m without aid")


def test_wheelchair_with_walking_range_is_flagged_and_follows_assistance() -> None:
    result = edss(assistance="wheelchair_self", walking_range_m=30.0, pyramidal=4)
    assert result.value == 7.0
    assert _warned(result, "contradicts wheelchair_self")
    assert not _warned(
        edss(assistance="wheelchair_self", walking_range_m=3.0, pyramidal=4), "contradicts"
    )


def test_walking_restricted_where_range_decides_is_flagged() -> None:
    result = edss(walking_range_m=250.0, walking_restricted=True, pyramidal=3)
    assert result.value == 5.0
    assert _warned(result, "walking_restricted")


def test_missing_walking_range_is_flagged() -> None:
    result = edss(pyramidal=2)
    assert result.value == 2.0
    assert _warned(result, "walking range not given")
    assert not _warned(edss(pyramidal=2, walking_range_m=600.0), "not given")


# ---------------------------------------------------------------------------------------------
# Bad input: rejected, naming the field


@pytest.mark.parametrize("name", FS)
def test_fs_grade_above_its_range_is_rejected(name: str) -> None:
    with pytest.raises(CalculatorInputError) as info:
        calculate("edss", {**fs(), name: FS_MAX[name] + 1, "walking_range_m": 600.0})
    assert info.value.fields == [name]
    assert f"0–{FS_MAX[name]}" in info.value.problems[0].message


@pytest.mark.parametrize(
    ("inputs", "field"),
    [
        ({"visual": 7}, "visual"),
        ({"pyramidal": -1}, "pyramidal"),
        ({"sensory": 2.5}, "sensory"),
        ({"sensory": 2.0}, "sensory"),
        ({"cerebellar": True}, "cerebellar"),
        ({"brainstem": "2"}, "brainstem"),
        ({"walking_range_m": -1.0}, "walking_range_m"),
        ({"walking_range_m": float("nan")}, "walking_range_m"),
        ({"walking_range_m": float("inf")}, "walking_range_m"),
        ({"walking_range_m": "600"}, "walking_range_m"),
        ({"assistance": "walker"}, "assistance"),
        ({"assistance": "None"}, "assistance"),
        ({"died_of_ms": "yes"}, "died_of_ms"),
        ({"other": 1}, "other"),
    ],
)
def test_bad_values_are_rejected(inputs: dict[str, Any], field: str) -> None:
    with pytest.raises(CalculatorInputError) as info:
        calculate("edss", {**fs(), "walking_range_m": 600.0, **inputs})
    assert info.value.fields == [field]


def test_missing_fs_grade_is_rejected() -> None:
    row = fs()
    del row["cerebral"]
    with pytest.raises(CalculatorInputError) as info:
        calculate("edss", row)
    assert info.value.fields == ["cerebral"]


@pytest.mark.parametrize(
    "inputs",
    [
        {"assistance": "unilateral"},
        {"assistance": "bilateral"},
        {"assistance": "bed_chair_arms", "walking_range_m": 5.0},
        {"assistance": "bed_chair_no_arms", "walking_range_m": 200.0},
        {"assistance": "bed_communicates", "walking_range_m": 1.0},
        {"assistance": "bed_helpless", "walking_range_m": 300.0},
        {"assistance": "bed_helpless", "walking_range_m": 1.0, "died_of_ms": True},
    ],
)
def test_contradictory_walking_inputs_are_rejected(inputs: dict[str, Any]) -> None:
    with pytest.raises(CalculatorInputError) as info:
        calculate("edss", {**fs(pyramidal=4), **inputs})
    assert info.value.fields == ["walking_range_m"]


def test_aid_without_range_is_accepted_after_death() -> None:
    assert edss(assistance="unilateral", died_of_ms=True).value == 10.0


def test_frame_names_the_offending_row() -> None:
    frame = pd.DataFrame(
        [
            {**fs(pyramidal=3), "walking_range_m": 600.0, "assistance": "none"},
            {**fs(pyramidal=7), "walking_range_m": 600.0, "assistance": "none"},
            {**fs(pyramidal=3), "walking_range_m": None, "assistance": "bilateral"},
        ]
    )
    with pytest.raises(CalculatorInputError) as info:
        calculate_frame("edss", frame)
    assert [(p.field, p.row) for p in info.value.problems] == [("pyramidal", 1)]
    with pytest.raises(CalculatorInputError) as info:
        calculate_frame("edss", frame.drop(index=1))
    assert [(p.field, p.row) for p in info.value.problems] == [("walking_range_m", 2)]


# ---------------------------------------------------------------------------------------------
# Properties

grades_st = st.fixed_dictionaries({name: st.integers(0, FS_MAX[name]) for name in FS})
range_st = st.one_of(st.none(), st.floats(0, 5000, allow_nan=False))


@st.composite
def walking(draw: st.DrawFn) -> dict[str, Any]:
    """A valid ambulation description (optional fields sometimes omitted)."""
    assistance = draw(st.sampled_from(ASSISTANCE_ORDER))
    out: dict[str, Any] = {}
    if assistance != "none" or draw(st.booleans()):
        out["assistance"] = assistance
    if assistance in ("unilateral", "bilateral"):
        out["walking_range_m"] = draw(st.floats(0, 5000, allow_nan=False))
    elif assistance in ("bed_communicates", "bed_helpless"):
        if draw(st.booleans()):
            out["walking_range_m"] = 0.0
    elif assistance in ("bed_chair_arms", "bed_chair_no_arms"):
        m = draw(st.one_of(st.none(), st.floats(0, 4.99, allow_nan=False)))
        if m is not None:
            out["walking_range_m"] = m
    else:
        m = draw(range_st)
        if m is not None:
            out["walking_range_m"] = m
    restricted = draw(st.sampled_from([None, False, True]))
    if restricted is not None:
        out["walking_restricted"] = restricted
    died = draw(st.sampled_from([None, False, False, False, True]))
    if died is not None:
        out["died_of_ms"] = died
    return out


@given(grades_st, walking())
def test_value_is_always_a_valid_step(grades: dict[str, int], amb: dict[str, Any]) -> None:
    result = calculate("edss", {**grades, **amb})
    assert result.value in VALID_STEPS
    assert isinstance(result.value, float)
    assert result.label.startswith("EDSS ")
    assert float(result.label.removeprefix("EDSS ")) == result.value
    assert (result.value == 10.0) == bool(amb.get("died_of_ms"))


@given(grades_st, walking(), st.sampled_from(FS), st.integers(1, 6))
def test_never_decreases_when_one_fs_grade_rises(
    grades: dict[str, int], amb: dict[str, Any], name: str, rise: int
) -> None:
    worse = {**grades, name: min(grades[name] + rise, FS_MAX[name])}
    assert calculate("edss", {**worse, **amb}).value >= calculate("edss", {**grades, **amb}).value


@given(
    grades_st,
    st.sampled_from(["none", "unilateral", "bilateral"]),
    st.floats(0, 5000, allow_nan=False),
    st.floats(0, 1, allow_nan=False),
    st.booleans(),
)
def test_never_decreases_when_walking_range_shrinks(
    grades: dict[str, int], assistance: str, m: float, fraction: float, restricted: bool
) -> None:
    base = {**grades, "assistance": assistance, "walking_restricted": restricted}
    longer = calculate("edss", {**base, "walking_range_m": m}).value
    shorter = calculate("edss", {**base, "walking_range_m": m * fraction}).value
    assert shorter >= longer
    if assistance == "none":  # range not given is read as unrestricted: the best case
        assert longer >= calculate("edss", base).value


@given(grades_st, st.floats(0, 5000, allow_nan=False), st.integers(0, 7), st.integers(1, 8))
def test_never_decreases_when_assistance_worsens(
    grades: dict[str, int], m: float, better: int, step: int
) -> None:
    worse = min(better + step, len(ASSISTANCE_ORDER) - 1)

    def graded(index: int) -> float:
        assistance = ASSISTANCE_ORDER[index]
        row: dict[str, Any] = {**grades, "assistance": assistance}
        if index < 5:  # walking and wheelchair categories keep the range
            row["walking_range_m"] = m
        return float(calculate("edss", row).value)

    assert graded(worse) >= graded(better)


@given(grades_st, walking())
def test_walking_restricted_and_death_never_lower_the_step(
    grades: dict[str, int], amb: dict[str, Any]
) -> None:
    base = calculate("edss", {**grades, **amb}).value
    assert calculate("edss", {**grades, **amb, "walking_restricted": True}).value >= base
    assert calculate("edss", {**grades, **amb, "died_of_ms": True}).value == 10.0


@settings(max_examples=60)
@given(st.lists(st.tuples(grades_st, walking()), min_size=1, max_size=15))
def test_frame_agrees_with_scalar(rows: list[tuple[dict[str, int], dict[str, Any]]]) -> None:
    assert_frame_agrees("edss", [{**g, **a} for g, a in rows])
