"""ocb_pattern, titre_change, antibody_level, irods_raw.

Sources: Freedman MS, et al. Arch Neurol 2005 and Andersson M, et al. JNNP 1994 (five OCB
patterns); 2017 McDonald criteria (≥ 2 CSF-restricted bands); Nasello M, et al. Brain Commun
2025 (≥ 2-fold AQP4-IgG rise); Mayo ARBI/NMS1, Quest and ARUP test catalogues (assay cut-offs);
van Nes SI, et al. Neurology 2011 (I-RODS items 0–2). Worked examples O1–O9, A1–A9, B1–B7,
R1–R5.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neurocart.standards import CalculatorInputError, calculate

from .agreement import assert_frame_agrees


@pytest.mark.parametrize(
    ("inputs", "value"),
    [
        ({"csf_restricted_bands": 0, "identical_bands": 0}, 1),
        ({"csf_restricted_bands": 5, "identical_bands": 0}, 2),
        ({"csf_restricted_bands": 3, "identical_bands": 4}, 3),
        ({"csf_restricted_bands": 0, "identical_bands": 6}, 4),
        ({"csf_restricted_bands": 0, "identical_bands": 0, "monoclonal": True}, 5),
        ({"csf_restricted_bands": 1, "identical_bands": 0}, 1),
        ({"csf_restricted_bands": 3, "identical_bands": 0, "csf_specific_threshold": 4}, 1),
        ({"csf_restricted_bands": 1, "identical_bands": 3}, 4),
        ({"csf_restricted_bands": 2, "monoclonal": True}, 3),
        ({"csf_restricted_bands": 2, "identical_bands": 0}, 2),
        ({"csf_restricted_bands": 0, "identical_bands": 2}, 4),
        ({"csf_restricted_bands": 4, "identical_bands": 0, "csf_specific_threshold": 4}, 2),
    ],
    ids=[
        "O1",
        "O2",
        "O3",
        "O4",
        "O5",
        "O6",
        "O7",
        "O8",
        "monoclonal+restricted",
        "two-restricted",
        "two-identical",
        "four-of-threshold-4",
    ],
)
def test_ocb_worked_examples(inputs: dict[str, Any], value: int) -> None:
    result = calculate("ocb_pattern", inputs)
    assert result.value == value
    assert result.details["csf_specific_positive"] is (value in (2, 3))


def test_ocb_o9_negative_count_is_refused() -> None:
    with pytest.raises(CalculatorInputError) as info:
        calculate("ocb_pattern", {"csf_restricted_bands": -1})
    assert info.value.fields == ["csf_restricted_bands"]


def test_ocb_single_identical_band_warns() -> None:
    result = calculate("ocb_pattern", {"csf_restricted_bands": 0, "identical_bands": 1})
    assert result.value == 1
    assert any("monoclonal" in w for w in result.warnings)


@given(st.integers(0, 30), st.integers(0, 30), st.booleans(), st.integers(1, 6),
       st.integers(0, 10))  # fmt: skip
def test_ocb_more_restricted_bands_never_lose_csf_specificity(
    restricted: int, identical: int, mono: bool, threshold: int, more: int
) -> None:
    def positive(n: int) -> bool:
        inputs = {
            "csf_restricted_bands": n,
            "identical_bands": identical,
            "monoclonal": mono,
            "csf_specific_threshold": threshold,
        }
        r = calculate("ocb_pattern", inputs)
        return bool(r.details["csf_specific_positive"])

    assert positive(restricted + more) >= positive(restricted)


@given(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20), st.booleans()), min_size=1,
                max_size=20))  # fmt: skip
def test_ocb_frame_agrees(rows: list[tuple[int, int, bool]]) -> None:
    assert_frame_agrees(
        "ocb_pattern",
        [{"csf_restricted_bands": a, "identical_bands": b, "monoclonal": m} for a, b, m in rows],
    )


@pytest.mark.parametrize(
    ("inputs", "value", "label"),
    [
        ({"baseline_titre": 640, "follow_up_titre": 160}, -2, "fall"),
        ({"baseline_titre": 160, "follow_up_titre": 0}, -5, "seroreversion"),
        ({"baseline_titre": 320, "follow_up_titre": 640}, 1, "rise"),
        ({"baseline_titre": 80, "follow_up_titre": 40}, -1, "stable"),
        ({"baseline_titre": 0, "follow_up_titre": 0}, 0, "persistently_negative"),
        ({"baseline_titre": 0, "follow_up_titre": 20}, 2, "seroconversion"),
        ({"baseline_titre": 5, "follow_up_titre": 0, "starting_dilution": 5}, -1,
         "seroreversion"),
        ({"baseline_titre": 1000, "follow_up_titre": 10, "dilution_factor": 10}, -2, "fall"),
        ({"baseline_titre": 640, "follow_up_titre": 160, "fall_steps_threshold": 3}, -2,
         "stable"),
    ],
    ids=["A1", "A2", "A3", "A4", "A5", "A6", "A8", "A9", "threshold-3"],
)  # fmt: skip
def test_titre_change_worked_examples(inputs: dict[str, Any], value: int, label: str) -> None:
    result = calculate("titre_change", inputs)
    assert (result.value, result.label) == (value, label)


def test_titre_a7_not_on_series_names_both_fields() -> None:
    with pytest.raises(CalculatorInputError) as info:
        calculate("titre_change", {"baseline_titre": 100, "follow_up_titre": 50})
    assert info.value.fields == ["baseline_titre", "follow_up_titre"]


def test_titre_below_start_is_not_on_series() -> None:
    with pytest.raises(CalculatorInputError) as info:
        calculate("titre_change", {"baseline_titre": 5, "follow_up_titre": 10})
    assert info.value.fields == ["baseline_titre"]


@given(st.integers(-1, 12), st.integers(-1, 12), st.integers(0, 3))
def test_titre_change_rises_with_the_follow_up(k0: int, k1: int, more: int) -> None:
    def titre(k: int) -> int:
        return 0 if k < 0 else 10 * 2**k

    a = calculate("titre_change", {"baseline_titre": titre(k0), "follow_up_titre": titre(k1)})
    b = calculate("titre_change", {"baseline_titre": titre(k0),
                                   "follow_up_titre": titre(min(k1 + more, 12))})  # fmt: skip
    assert a.value == k1 - k0
    assert b.number >= a.number


def test_titre_frame_agrees() -> None:
    rows = [{"baseline_titre": a, "follow_up_titre": b} for a in (0, 10, 640) for b in (0, 20, 160)]
    assert_frame_agrees("titre_change", rows)


@pytest.mark.parametrize(
    ("inputs", "value"),
    [
        ({"assay": "mayo_achr_ria", "value": 0.15}, "positive"),
        ({"assay": "mayo_achr_ria", "value": 0.02}, "negative"),
        ({"assay": "quest_achr_ria", "value": 0.30}, "negative"),
        ({"assay": "quest_achr_ria", "value": 0.45}, "equivocal"),
        ({"assay": "quest_achr_ria", "value": 0.50}, "positive"),
        ({"assay": "mayo_hmgcr_cia", "value": 19.9}, "negative"),
        ({"assay": "mayo_hmgcr_cia", "value": 20.0}, "positive"),
        ({"assay": "hmgcr_elisa_units", "value": 45}, "positive"),
        ({"assay": "custom", "value": 0.40, "negative_max": 0.25, "positive_min": 0.40},
         "positive"),
        ({"assay": "custom", "value": 0.30, "negative_max": 0.25, "positive_min": 0.40},
         "equivocal"),
        ({"assay": "quest_achr_ria", "value": 5.0, "below_lod": True}, "negative"),
    ],
    ids=["B1", "mayo-edge", "B2", "B3", "B4", "B5", "cia-edge", "B6", "B7", "custom-eq", "lod"],
)  # fmt: skip
def test_antibody_level_worked_examples(inputs: dict[str, Any], value: str) -> None:
    result = calculate("antibody_level", inputs)
    assert result.value == value
    if inputs["assay"] == "hmgcr_elisa_units":
        assert result.details["grade"] == "moderate"


@pytest.mark.parametrize(
    ("inputs", "field"),
    [
        ({"assay": "custom", "value": 0.3}, "negative_max"),
        ({"assay": "mayo_achr_ria", "value": 0.3, "negative_max": 0.1}, "negative_max"),
        ({"assay": "custom", "value": 0.3, "negative_max": 0.5, "positive_min": 0.4},
         "positive_min"),
        ({"assay": "elisa", "value": 0.3}, "assay"),
        ({"assay": "quest_achr_ria", "value": -1}, "value"),
    ],
)  # fmt: skip
def test_antibody_level_bad_input(inputs: dict[str, Any], field: str) -> None:
    with pytest.raises(CalculatorInputError) as info:
        calculate("antibody_level", inputs)
    assert field in info.value.fields


@given(st.floats(0, 2), st.floats(0, 2))
def test_antibody_level_never_falls_as_the_value_rises(v: float, more: float) -> None:
    order = {"negative": 0, "equivocal": 1, "positive": 2}
    a = calculate("antibody_level", {"assay": "quest_achr_ria", "value": v}).value
    b = calculate("antibody_level", {"assay": "quest_achr_ria", "value": v + more}).value
    assert order[str(b)] >= order[str(a)]


def test_antibody_level_frame_agrees() -> None:
    rows = [{"assay": a, "value": v} for a in ("mayo_achr_ria", "quest_achr_ria",
            "hmgcr_elisa_units") for v in (0.0, 0.02, 0.3, 0.4, 0.5, 19.9, 20.0)]  # fmt: skip
    assert_frame_agrees("antibody_level", rows)


@pytest.mark.parametrize(
    ("items", "value"),
    [([2] * 24, 48), ([0] * 24, 0), ([2] * 12 + [1] * 12, 36)],
    ids=["R1", "R2", "R3"],
)
def test_irods_raw(items: list[int], value: int) -> None:
    assert calculate("irods_raw", {"items": items}).value == value


@pytest.mark.parametrize(
    "items", [[2] * 23, [2] * 23 + [3], [2] * 23 + [True]], ids=["R4", "R5", "bool"]
)
def test_irods_raw_refuses(items: list[Any]) -> None:
    with pytest.raises(CalculatorInputError) as info:
        calculate("irods_raw", {"items": items})
    assert info.value.fields[0].startswith("items")
