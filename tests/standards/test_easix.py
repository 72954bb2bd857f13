"""EASIX and m-EASIX.

Sources: Luft T et al. Lancet Haematol 2017;4:e414 (EASIX = LDH × creatinine ÷ platelets);
Pennisi M et al. Blood Adv 2021;5:3397 (m-EASIX = LDH × CRP ÷ platelets, CRP in mg/dL).
Unit conversions: creatinine 88.42 µmol/L = 1 mg/dL; CRP 10 mg/L = 1 mg/dL.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neurocart.standards import CalculatorInputError, calculate

from .agreement import assert_frame_agrees


def test_easix_worked_example() -> None:
    # LDH 250 U/L, creatinine 1 mg/dL (88.42 µmol/L), platelets 100 → 250 × 1 / 100 = 2.5
    result = calculate(
        "easix", {"ldh_u_l": 250, "creatinine_umol_l": 88.42, "platelets_10e9_l": 100}
    )
    assert result.value == pytest.approx(2.5)
    assert "88.42" in result.reasons[0]
    assert "Luft" in result.citation


def test_m_easix_worked_example() -> None:
    # LDH 400 U/L, CRP 50 mg/L = 5 mg/dL, platelets 40 → 400 × 5 / 40 = 50
    result = calculate("m_easix", {"ldh_u_l": 400, "crp_mg_l": 50, "platelets_10e9_l": 40})
    assert result.value == pytest.approx(50.0)
    assert "Pennisi" in result.citation


def test_zero_platelets_rejected_naming_field() -> None:
    with pytest.raises(CalculatorInputError) as info:
        calculate("m_easix", {"ldh_u_l": 400, "crp_mg_l": 50, "platelets_10e9_l": 0})
    assert info.value.fields == ["platelets_10e9_l"]


ldh = st.floats(1, 5000)
crp = st.floats(0, 500)
plt = st.floats(1, 1000)


@given(ldh, crp, plt, st.floats(0, 100))
def test_m_easix_rises_with_crp(ldh_: float, crp_: float, plt_: float, more: float) -> None:
    base = calculate("m_easix", {"ldh_u_l": ldh_, "crp_mg_l": crp_, "platelets_10e9_l": plt_})
    worse = calculate(
        "m_easix", {"ldh_u_l": ldh_, "crp_mg_l": min(crp_ + more, 1000), "platelets_10e9_l": plt_}
    )
    assert worse.value >= base.value
    assert math.isfinite(base.value)
    assert base.value >= 0


@given(st.lists(st.tuples(ldh, st.floats(10, 2000), plt), min_size=1, max_size=20))
def test_easix_frame_agrees(rows: list[tuple[float, float, float]]) -> None:
    assert_frame_agrees(
        "easix",
        [{"ldh_u_l": a, "creatinine_umol_l": b, "platelets_10e9_l": c} for a, b, c in rows],
    )
