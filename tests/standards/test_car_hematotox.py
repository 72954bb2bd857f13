"""CAR-HEMATOTOX.

Source of the expected values: Rejeski K et al. Blood 2021;138(24):2499–2513 (the score:
platelets > 175 / 75–175 / < 75 ×10⁹/L → 0/1/2; ANC 1.2 ×10⁹/L; hemoglobin 9.0 g/dL = 90 g/L;
CRP 3.0 mg/dL = 30 mg/L; ferritin < 650 / 650–2000 / > 2000 ng/mL → 0/1/2; total 0–1 low,
≥ 2 high), with the inclusive edges neurocart adopted (module docstring, docs/calculators.md):
platelets 75 and 175 → 1, ferritin 650 and 2000 → 1, ANC 1.2 → 0, hemoglobin 90 → 0,
CRP 30 → 1. Those edges come from a secondary transcription of the paper's figure; the tests
pin them so that a correction after checking the paper's figure is a visible, deliberate change.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurocart.standards import CalculatorInputError, calculate

from .agreement import assert_frame_agrees

# every variable scores 0
HEALTHY = {
    "anc_10e9_l": 3.0,
    "hemoglobin_g_l": 130.0,
    "platelets_10e9_l": 250.0,
    "crp_mg_l": 2.0,
    "ferritin_ug_l": 200.0,
}


def score(**changes: float) -> Any:
    return calculate("car_hematotox", {**HEALTHY, **changes})


def test_all_normal_is_zero_low() -> None:
    result = score()
    assert result.value == 0
    assert result.label == "low"


@pytest.mark.parametrize(
    ("field", "value", "points"),
    [
        ("platelets_10e9_l", 176, 0),
        ("platelets_10e9_l", 175.01, 0),
        ("platelets_10e9_l", 175, 1),
        ("platelets_10e9_l", 100, 1),
        ("platelets_10e9_l", 75, 1),
        ("platelets_10e9_l", 74.99, 2),
        ("platelets_10e9_l", 0, 2),
        ("anc_10e9_l", 1.21, 0),
        ("anc_10e9_l", 1.2, 0),
        ("anc_10e9_l", 1.19, 1),
        ("anc_10e9_l", 0, 1),
        ("hemoglobin_g_l", 91, 0),
        ("hemoglobin_g_l", 90, 0),
        ("hemoglobin_g_l", 89.9, 1),
        ("crp_mg_l", 29.9, 0),
        ("crp_mg_l", 30, 1),
        ("crp_mg_l", 250, 1),
        ("ferritin_ug_l", 649.9, 0),
        ("ferritin_ug_l", 650, 1),
        ("ferritin_ug_l", 1200, 1),
        ("ferritin_ug_l", 2000, 1),
        ("ferritin_ug_l", 2000.1, 2),
        ("ferritin_ug_l", 15000, 2),
    ],
)
def test_each_boundary(field: str, value: float, points: int) -> None:
    result = score(**{field: value})
    assert result.value == points
    assert result.details["points"][field] == points
    assert result.label == ("high" if points >= 2 else "low")


@pytest.mark.parametrize(
    ("changes", "total", "label"),
    [
        ({"crp_mg_l": 30}, 1, "low"),
        ({"crp_mg_l": 30, "anc_10e9_l": 1.0}, 2, "high"),
        ({"ferritin_ug_l": 2500}, 2, "high"),
        ({"platelets_10e9_l": 160, "hemoglobin_g_l": 85}, 2, "high"),
        (
            {
                "platelets_10e9_l": 40,
                "anc_10e9_l": 0.5,
                "hemoglobin_g_l": 80,
                "crp_mg_l": 80,
                "ferritin_ug_l": 3000,
            },
            7,
            "high",
        ),
    ],
)
def test_totals_and_risk_label(changes: dict[str, float], total: int, label: str) -> None:
    result = score(**changes)
    assert result.value == total
    assert result.label == label


def test_reasons_itemize_and_state_scope() -> None:
    result = score(platelets_10e9_l=60, ferritin_ug_l=700)
    text = "\n".join(result.reasons)
    assert "platelets 60 ×10⁹/L (≤ 175 and < 75): 2 points" in text
    assert "ferritin 700 µg/L" in text
    assert "total 3 → high risk" in text
    assert "lymphoma" in text
    assert "in autoimmune disease it is a risk indication only, not validated" in text
    assert "Rejeski" in result.citation


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("anc_10e9_l", -1),
        ("anc_10e9_l", 1500),  # per µL, not ×10⁹/L
        ("hemoglobin_g_l", 9.5),  # g/dL, not g/L
        ("platelets_10e9_l", -5),
        ("platelets_10e9_l", 180000),
        ("crp_mg_l", -0.1),
        ("ferritin_ug_l", -10),
        ("crp_mg_l", True),
    ],
)
def test_bad_input_names_field(field: str, value: Any) -> None:
    with pytest.raises(CalculatorInputError) as info:
        score(**{field: value})
    assert info.value.fields == [field]


def test_missing_field_named() -> None:
    inputs = dict(HEALTHY)
    del inputs["ferritin_ug_l"]
    with pytest.raises(CalculatorInputError) as info:
        calculate("car_hematotox", inputs)
    assert info.value.fields == ["ferritin_ug_l"]


# --- properties -------------------------------------------------------------------------

values = st.fixed_dictionaries(
    {
        "anc_10e9_l": st.floats(0, 10) | st.sampled_from([1.2, 1.19]),
        "hemoglobin_g_l": st.floats(20, 180) | st.sampled_from([90.0, 89.9]),
        "platelets_10e9_l": st.floats(0, 500) | st.sampled_from([75.0, 175.0, 74.9, 175.1]),
        "crp_mg_l": st.floats(0, 300) | st.sampled_from([30.0, 29.9]),
        "ferritin_ug_l": st.floats(0, 10000) | st.sampled_from([650.0, 2000.0, 2000.1]),
    }
)


@given(values, st.floats(0, 1))
def test_score_never_decreases_as_counts_fall(row: dict[str, float], fraction: float) -> None:
    base = calculate("car_hematotox", row)
    assert 0 <= base.value <= 7
    for field, floor in (("anc_10e9_l", 0), ("hemoglobin_g_l", 20), ("platelets_10e9_l", 0)):
        lower = {**row, field: floor + (row[field] - floor) * fraction}
        assert calculate("car_hematotox", lower).value >= base.value, field


@given(values, st.floats(0, 1))
def test_score_never_decreases_as_inflammation_rises(row: dict[str, float], more: float) -> None:
    base = calculate("car_hematotox", row)
    for field, ceiling in (("crp_mg_l", 1000), ("ferritin_ug_l", 500000)):
        higher = {**row, field: row[field] + (ceiling - row[field]) * more}
        assert calculate("car_hematotox", higher).value >= base.value, field


@settings(max_examples=60)
@given(st.lists(values, min_size=1, max_size=25))
def test_frame_agrees(rows: list[dict[str, float]]) -> None:
    assert_frame_agrees("car_hematotox", rows)
