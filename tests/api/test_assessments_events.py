"""Assessments (scored by the calculators, never typed in) and clinical events over HTTP."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from neurocart.standards import calculate
from neurocart.store import Patient
from tests.api.conftest import Headers, signature

A = "/api/v1/patients/P-001/assessments"
E = "/api/v1/patients/P-001/events"
AT = "2025-03-03T10:00:00Z"
CRS = {"temperature_c": 38.6, "hypotension": True, "vasopressors": 1}


def test_assessment_is_computed_by_its_calculator(
    client: TestClient, as_role: Callable[[str], Headers], patient: Patient
) -> None:
    neuro = as_role("neurologist")
    made = client.post(
        A, json={"instrument": "crs", "inputs": CRS, "effective_at": AT}, headers=neuro
    )
    assert made.status_code == 201, made.text
    assert made.json()["value"] == calculate("crs", CRS).value == 3
    assert made.json()["result"]["citation"]
    typed_total = client.post(
        A, json={"instrument": "crs", "inputs": CRS, "effective_at": AT, "value": 1}, headers=neuro
    )
    assert typed_total.status_code == 422
    assert typed_total.json()["detail"][0]["field"] == "value"
    fixed = client.post(
        f"/api/v1/assessments/{made.json()['id']}/correction",
        json={
            "signature": signature(),
            "reason": "no vasopressor",
            "inputs": CRS | {"vasopressors": 0},
        },
        headers=neuro,
    )
    assert fixed.status_code == 201
    assert fixed.json()["value"] == 2
    listed = client.get(A, params={"instrument": "crs"}, headers=neuro).json()["items"]
    assert [a["value"] for a in listed] == [2]


def test_bad_assessment_input(
    client: TestClient, as_role: Callable[[str], Headers], patient: Patient
) -> None:
    neuro = as_role("neurologist")
    bad = client.post(
        A,
        json={"instrument": "crs", "inputs": {"temperature_c": 60}, "effective_at": AT},
        headers=neuro,
    )
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["field"] == "temperature_c"
    unknown = client.post(
        A, json={"instrument": "nope", "inputs": {}, "effective_at": AT}, headers=neuro
    )
    assert unknown.status_code == 404
    assert unknown.json()["detail"][0]["field"] == "name"
    naive = client.post(
        A,
        json={"instrument": "crs", "inputs": CRS, "effective_at": "2025-03-03T10:00"},
        headers=neuro,
    )
    assert naive.json()["detail"][0]["field"] == "effective_at"


def test_nurse_records_bedside_instruments_only(
    client: TestClient, as_role: Callable[[str], Headers], patient: Patient
) -> None:
    nurse = as_role("nurse")
    crs = client.post(
        A, json={"instrument": "crs", "inputs": CRS, "effective_at": AT}, headers=nurse
    )
    assert crs.status_code == 403
    assert crs.json()["detail"][0]["field"] == "instrument"
    ice_inputs = {"orientation": 4, "naming": 3, "commands": 1, "writing": 1, "attention": 0}
    ice = client.post(
        A, json={"instrument": "ice", "inputs": ice_inputs, "effective_at": AT}, headers=nurse
    )
    assert ice.status_code == 201, ice.text
    assert ice.json()["value"] == calculate("ice", ice_inputs).value == 9
    neuro_made = client.post(
        A, json={"instrument": "crs", "inputs": CRS, "effective_at": AT}, headers=as_role("icu")
    ).json()
    denied = client.post(
        f"/api/v1/assessments/{neuro_made['id']}/correction",
        json={"signature": signature(), "reason": "x", "inputs": CRS},
        headers=nurse,
    )
    assert denied.status_code == 403


def test_events(client: TestClient, as_role: Callable[[str], Headers], patient: Patient) -> None:
    icu = as_role("icu")
    ae = {"type": "adverse_event", "onset_at": AT, "ctcae_term": "Fever"}
    missing = client.post(E, json=ae, headers=icu)
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["field"] == "grade"
    made = client.post(E, json=ae | {"grade": 2}, headers=icu)
    assert made.status_code == 201, made.text
    too_high = client.post(E, json=ae | {"grade": 7}, headers=icu)
    assert too_high.json()["detail"][0]["field"] == "grade"
    drug = {
        "type": "drug_given",
        "onset_at": AT,
        "drug": "tocilizumab",
        "dose": 8,
        "dose_unit": "mg/kg",
    }
    assert client.post(E, json=drug, headers=icu).status_code == 201
    ended = client.post(
        f"/api/v1/events/{made.json()['id']}/correction",
        json={"signature": signature(), "reason": "resolved", "end_at": "2025-03-02T00:00:00Z"},
        headers=icu,
    )
    assert ended.status_code == 422
    assert ended.json()["detail"][0]["field"] == "end_at"
    listed = client.get(E, params={"type": "drug_given"}, headers=icu).json()["items"]
    assert [e["drug"] for e in listed] == ["tocilizumab"]
    assert client.get(E, params={"type": "party"}, headers=icu).status_code == 422
    retracted = client.post(
        f"/api/v1/events/{made.json()['id']}/retraction",
        json={"signature": signature(), "reason": "dup"},
        headers=icu,
    )
    assert retracted.status_code == 201
    assert len(client.get(E, headers=icu).json()["items"]) == 1
