"""Unit conversion: every factor against a hand-computed value, spelling folds, properties.

Hand computations (the factor's origin in brackets):
98.6 °F = (98.6 − 32) × 5/9 = 37.0 °C; 310.15 K − 273.15 = 37.0 °C;
creatinine 1 mg/dL = 88.42 µmol/L [clinical convention, the anchor of `neurocart.ingest.units`];
bilirubin 1 mg/dL = 10 mg/L ÷ 584.66 g/mol = 17.104 µmol/L;
triglycerides 265 mg/dL ÷ 88.57 = 2.992 mmol/L (the HLH-2004 "265 mg/dL ≈ 3.0 mmol/L");
IgG 400 mg/dL = 4000 mg/L = 4 g/L; platelets 150,000/µL × 10⁶ µL/L = 150 × 10⁹/L;
hemoglobin 7.5 mmol/L (haem monomer, 16,114.5 g/mol) = 120.86 g/L; 1 µkat/L = 60 U/L;
16 kPa × (760 / 101.325 = 7.50062) = 120.0099 mmHg.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neurocart.ingest import codes, lookup, unit_key
from neurocart.ingest.codes import LOCAL
from neurocart.ingest.units import Conversion, build_table

HAND_COMPUTED = [
    # (code, system, value, unit, expected canonical value)
    ("8310-5", None, 98.6, "°F", 37.0),
    ("8310-5", None, 104.0, "[degF]", 40.0),
    ("8310-5", None, 95.0, "℉", 35.0),
    ("8310-5", None, 310.15, "K", 37.0),
    ("8310-5", None, 38.3, "Cel", 38.3),
    ("8310-5", None, 38.3, "℃", 38.3),
    ("8867-4", None, 88.0, "bpm", 88.0),
    ("9279-1", None, 18.0, "breaths/min", 18.0),
    ("8480-6", None, 16.0, "kPa", 120.009869233),
    ("8462-4", None, 80.0, "mm[Hg]", 80.0),
    ("59408-5", None, 97.0, "%", 97.0),
    ("1988-5", None, 3.2, "mg/dL", 32.0),
    ("1988-5", None, 32.0, "µg/mL", 32.0),
    ("2276-4", None, 800.0, "ng/mL", 800.0),
    ("2276-4", None, 0.8, "mg/L", 800.0),
    ("26881-3", None, 45.0, "pg/mL", 45.0),
    ("26881-3", None, 1.5, "ng/mL", 1500.0),
    ("751-8", None, 1500.0, "cells/µL", 1.5),
    ("751-8", None, 1.5, "10^3/µL", 1.5),
    ("777-3", None, 150_000.0, "/µL", 150.0),
    ("777-3", None, 150_000.0, "/uL", 150.0),
    ("777-3", None, 150_000.0, "cells/mm³", 150.0),
    ("777-3", None, 150_000.0, "/mm3", 150.0),
    ("777-3", None, 150.0, "K/µL", 150.0),
    ("777-3", None, 150.0, "G/L", 150.0),
    ("777-3", None, 150.0, "10*9/L", 150.0),
    ("731-0", None, 0.2, "x10E9/L", 0.2),
    ("6690-2", None, 4_500.0, "/µL", 4.5),
    ("718-7", None, 12.5, "g/dL", 125.0),
    ("718-7", None, 7.5, "mmol/L", 120.85875),
    ("2160-0", None, 1.0, "mg/dL", 88.42),
    ("2160-0", None, 10.0, "mg/L", 88.42),
    ("2160-0", None, 0.1, "mmol/L", 100.0),
    ("2465-3", None, 400.0, "mg/dL", 4.0),
    ("2465-3", None, 4000.0, "mg/L", 4.0),
    ("3255-7", None, 300.0, "mg/dL", 3.0),
    ("3255-7", None, 0.3, "g/dL", 3.0),
    ("1975-2", None, 1.0, "mg/dL", 17.104),
    ("2571-8", None, 265.0, "mg/dL", 2.99198374167),
    ("2532-0", None, 5.0, "µkat/L", 300.0),
    ("2532-0", None, 250.0, "IU/L", 250.0),
    ("1742-6", None, 500.0, "nkat/L", 30.0),
    ("2157-6", None, 12.0, "kU/L", 12_000.0),
    ("local:nfl_serum", LOCAL, 12.0, "pg/mL", 12.0),
    ("local:cart_copies_blood", LOCAL, 50.0, "copies/ng DNA", 50_000.0),
    ("local:cart_copies_csf", LOCAL, 1200.0, "copies/ug DNA", 1200.0),
    ("local:car_t_cells_csf", LOCAL, 0.02, "×10⁹/L", 20.0),
    ("local:car_t_cells_blood", LOCAL, 35.0, "/µL", 35.0),
    ("local:cd19_b_cells", LOCAL, 0.0, "cells/mm3", 0.0),
    ("local:achr_ab", LOCAL, 0.5, "µmol/L", 500.0),
    ("local:aqp4_igg_titer", LOCAL, 160.0, "{titer}", 160.0),
]


@pytest.mark.parametrize(("code", "system", "value", "unit", "expected"), HAND_COMPUTED)
def test_hand_computed(
    code: str, system: str | None, value: float, unit: str, expected: float
) -> None:
    entry = lookup(code) if system is None else lookup(code, system)
    conversion = entry.units.find(unit)
    assert conversion is not None, f"{unit!r} not accepted for {code}"
    assert conversion.to_canonical(value) == pytest.approx(expected, rel=1e-11, abs=1e-12)


def test_converted_values_carry_no_float_noise() -> None:
    fahrenheit = lookup("8310-5").units.find("°F")
    assert fahrenheit is not None
    assert fahrenheit.to_canonical(98.6) == 37.0
    assert fahrenheit.to_canonical(100.4) == 38.0  # unrounded: 38.00000000000001


@pytest.mark.parametrize(
    ("code", "unit"),
    [
        ("751-8", "%"),  # a differential in % needs the white count: not a unit conversion
        ("8310-5", "mg/L"),
        ("777-3", "g/dL"),
        ("2160-0", "U/L"),
        ("59408-5", "1"),  # fractions refused on purpose (0.97 vs 97 %)
        ("9279-1", "bpm"),  # beats are for the heart
        ("1988-5", "mmol/L"),  # CRP has no molar bridge
        ("718-7", "bananas"),
    ],
)
def test_not_convertible(code: str, unit: str) -> None:
    assert lookup(code).units.find(unit) is None


@pytest.mark.parametrize(
    "spellings",
    [
        ["×10⁹/L", "10^9/L", "10*9/L", "10E9/L", "10e9/l", "x10⁹/L", "x10^9/L", " 10^9 / L "],
        ["µg/L", "μg/L", "ug/L", "mcg/L", "UG/L"],
        ["°C", "℃", "°c"],
        ["cells/mm³", "cells/mm3", "cells/mm^3"],
        ["mg/dL", "mg/dl", "MG/DL", "mg / dL"],
    ],
)
def test_spellings_fold_to_one_key(spellings: list[str]) -> None:
    assert len({unit_key(s) for s in spellings}) == 1


def test_giga_and_gram_never_share_a_table() -> None:
    platelets = lookup("777-3").units.find("G/L")
    hemoglobin = lookup("718-7").units.find("G/L")
    assert platelets is not None
    assert platelets.canonical == "×10⁹/L"
    assert hemoglobin is not None
    assert hemoglobin.canonical == "g/L"


def test_colliding_spellings_are_refused() -> None:
    with pytest.raises(ValueError, match="share the key"):
        build_table("mg/L", bridges=(("MG/DL", 5.0),))
    with pytest.raises(ValueError, match="no conversions"):
        build_table("furlongs")


ALL_CONVERSIONS = [
    pytest.param(c, id=f"{entry.key}:{c.unit}")
    for entry in codes()
    for c in entry.units.exact.values()
]


@pytest.mark.parametrize("conversion", ALL_CONVERSIONS)
def test_every_factor_is_positive_and_finite(conversion: Conversion) -> None:
    assert conversion.factor > 0
    assert math.isfinite(conversion.factor)
    assert math.isfinite(conversion.offset)


def test_every_canonical_unit_converts_to_itself() -> None:
    for entry in codes():
        own = entry.units.find(entry.unit)
        assert own is not None, entry.key
        assert own.is_identity, entry.key
        assert entry.units.accepted[0] == entry.unit


conversions = st.sampled_from([p.values[0] for p in ALL_CONVERSIONS])
magnitudes = st.floats(-1e7, 1e7, allow_nan=False, allow_infinity=False)


@given(conversion=conversions, value=magnitudes)
def test_round_trip(conversion: Conversion, value: float) -> None:
    back = conversion.from_canonical(conversion.to_canonical(value))
    scale = abs(value) + abs(conversion.offset) + 1e-300
    assert abs(back - value) <= 1e-10 * scale


@given(conversion=conversions, a=magnitudes, b=magnitudes)
def test_monotone(conversion: Conversion, a: float, b: float) -> None:
    low, high = min(a, b), max(a, b)
    assert conversion.to_canonical(low) <= conversion.to_canonical(high)
