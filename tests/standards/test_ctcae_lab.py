"""CTCAE v5.0 laboratory decreases.

Source of the expected values: National Cancer Institute, Common Terminology Criteria for
Adverse Events v5.0 (2017), terms "Neutrophil count decreased", "Platelet count decreased",
"Lymphocyte count decreased", "White blood cell decreased" and "Anemia" (Investigations and
Blood and lymphatic system disorders SOCs), converted to ×10⁹/L and g/L. "< 1.5 – 1.0" reads
value < 1.5 and ≥ 1.0; a value at or above the LLN is grade 0. Default LLNs are
neurocart's convention (listed in the module docstring).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurocart.standards import CalculatorInputError, calculate

from .agreement import assert_frame_agrees

NEUT = "neutrophil_count_decreased"
PLT = "platelet_count_decreased"
LYMPH = "lymphocyte_count_decreased"
WBC = "white_blood_cell_decreased"
ANEMIA = "anemia"

# (term, value, expected grade) at and just around every edge, default LLN.
BOUNDARIES = [
    # neutrophils: LLN 1.8 | 1.5 | 1.0 | 0.5
    (NEUT, 5.0, 0),
    (NEUT, 1.8, 0),
    (NEUT, 1.79, 1),
    (NEUT, 1.5, 1),
    (NEUT, 1.49, 2),
    (NEUT, 1.0, 2),
    (NEUT, 0.99, 3),
    (NEUT, 0.5, 3),
    (NEUT, 0.49, 4),
    (NEUT, 0.0, 4),
    # platelets: LLN 150 | 75 | 50 | 25
    (PLT, 300, 0),
    (PLT, 150, 0),
    (PLT, 149, 1),
    (PLT, 75, 1),
    (PLT, 74.9, 2),
    (PLT, 50, 2),
    (PLT, 49, 3),
    (PLT, 25, 3),
    (PLT, 24.9, 4),
    (PLT, 0, 4),
    # lymphocytes: LLN 1.0 | 0.8 | 0.5 | 0.2
    (LYMPH, 2.0, 0),
    (LYMPH, 1.0, 0),
    (LYMPH, 0.99, 1),
    (LYMPH, 0.8, 1),
    (LYMPH, 0.79, 2),
    (LYMPH, 0.5, 2),
    (LYMPH, 0.49, 3),
    (LYMPH, 0.2, 3),
    (LYMPH, 0.19, 4),
    (LYMPH, 0.0, 4),
    # white blood cells: LLN 4.0 | 3.0 | 2.0 | 1.0
    (WBC, 7.0, 0),
    (WBC, 4.0, 0),
    (WBC, 3.99, 1),
    (WBC, 3.0, 1),
    (WBC, 2.99, 2),
    (WBC, 2.0, 2),
    (WBC, 1.99, 3),
    (WBC, 1.0, 3),
    (WBC, 0.99, 4),
    (WBC, 0.0, 4),
    # anemia (g/L): LLN 120 | 100 | 80 ; grade 4 never from the value
    (ANEMIA, 150, 0),
    (ANEMIA, 120, 0),
    (ANEMIA, 119, 1),
    (ANEMIA, 100, 1),
    (ANEMIA, 99.9, 2),
    (ANEMIA, 80, 2),
    (ANEMIA, 79.9, 3),
    (ANEMIA, 40, 3),
    (ANEMIA, 20, 3),
]


@pytest.mark.parametrize(("term", "value", "grade"), BOUNDARIES)
def test_boundaries_default_lln(term: str, value: float, grade: int) -> None:
    result = calculate("ctcae_lab", {"term": term, "value": value})
    assert result.value == grade
    assert result.label == f"grade {grade}"
    assert "default LLN" in result.reasons[1]


@pytest.mark.parametrize(
    ("term", "value", "lln", "grade"),
    [
        # a laboratory LLN moves only the 0/1 edge
        (NEUT, 1.9, 2.0, 1),
        (NEUT, 2.0, 2.0, 0),
        (PLT, 140, 140, 0),
        (PLT, 139, 140, 1),
        (ANEMIA, 125, 130, 1),
        (ANEMIA, 115, 115, 0),
        (LYMPH, 1.1, 1.2, 1),
        (WBC, 3.4, 3.5, 1),
    ],
)
def test_laboratory_lln(term: str, value: float, lln: float, grade: int) -> None:
    result = calculate("ctcae_lab", {"term": term, "value": value, "lln": lln})
    assert result.value == grade
    assert "laboratory LLN" in result.reasons[1]
    assert result.details["lln_source"] == "laboratory"


@pytest.mark.parametrize(
    ("value", "grade"),
    [
        (1.5, 0),  # ≥ LLN 1.4: inside this laboratory's normal range
        (1.45, 0),
        (1.4, 0),
        (1.39, 2),  # below the LLN and < 1.5: grade 2 by the fixed table; grade 1 is empty
        (1.0, 2),
        (0.99, 3),
        (0.49, 4),
    ],
)
def test_lln_below_grade2_cutoff_empties_grade1(value: float, grade: int) -> None:
    # neurocart's documented choice (module docstring): the table's fixed cut-offs apply.
    result = calculate("ctcae_lab", {"term": NEUT, "value": value, "lln": 1.4})
    assert result.value == grade
    assert any("grade-1 interval is empty" in w for w in result.warnings)


def test_lln_at_grade2_cutoff_warns() -> None:
    result = calculate("ctcae_lab", {"term": PLT, "value": 80, "lln": 75})
    assert result.value == 0
    assert any("grade-1 interval is empty" in w for w in result.warnings)


def test_ordinary_lln_has_no_warning() -> None:
    assert calculate("ctcae_lab", {"term": NEUT, "value": 1.6}).warnings == []


def test_anemia_grade3_warns_that_grade4_needs_judgement() -> None:
    result = calculate("ctcae_lab", {"term": ANEMIA, "value": 62})
    assert result.value == 3
    assert any("grade 4" in w and "clinical judgement" in w for w in result.warnings)
    assert calculate("ctcae_lab", {"term": ANEMIA, "value": 85}).warnings == []


def test_reasons_name_the_interval() -> None:
    result = calculate("ctcae_lab", {"term": PLT, "value": 60})
    assert "< 75 and ≥ 50" in result.reasons[0]
    assert "grade 2" in result.reasons[0]
    assert "CTCAE" in result.citation


@pytest.mark.parametrize(
    ("inputs", "field"),
    [
        ({"term": NEUT, "value": -0.1}, "value"),
        ({"term": NEUT, "value": 250}, "value"),  # per-term maximum
        ({"term": PLT, "value": 150000}, "value"),  # per µL, not ×10⁹/L
        ({"term": ANEMIA, "value": 9.5}, "value"),  # g/dL, not g/L
        ({"term": ANEMIA, "value": 300}, "value"),
        ({"term": NEUT, "value": 1.0, "lln": 0}, "lln"),
        ({"term": NEUT, "value": 1.0, "lln": -1}, "lln"),
        ({"term": NEUT, "value": 1.0, "lln": 15}, "lln"),
        ({"term": PLT, "value": 100, "lln": 150000}, "lln"),
        ({"term": ANEMIA, "value": 100, "lln": 12}, "lln"),  # g/dL LLN
        ({"term": "neutropenia", "value": 1.0}, "term"),
        ({"term": NEUT, "value": "1.0"}, "value"),
        ({"term": NEUT}, "value"),
        ({"term": NEUT, "value": 1.0, "uln": 3}, "uln"),
    ],
)
def test_bad_input_names_field(inputs: dict[str, Any], field: str) -> None:
    with pytest.raises(CalculatorInputError) as info:
        calculate("ctcae_lab", inputs)
    assert field in info.value.fields


# --- properties -------------------------------------------------------------------------

TERM_RANGES: dict[str, tuple[float, float, float, float]] = {
    # term: (value min, value max, lln min, lln max) — within the plausibility checks
    NEUT: (0.0, 200.0, 0.1, 10.0),
    PLT: (0.0, 5000.0, 10.0, 500.0),
    LYMPH: (0.0, 1000.0, 0.1, 10.0),
    WBC: (0.0, 1000.0, 0.5, 20.0),
    ANEMIA: (20.0, 250.0, 50.0, 200.0),
}


@st.composite
def rows(draw: st.DrawFn) -> dict[str, Any]:
    term = draw(st.sampled_from(list(TERM_RANGES)))
    vmin, vmax, lmin, lmax = TERM_RANGES[term]
    # mostly values near the cut-offs, sometimes anywhere in range
    value = draw(st.floats(vmin, min(vmax, 3 * lmax)) | st.floats(vmin, vmax))
    row: dict[str, Any] = {"term": term, "value": value}
    if draw(st.booleans()):
        row["lln"] = draw(st.floats(lmin, lmax))
    return row


@given(rows(), st.floats(0, 1))
def test_grade_never_decreases_as_value_falls(row: dict[str, Any], fraction: float) -> None:
    vmin = TERM_RANGES[row["term"]][0]
    lower = {**row, "value": vmin + (row["value"] - vmin) * fraction}
    base = calculate("ctcae_lab", row)
    worse = calculate("ctcae_lab", lower)
    assert worse.value >= base.value
    assert 0 <= base.value <= (3 if row["term"] == ANEMIA else 4)


@given(rows())
def test_grade_never_decreases_as_lln_rises(row: dict[str, Any]) -> None:
    lmax = TERM_RANGES[row["term"]][3]
    # the given LLN, or the default one, is never above lmax
    low_lln = calculate("ctcae_lab", row)
    high_lln = calculate("ctcae_lab", {**row, "lln": lmax})
    assert high_lln.value >= low_lln.value


@settings(max_examples=60)
@given(st.lists(rows(), min_size=1, max_size=25))
def test_frame_agrees(batch: list[dict[str, Any]]) -> None:
    assert_frame_agrees("ctcae_lab", batch)
