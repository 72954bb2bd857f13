"""normalize_observation: conversions applied, impossible values and bad fields named."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from neurocart.ingest import (
    LOCAL,
    EffectiveTimeError,
    ImpossibleValueError,
    NormalizedObservation,
    ObservationError,
    ObservationIn,
    Specimen,
    SpecimenError,
    UnitError,
    UnknownCodeError,
    normalize_observation,
)

AT = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def obs(code: str = "8310-5", value: float = 38.2, unit: str = "°C", **kw: Any) -> ObservationIn:
    return ObservationIn(code=code, value=value, unit=unit, effective_at=AT, source="test", **kw)


def test_fever_in_fahrenheit() -> None:
    result = normalize_observation(obs(value=101.3, unit="°F", note="axillary"))
    assert result == NormalizedObservation(
        code="8310-5",
        code_system="http://loinc.org",
        value=38.5,
        unit="°C",
        specimen=Specimen.OTHER,
        effective_at=AT,
        source="test",
        note="axillary",
        original_value=101.3,
        original_unit="°F",
    )


def test_platelets_per_microlitre() -> None:
    result = normalize_observation(obs("777-3", 150_000, "/µL"))
    assert (result.value, result.unit, result.specimen) == (150.0, "×10⁹/L", Specimen.BLOOD)


def test_local_code_with_its_system() -> None:
    result = normalize_observation(
        obs("local:car_t_cells_csf", 0.02, "×10⁹/L", code_system=LOCAL, specimen="csf")
    )
    assert (result.value, result.unit, result.code_system) == (20.0, "cells/µL", LOCAL)


def test_time_is_stored_in_utc() -> None:
    berlin = timezone(timedelta(hours=1))
    raw = ObservationIn(
        code="8867-4",
        value=92,
        unit="/min",
        effective_at=datetime(2025, 3, 1, 9, 0, tzinfo=berlin),
        source="monitor",
    )
    result = normalize_observation(raw)
    assert result.effective_at == AT
    assert result.effective_at.tzinfo is UTC


def test_strings_from_json_are_parsed() -> None:
    raw = ObservationIn.model_validate(
        {"code": " 1988-5 ", "value": "3.2", "unit": "mg/dL", "specimen": "serum",
         "effective_at": "2025-03-01T08:00:00Z", "source": "lab"}
    )  # fmt: skip
    result = normalize_observation(raw)
    assert (result.code, result.value, result.unit, result.specimen) == (
        "1988-5",
        32.0,
        "mg/L",
        Specimen.SERUM,
    )


def _error(raw: ObservationIn) -> ObservationError:
    with pytest.raises(ObservationError) as caught:
        normalize_observation(raw)
    return caught.value


@pytest.mark.parametrize(
    ("raw", "kind", "field", "words"),
    [
        (obs(value=60.0), ImpossibleValueError, "value", "60 °C is outside"),
        (obs(value=140.0, unit="°F"), ImpossibleValueError, "value", "140 °F = 60 °C is outside"),
        (obs(value=98.6), ImpossibleValueError, "value", "14–47 °C"),
        (obs(value=3.7), ImpossibleValueError, "value", "Body temperature (8310-5)"),
        (obs("777-3", -1.0, "×10⁹/L"), ImpossibleValueError, "value", "0–5,000 ×10⁹/L"),
        (obs("751-8", -0.1, "×10⁹/L"), ImpossibleValueError, "value", "Neutrophils"),
        (obs("59408-5", 101.0, "%"), ImpossibleValueError, "value", "0–100 %"),
        (obs("2465-3", 400.0, "g/L"), ImpossibleValueError, "value", "0–150 g/L"),
        (obs("1988-5", 120.0, "mg/dL"), ImpossibleValueError, "value", "120 mg/dL = 1,200 mg/L"),
        (obs("751-8", 60.0, "%"), UnitError, "unit", "cannot be converted to ×10⁹/L"),
        (obs(unit="mg/L"), UnitError, "unit", "accepted: °C"),
        (obs("9999-9"), UnknownCodeError, "code", "unknown observation code"),
        (obs("local:nfl_csf", 500.0, "ng/L"), UnknownCodeError, "code_system", LOCAL),
        (obs(specimen="csf"), SpecimenError, "specimen", "allowed: other"),
        (obs("777-3", 150.0, "G/L", specimen="csf"), SpecimenError, "specimen", "blood"),
        (
            obs("local:car_t_cells_csf", 1.0, "/µL", code_system=LOCAL, specimen="blood"),
            SpecimenError,
            "specimen",
            "not measured in blood",
        ),
    ],
)
def test_rejected_with_the_field_named(
    raw: ObservationIn, kind: type[ObservationError], field: str, words: str
) -> None:
    error = _error(raw)
    assert type(error) is kind
    assert error.field == field
    assert str(error).startswith(f"{field}: ")
    assert words in str(error)


def test_range_bounds_are_inclusive() -> None:
    assert normalize_observation(obs(value=47.0)).value == 47.0
    assert normalize_observation(obs("777-3", 0.0, "×10⁹/L")).value == 0.0


def test_naive_time_is_refused_by_the_model() -> None:
    with pytest.raises(ValidationError) as caught:
        ObservationIn(code="8310-5", value=37.0, unit="°C", source="x",
                      effective_at=datetime(2025, 3, 1, 8, 0))  # fmt: skip
    assert [e["loc"] for e in caught.value.errors()] == [("effective_at",)]


def test_naive_time_is_refused_even_when_validation_was_skipped() -> None:
    raw = ObservationIn.model_construct(
        code="8310-5",
        code_system="http://loinc.org",
        value=37.0,
        unit="°C",
        specimen=None,
        effective_at=datetime(2025, 3, 1, 8, 0),
        source="x",
        note=None,
    )
    with pytest.raises(EffectiveTimeError, match=r"^effective_at: must include a time zone"):
        normalize_observation(raw)


def test_non_finite_value_is_refused_even_when_validation_was_skipped() -> None:
    raw = obs().model_copy(update={"value": math.nan})
    error = _error(raw)
    assert (type(error), error.field) == (ImpossibleValueError, "value")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"value": math.inf}, "value"),
        ({"value": True}, "value"),
        ({"value": "high"}, "value"),
        ({"unit": ""}, "unit"),
        ({"code": ""}, "code"),
        ({"specimen": "urine"}, "specimen"),
        ({"source": ""}, "source"),
        ({"effective_at": "yesterday"}, "effective_at"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_model_names_the_field(changes: dict[str, Any], field: str) -> None:
    data = {"code": "8310-5", "value": 37.0, "unit": "°C", "effective_at": AT, "source": "x"}
    with pytest.raises(ValidationError) as caught:
        ObservationIn.model_validate({**data, **changes})
    assert {e["loc"][0] for e in caught.value.errors()} == {field}


def test_store_fields_fit_the_store() -> None:
    repo = pytest.importorskip("neurocart.store.repo")
    normalized = normalize_observation(obs(value=101.3, unit="°F"))
    item = repo.ObservationIn(patient_id=1, **normalized.store_fields())
    assert (item.value, item.unit, item.specimen, item.effective_at) == (38.5, "°C", "other", AT)
