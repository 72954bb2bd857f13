"""Every observation code a shipped protocol completes a task with is in the catalogue."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from neurocart.ingest import CATALOGUE, ObservationIn, by_key, normalize_observation
from neurocart.ingest.codes import LOCAL
from neurocart.ingest.errors import ImpossibleValueError, UnitError
from neurocart.pathway import load_shipped, shipped_protocol_ids

AT = datetime(2025, 3, 1, 8, tzinfo=UTC)


def test_every_protocol_observation_code_is_known():
    known = {code for _, code in CATALOGUE}
    referenced = {
        code
        for pid in shipped_protocol_ids()
        for task in load_shipped(pid).tasks
        for code in task.completed_by.observations
    }
    assert referenced
    assert sorted(referenced - known) == []


def obs(code: str, value: float, unit: str) -> ObservationIn:
    return ObservationIn(code=code, value=value, unit=unit, effective_at=AT, source="lab")


@pytest.mark.parametrize("code", ["5196-1", "16933-4", "16128-1", "2106-3", "local:tb_igra"])
def test_qualitative_results_are_0_or_1(code):
    system = "urn:neurocart:local" if code.startswith("local:") else "http://loinc.org"
    for value in (0, 1):
        raw = ObservationIn(
            code=code, code_system=system, value=value, unit="{result}", effective_at=AT,
            source="lab",
        )  # fmt: skip
        assert normalize_observation(raw).value == value
    for value in (0.5, 2):
        with pytest.raises(ImpossibleValueError, match="must be 0 or 1"):
            normalize_observation(raw.model_copy(update={"value": value}))


def test_viral_load_units():
    hbv = by_key("hbv_dna")
    assert (hbv.code, hbv.unit) == ("local:hbv_dna", "IU/mL")
    raw = ObservationIn(
        code="local:hbv_dna", code_system="urn:neurocart:local", value=2000, unit="IU/L",
        effective_at=AT, source="lab",
    )  # fmt: skip
    assert normalize_observation(raw).value == 2.0
    with pytest.raises(UnitError):
        normalize_observation(raw.model_copy(update={"unit": "copies/mL"}))
    with pytest.raises(UnitError):  # milli-IU must never be read as mega-IU or IU
        normalize_observation(raw.model_copy(update={"unit": "mIU/mL"}))


def test_oxygen_flow_fio2_and_lvef():
    assert normalize_observation(obs("3151-8", 500, "mL/min")).value == 0.5
    assert normalize_observation(obs("3151-8", 4, "L/min")).unit == "L/min"
    assert normalize_observation(obs("3150-0", 40, "%")).value == 40
    with pytest.raises(ImpossibleValueError):
        normalize_observation(obs("3150-0", 0.4, "%"))  # a fraction, not a percentage
    assert normalize_observation(obs("10230-1", 55, "%")).specimen.value == "other"


def test_a_pattern_type_out_of_its_codes_names_them_without_a_positive_negative_gloss():
    """An OCB pattern type is 1–5: its refusal lists them, not "0 negative, 1 positive"."""
    raw = ObservationIn(
        code="local:ocb_pattern", code_system=LOCAL, value=6, unit="{type}",
        specimen="csf", effective_at=AT, source="lab",
    )  # fmt: skip
    with pytest.raises(ImpossibleValueError) as refused:
        normalize_observation(raw)
    assert "must be 1 or 2 or 3 or 4 or 5" in str(refused.value)
    assert "positive" not in str(refused.value)
