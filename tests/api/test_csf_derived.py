"""The monitor leader derives the CSF indices once the paired CSF and serum values of one
lumbar puncture are in: stored once, never again for the same values, and a patient whose
derivation fails does not stop the others."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from neurocart.services import csf_indices
from neurocart.services.csf_indices import SOURCE_PREFIX
from neurocart.store import Database, Patient, repo
from neurocart.store.models import Alert, Observation
from tests.api.conftest import Headers

URL = "/api/v1/patients/{}/observations"
LOCAL = "urn:neurocart:local"


def row(code: str, value: float, unit: str, specimen: str, at: str, **extra: Any) -> dict:
    return {"code": code, "value": value, "unit": unit, "specimen": specimen,
            "effective_at": at, "source": "lab", **extra}  # fmt: skip


PUNCTURE = [
    row("1746-7", 250, "mg/L", "csf", "2025-03-01T09:00:00Z"),
    row("1751-7", 40, "g/L", "serum", "2025-03-01T08:30:00Z"),
    row("2464-6", 60, "mg/L", "csf", "2025-03-01T09:00:00Z"),
    row("2465-3", 10, "g/L", "serum", "2025-03-01T08:30:00Z"),
    row("local:kflc_csf", 1.2, "mg/L", "csf", "2025-03-01T09:00:00Z", code_system=LOCAL),
    row("local:kflc_serum", 12, "mg/L", "serum", "2025-03-01T08:30:00Z", code_system=LOCAL),
]
INDICES = {"1756-6": 6.25, "14117-6": 0.96, "local:kflc_index": 16.0}


def derived(database: Database) -> list[Observation]:
    with database.reading() as session:
        return list(
            session.scalars(
                select(Observation)
                .where(Observation.source.startswith(SOURCE_PREFIX))
                .order_by(Observation.id)
            )
        )


def test_indices_are_derived_once_when_the_pair_is_in(
    client: TestClient, as_role: Callable[[str], Headers], patient: Patient, database: Database
) -> None:
    nurse = as_role("nurse")
    url = URL.format("P-001")
    for body in PUNCTURE[:1] + PUNCTURE[2:3]:  # CSF only: nothing to pair with
        assert client.post(url, json=body, headers=nurse).status_code == 201
    assert derived(database) == []
    for body in PUNCTURE[1:2] + PUNCTURE[3:]:
        assert client.post(url, json=body, headers=nurse).status_code == 201
    first = derived(database)
    values = {o.code: o.value for o in first}
    for code, value in INDICES.items():
        assert values[code] == pytest.approx(value), code
    assert len({(o.code, o.effective_at) for o in first}) == len(first)
    assert {o.entered_by for o in first} == {first[0].entered_by}  # the nurse who entered

    batch = client.post(url + "/batch", json={"observations": PUNCTURE}, headers=nurse)
    assert batch.status_code == 201, batch.text
    assert [o.id for o in derived(database)] == [o.id for o in first]  # nothing new

    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.monitor.lock:  # a new leader reads the journal again: derives nothing
        runtime.monitor.take_over()
    assert runtime.settle()
    assert [o.id for o in derived(database)] == [o.id for o in first]


def test_a_failed_derivation_skips_that_patient_only(
    client: TestClient,
    as_role: Callable[[str], Headers],
    patient: Patient,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with database.transaction() as session:
        repo.create_patient(
            session, None, repo.PatientIn(study_id="P-002", site="HD", sex="male",
                                          diagnosis="mg")
        )  # fmt: skip
    real = csf_indices.update_csf_indices

    def broken(session: Any, actor: Any, patient_id: int, **kw: Any) -> Any:
        if patient_id == patient.id:
            real(session, actor, patient_id, **kw)  # writes, then fails: rolled back
            raise RuntimeError("boom")
        return real(session, actor, patient_id, **kw)

    monkeypatch.setattr(csf_indices, "update_csf_indices", broken)
    nurse = as_role("nurse")
    rows = {"observations": PUNCTURE}
    assert client.post(URL.format("P-001") + "/batch", json=rows, headers=nurse).status_code == 201
    assert client.post(URL.format("P-002") + "/batch", json=rows, headers=nurse).status_code == 201
    assert {o.patient_id for o in derived(database)} == {patient.id + 1}
    with database.reading() as session:
        alerts = list(session.scalars(select(Alert).where(Alert.rule_id == "monitor_failure")))
    assert len(alerts) == 1
    assert "CSF indices" in alerts[0].text
    monkeypatch.undo()  # the next CSF value of the failed patient is derived as usual
    again = client.post(URL.format("P-001"), json=PUNCTURE[0] | {"value": 260}, headers=nurse)
    assert again.status_code == 201, again.text
    assert patient.id in {o.patient_id for o in derived(database)}


CSF_INDICES = "/api/v1/patients/{}/csf-indices"


def test_the_readout_says_which_index_was_not_computed_and_why(
    client: TestClient, as_role: Callable[[str], Headers], patient: Patient
) -> None:
    """A CSF value without its serum pair computes nothing and says so, in the API: the
    reason as a machine code with its details and the English; once the pair is in, the index
    is there and the reason is gone."""
    nurse = as_role("nurse")
    url = URL.format("P-001")
    kflc_serum = PUNCTURE[5]
    for body in (PUNCTURE[0], PUNCTURE[1], PUNCTURE[4]):  # albumin pair, CSF κFLC alone
        assert client.post(url, json=body, headers=nurse).status_code == 201
    got = client.get(CSF_INDICES.format("P-001"), headers=nurse)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["study_id"] == "P-001"
    assert body["max_interval_h"] == 48
    (lp,) = body["punctures"]
    assert lp["csf_at"].startswith("2025-03-01T09:00:00")
    assert [(c["index"], c["code"], c["value"]) for c in lp["computed"]] == [
        ("qalb", "1756-6", 6.25)
    ]
    (why,) = lp["not_computed"]
    assert why["index"] == "kflc_index"
    assert why["reason"] == "no_serum_pair"
    assert why["details"] == {"analyte": "kflc", "csf_at": "2025-03-01T09:00:00+00:00",
                              "window_h": "48"}  # fmt: skip
    assert why["text"] == (
        "CSF κ free light chains of 2025-03-01T09:00:00+00:00 has no serum κ free light "
        "chains within 48 h: a CSF value without its serum pair computes nothing"
    )

    assert client.post(url, json=kflc_serum, headers=nurse).status_code == 201
    (lp,) = client.get(CSF_INDICES.format("P-001"), headers=nurse).json()["punctures"]
    computed = {c["index"]: c for c in lp["computed"]}
    assert computed["kflc_index"]["value"] == pytest.approx(16.0)
    assert computed["kflc_index"]["label"] == "positive"
    assert lp["not_computed"] == []
    assert lp["paired_interval_h"] == 0.5


def test_the_readout_of_an_unknown_patient_is_404_and_needs_a_login(
    client: TestClient, as_role: Callable[[str], Headers], patient: Patient
) -> None:
    missing = client.get(CSF_INDICES.format("P-404"), headers=as_role("nurse"))
    assert missing.status_code == 404
    assert "study_id" in missing.text
    assert client.get(CSF_INDICES.format("P-001")).status_code == 401
    empty = client.get(CSF_INDICES.format("P-001"), headers=as_role("nurse")).json()
    assert empty["punctures"] == []
