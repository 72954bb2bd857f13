"""Patients and courses over HTTP."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from neurocart.store import Patient
from tests.api.conftest import Headers

NEW = {"study_id": "P-002", "site": "HD", "sex": "male", "diagnosis": "mg", "birth_year": 1980}


def test_create_list_get_update(client: TestClient, as_role: Callable[[str], Headers]) -> None:
    dm = as_role("data_manager")
    created = client.post("/api/v1/patients", json=NEW, headers=dm)
    assert created.status_code == 201, created.text
    assert client.post("/api/v1/patients", json=NEW, headers=dm).status_code == 409
    assert [p["study_id"] for p in client.get("/api/v1/patients", headers=dm).json()["items"]] == [
        "P-002"
    ]
    assert client.get("/api/v1/patients", params={"site": "XX"}, headers=dm).json()["items"] == []
    changed = client.patch("/api/v1/patients/P-002", json={"subtype": "AChR+"}, headers=dm)
    assert changed.json()["subtype"] == "AChR+"
    assert changed.json()["birth_year"] == 1980
    assert client.get("/api/v1/patients/P-404", headers=dm).status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"site": None}, "site"),
        ({"birth_year": 1800}, "birth_year"),
        ({"sex": "x"}, "sex"),
        ({"study_id": "P-9"}, "study_id"),
    ],
)
def test_bad_update_is_422(
    client: TestClient,
    as_role: Callable[[str], Headers],
    patient: Patient,
    change: dict[str, object],
    field: str,
) -> None:
    response = client.patch("/api/v1/patients/P-001", json=change, headers=as_role("neurologist"))
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == field


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (NEW | {"study_id": "has space"}, "study_id"),
        (NEW | {"birth_year": "old"}, "birth_year"),
        (NEW | {"nickname": "x"}, "nickname"),
        ({k: v for k, v in NEW.items() if k != "site"}, "site"),
    ],
)
def test_bad_patient_is_422(
    client: TestClient, as_role: Callable[[str], Headers], body: dict[str, object], field: str
) -> None:
    response = client.post("/api/v1/patients", json=body, headers=as_role("data_manager"))
    assert response.status_code == 422
    assert [d["field"] for d in response.json()["detail"]] == [field]


def test_courses(client: TestClient, as_role: Callable[[str], Headers], patient: Patient) -> None:
    heme = as_role("hematologist")
    url = "/api/v1/patients/P-001/courses"
    body = {"product": "KYV-101", "dose_cells_per_kg": 1e6, "infusion_date": "2025-03-03"}
    course = client.post(url, json=body, headers=heme)
    assert course.status_code == 201, course.text
    cid = course.json()["id"]
    assert client.get(url, headers=heme).json()[0]["study_id"] == "P-001"
    early = client.patch(
        f"/api/v1/courses/{cid}", json={"ld_start_date": "2025-03-10"}, headers=heme
    )
    assert early.status_code == 422
    assert early.json()["detail"][0]["field"] == "infusion_date"
    negative = client.post(url, json=body | {"dose_cells_per_kg": -1}, headers=heme)
    assert negative.json()["detail"][0]["field"] == "dose_cells_per_kg"
    assert client.get("/api/v1/courses/424242", headers=heme).status_code == 404
    assert client.get("/api/v1/courses/99999999999", headers=heme).status_code == 422
    assert client.post("/api/v1/patients/P-404/courses", json=body, headers=heme).status_code == 404


def test_a_course_naming_no_protocol_is_refused_and_changes_nothing(
    client: TestClient, as_role: Callable[[str], Headers], patient: Patient
) -> None:
    """A typo in protocol_id used to reach the schedule engine and stop every monitor tick."""
    heme = as_role("hematologist")
    url = "/api/v1/patients/P-001/courses"
    body = {"product": "KYV-101", "infusion_date": "2025-03-03", "protocol_id": "nad-cart-2052"}
    refused = client.post(url, json=body, headers=heme)
    assert refused.status_code == 422
    (detail,) = refused.json()["detail"]
    assert detail["field"] == "protocol_id"
    assert detail["got"] == "nad-cart-2052"
    assert "nad-cart-2025" in detail["message"]  # the known ids are named
    assert client.get(url, headers=heme).json() == []
    good = client.post(url, json=body | {"protocol_id": "nad-cart-2025"}, headers=heme)
    assert good.status_code == 201
    patched = client.patch(
        f"/api/v1/courses/{good.json()['id']}", json={"protocol_id": "nope"}, headers=heme
    )
    assert patched.status_code == 422
    assert patched.json()["detail"][0]["field"] == "protocol_id"


def test_a_course_records_the_infusion_instant_and_dates_it_on_the_site_clock(
    client: TestClient,
    as_role: Callable[[str], Headers],
    patient: Patient,
    site_zone: Callable[[str], object],
) -> None:
    """Infused at 07:30 in Beijing (23:30 UTC the day before): the course keeps the instant the
    acute rules count hours from and is dated 3 March, the date on the ward's clock; a date
    that contradicts the instant is refused naming the field, a time without its offset too."""
    site_zone("Asia/Shanghai")
    heme = as_role("hematologist")
    url = "/api/v1/patients/P-001/courses"
    body = {"product": "KYV-101", "infusion_at": "2025-03-03T07:30:00+08:00"}
    course = client.post(url, json=body, headers=heme)
    assert course.status_code == 201, course.text
    assert course.json()["infusion_at"] == "2025-03-02T23:30:00Z"
    assert course.json()["infusion_date"] == "2025-03-03"
    wrong = client.post(url, json=body | {"infusion_date": "2025-03-02"}, headers=heme)
    assert wrong.status_code == 422
    (detail,) = wrong.json()["detail"]
    assert detail["field"] == "infusion_date"
    assert "Asia/Shanghai: 2025-03-03" in detail["message"]
    naive = client.post(url, json={"product": "X", "infusion_at": "2025-03-03T07:30"}, headers=heme)
    assert naive.status_code == 422
    assert naive.json()["detail"][0]["field"] == "infusion_at"
    moved = client.patch(
        f"/api/v1/courses/{course.json()['id']}",
        json={"infusion_at": "2025-03-04T01:00:00+08:00"},
        headers=heme,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["infusion_date"] == "2025-03-04"
