"""Observations over HTTP: unit conversion at ingest, impossible values, batches, corrections."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from neurocart.store import Patient
from tests.api.conftest import Headers, obs, signature

URL = "/api/v1/patients/P-001/observations"


@pytest.fixture
def nurse(as_role: Callable[[str], Headers], patient: Patient) -> Headers:
    return as_role("nurse")


def test_fahrenheit_is_stored_as_celsius(client: TestClient, nurse: Headers) -> None:
    response = client.post(URL, json=obs(98.6, "°F"), headers=nurse)
    assert response.status_code == 201, response.text
    assert (response.json()["value"], response.json()["unit"]) == (37.0, "°C")
    listed = client.get(URL, headers=nurse).json()["items"]
    assert [(o["value"], o["unit"]) for o in listed] == [(37.0, "°C")]


def test_mg_dl_and_per_microlitre_are_converted(client: TestClient, nurse: Headers) -> None:
    crp = client.post(URL, json=obs(1.2, "mg/dL", code="1988-5", specimen="serum"), headers=nurse)
    assert crp.status_code == 201, crp.text
    assert (crp.json()["value"], crp.json()["unit"]) == (12.0, "mg/L")
    plt = client.post(URL, json=obs(150_000, "/µL", code="777-3"), headers=nurse)
    assert plt.status_code == 201, plt.text
    assert plt.json()["value"] == 150.0


@pytest.mark.parametrize(
    ("row", "field"),
    [
        (obs(60, "°C"), "value"),
        (obs(-1, "×10⁹/L", code="751-8"), "value"),
        (obs(37, "furlongs"), "unit"),
        (obs(37, "°C", effective_at="2025-03-03T08:00:00"), "effective_at"),
        (obs(37, "°C", colour="red"), "colour"),
        (obs("warm", "°C"), "value"),  # type: ignore[arg-type]
        (obs(True, "°C"), "value"),
        (obs(37, "°C", code="no-such-code"), "code"),
        (obs(37, "°C", specimen="urine"), "specimen"),
    ],
)
def test_bad_observation_is_422_naming_the_field(
    client: TestClient, nurse: Headers, row: dict[str, object], field: str
) -> None:
    response = client.post(URL, json=row, headers=nurse)
    assert response.status_code == 422, response.text
    assert [d["field"] for d in response.json()["detail"]] == [field]
    assert client.get(URL, headers=nurse).json()["items"] == []


@pytest.mark.parametrize(
    "raw",
    [
        b'{"code": "8310-5", "value": NaN, "unit": "C", "source": "x"}',
        b'{"code": "8310-5", "value": Infinity, "unit": "C", "source": "x"}',
        b'{"code": "8310-5", "value": 1e999, "unit": "C", "source": "x"}',
        b'{"code": "8310-5", "value": 1' + b"0" * 5000 + b', "unit": "C"}',
        b'{"code": "8310-5\\u0000", "value": 37, "unit": "C"}',
        b'{"code": "\\ud800", "value": 37, "unit": "C"}',
        b"\xff\xfe",
        b"[1, 2",
    ],
)
def test_unparseable_or_unstorable_json_is_422(
    client: TestClient, nurse: Headers, raw: bytes
) -> None:
    headers = nurse | {"content-type": "application/json"}
    response = client.post(URL, content=raw, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["field"] == "body"


def test_wrong_content_type_is_415(client: TestClient, nurse: Headers) -> None:
    response = client.post(
        URL, content=b"code=8310-5", headers=nurse | {"content-type": "text/plain"}
    )
    assert response.status_code == 415
    assert response.json()["detail"][0]["field"] == "content-type"


def test_unknown_patient_is_404(client: TestClient, nurse: Headers) -> None:
    response = client.post("/api/v1/patients/P-404/observations", json=obs(), headers=nurse)
    assert response.status_code == 404
    assert response.json()["detail"][0]["field"] == "study_id"


def test_batch_is_all_or_nothing_and_lists_every_bad_row(
    client: TestClient, nurse: Headers
) -> None:
    rows = [obs(37.0), obs(37, "mg"), obs(38.0), obs(60, "°C")]
    response = client.post(f"{URL}/batch", json={"observations": rows}, headers=nurse)
    assert response.status_code == 422
    assert [d["field"] for d in response.json()["detail"]] == [
        "observations[1].unit",
        "observations[3].value",
    ]
    assert client.get(URL, headers=nurse).json()["items"] == []
    good = client.post(f"{URL}/batch", json={"observations": rows[::2]}, headers=nurse)
    assert good.status_code == 201
    assert good.json()["count"] == 2
    assert len(good.json()["ids"]) == 2


def test_batch_over_the_limit_is_413(client: TestClient, app: FastAPI, nurse: Headers) -> None:
    app.state.settings = app.state.settings.model_copy(update={"max_batch_observations": 3})
    response = client.post(f"{URL}/batch", json={"observations": [obs()] * 4}, headers=nurse)
    assert response.status_code == 413
    assert response.json()["detail"][0]["field"] == "observations"


def test_correction_supersedes_and_retraction_marks_in_error(
    client: TestClient, nurse: Headers
) -> None:
    first = client.post(URL, json=obs(37.0), headers=nurse).json()
    no_reason = client.post(
        f"/api/v1/observations/{first['id']}/correction", json={"value": 38}, headers=nurse
    )
    assert no_reason.status_code == 422
    assert no_reason.json()["detail"][0]["field"] == "reason"
    fixed = client.post(
        f"/api/v1/observations/{first['id']}/correction",
        json={"signature": signature(), "reason": "typo", "value": 100.4, "unit": "°F"},
        headers=nurse,
    )
    assert fixed.status_code == 201, fixed.text
    assert fixed.json()["value"] == 38.0
    assert fixed.json()["supersedes_id"] == first["id"]
    again = client.post(
        f"/api/v1/observations/{first['id']}/correction",
        json={"signature": signature(), "reason": "x"},
        headers=nurse,
    )
    assert again.status_code == 409
    impossible = client.post(
        f"/api/v1/observations/{fixed.json()['id']}/correction",
        json={"signature": signature(), "reason": "x", "value": 60},
        headers=nurse,
    )
    assert impossible.status_code == 422
    assert impossible.json()["detail"][0]["field"] == "value"
    gone = client.post(
        f"/api/v1/observations/{fixed.json()['id']}/retraction",
        json={"signature": signature(), "reason": "wrong patient"},
        headers=nurse,
    )
    assert gone.status_code == 201
    assert gone.json()["entered_in_error"] is True
    assert client.get(URL, headers=nurse).json()["items"] == []
    assert len(client.get(URL, params={"history": True}, headers=nurse).json()["items"]) == 3
    assert client.get("/api/v1/observations/999999", headers=nurse).status_code == 404


def test_list_filters(client: TestClient, nurse: Headers) -> None:
    client.post(URL, json=obs(37.0), headers=nurse)
    client.post(URL, json=obs(80, code="8867-4", unit="/min"), headers=nurse)
    assert len(client.get(URL, params={"code": "8867-4"}, headers=nurse).json()["items"]) == 1
    naive = client.get(URL, params={"since": "2025-03-03T00:00:00"}, headers=nurse)
    assert naive.status_code == 422
    assert naive.json()["detail"][0]["field"] == "since"


def test_a_write_never_depends_on_the_monitor(
    app: FastAPI, nurse: Headers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The monitor reads the journal after the commit: a broken monitor refuses nothing."""

    def broken() -> int:
        raise RuntimeError("monitor down")

    monkeypatch.setattr(app.state.runtime.monitor, "step", broken)
    with TestClient(app) as plain:
        assert plain.post(URL, json=obs(39.0), headers=nurse).status_code == 201
        batch = {"observations": [obs(37.5), obs(38.5)]}
        assert plain.post(f"{URL}/batch", json=batch, headers=nurse).status_code == 201
        assert len(plain.get(URL, headers=nurse).json()["items"]) == 3
