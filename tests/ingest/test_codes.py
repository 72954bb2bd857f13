"""The observation catalogue: DESIGN.md's codes and units, ranges, lookups, store agreement."""

from __future__ import annotations

import pytest

from neurocart.ingest import (
    CATALOGUE,
    LOCAL,
    LOINC,
    Specimen,
    UnknownCodeError,
    by_key,
    codes,
    lookup,
)

# DESIGN.md "Units and codes" plus the list: LOINC code → canonical unit.
LOINC_UNITS = {
    "8310-5": "°C",
    "8867-4": "/min",
    "8480-6": "mmHg",
    "8462-4": "mmHg",
    "59408-5": "%",
    "9279-1": "/min",
    "1988-5": "mg/L",
    "2276-4": "µg/L",
    "26881-3": "ng/L",
    "751-8": "×10⁹/L",
    "777-3": "×10⁹/L",
    "718-7": "g/L",
    "731-0": "×10⁹/L",
    "6690-2": "×10⁹/L",
    "2532-0": "U/L",
    "2160-0": "µmol/L",
    "2465-3": "g/L",
    "3255-7": "g/L",
    "1742-6": "U/L",
    "1920-8": "U/L",
    "1975-2": "µmol/L",
    "2571-8": "mmol/L",
    "2157-6": "U/L",
}

LOCAL_UNITS = {
    "local:cart_copies_blood": ("copies/µg DNA", Specimen.BLOOD),
    "local:cart_copies_csf": ("copies/µg DNA", Specimen.CSF),
    "local:car_t_cells_blood": ("cells/µL", Specimen.BLOOD),
    "local:car_t_cells_csf": ("cells/µL", Specimen.CSF),
    "local:cd19_b_cells": ("cells/µL", Specimen.BLOOD),
    "local:nfl_serum": ("ng/L", Specimen.SERUM),
    "local:nfl_csf": ("ng/L", Specimen.CSF),
    "local:aqp4_igg_titer": ("titer", Specimen.SERUM),
}

# The calculators' field-name units (docs/calculators.md): what ingest stores must be what they
# take, so a stored value is passed to a calculator without another conversion.
CALCULATOR_FIELDS = {
    "temperature_c": "temperature",
    "anc_10e9_l": "neutrophils",
    "platelets_10e9_l": "platelets",
    "hemoglobin_g_l": "hemoglobin",
    "crp_mg_l": "crp",
    "ferritin_ug_l": "ferritin",
    "ldh_u_l": "ldh",
    "creatinine_umol_l": "creatinine",
    "fibrinogen_g_l": "fibrinogen",
    "alt_u_l": "alt",
    "ast_u_l": "ast",
    "triglycerides_mmol_l": "triglycerides",
}
SUFFIX_UNITS = {
    "_c": "°C",
    "_10e9_l": "×10⁹/L",
    "_g_l": "g/L",
    "_mg_l": "mg/L",
    "_ug_l": "µg/L",
    "_u_l": "U/L",
    "_umol_l": "µmol/L",
    "_mmol_l": "mmol/L",
}


@pytest.mark.parametrize(("code", "unit"), LOINC_UNITS.items())
def test_loinc_codes_and_units(code: str, unit: str) -> None:
    entry = lookup(code)
    assert (entry.system, entry.unit) == (LOINC, unit)


@pytest.mark.parametrize(("code", "expected"), LOCAL_UNITS.items())
def test_local_codes(code: str, expected: tuple[str, Specimen]) -> None:
    entry = lookup(code, LOCAL)
    assert (entry.unit, entry.default_specimen) == expected


@pytest.mark.parametrize(("field", "key"), CALCULATOR_FIELDS.items())
def test_canonical_units_are_the_calculators_units(field: str, key: str) -> None:
    suffix = next(s for s in sorted(SUFFIX_UNITS, key=len, reverse=True) if field.endswith(s))
    assert by_key(key).unit == SUFFIX_UNITS[suffix]


def test_catalogue_is_consistent() -> None:
    entries = codes()
    assert len(entries) == len(CATALOGUE) == len({e.key for e in entries})
    for e in entries:
        assert e.low < e.high
        assert e.low >= 0 or e.unit == "°C", f"{e.key}: a negative amount is impossible"
        assert e.specimens
        assert len(set(e.specimens)) == len(e.specimens)
        assert CATALOGUE[e.system, e.code] is e is by_key(e.key)


def test_vitals_have_no_specimen_and_counts_are_blood_only() -> None:
    for key in ("temperature", "heart_rate", "systolic_bp", "spo2", "respiratory_rate"):
        assert by_key(key).specimens == (Specimen.OTHER,)
    for key in ("platelets", "neutrophils", "hemoglobin", "cart_cells_blood"):
        assert by_key(key).specimens == (Specimen.BLOOD,)
    for key in ("cart_transgene_csf", "cart_cells_csf", "nfl_csf"):
        assert by_key(key).specimens == (Specimen.CSF,)


def test_impossible_examples_are_outside() -> None:
    temperature = by_key("temperature")
    assert not temperature.low <= 60.0 <= temperature.high
    assert temperature.low <= 41.5 <= temperature.high
    assert by_key("ferritin").high >= 200_000  # IEC-HS ferritin is real, never rejected
    assert by_key("temperature").range_text() == "14–47 °C"
    assert by_key("ferritin").range_text() == "0–1,000,000 µg/L"


def test_unknown_code_names_code() -> None:
    with pytest.raises(UnknownCodeError) as caught:
        lookup("0000-0")
    assert caught.value.field == "code"
    assert caught.value.got == "0000-0"


def test_local_code_sent_as_loinc_names_code_system() -> None:
    with pytest.raises(UnknownCodeError) as caught:
        lookup("local:car_t_cells_csf")
    assert caught.value.field == "code_system"
    assert LOCAL in str(caught.value)


def test_by_key_unknown() -> None:
    with pytest.raises(KeyError, match="no observation code"):
        by_key("blood_sugar")


def test_the_store_uses_this_specimen_enum() -> None:
    store_models = pytest.importorskip("neurocart.store.models")
    assert store_models.Specimen is Specimen
