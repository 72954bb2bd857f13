"""Strict input: every value JSON makes ambiguous, every impossible time, every reference to
nothing and every oversized or overdeep body is a 4xx naming the field — never a 500 and
never stored (docs/api-input.md)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from neurocart.api import create_app
from neurocart.api.routing import MAX_DEPTH
from neurocart.config import Settings
from neurocart.store import Patient
from tests.api.conftest import Headers, obs, signature

P = "/api/v1/patients/P-001"
TOO_EARLY_IN_UTC = "0001-01-01T00:00:00+14:00"
"""Parses, but is a time in year 0 once converted to UTC."""
TOO_LATE_IN_UTC = "9999-12-31T23:59:00-14:00"
"""Parses, but is a time in year 10000 once converted to UTC."""


def refused(answer: Any, field: str, status: int = 422) -> str:
    """Assert `answer` is `status` naming `field`; return the message."""
    assert answer.status_code == status, answer.text
    body = answer.json()
    fields = [d["field"] for d in body["detail"]]
    assert field in fields, (field, body)
    return str(body["detail"][fields.index(field)]["message"])


def event(**extra: object) -> dict[str, object]:
    return {"type": "relapse", "onset_at": "2025-03-03T08:00:00Z", **extra}


@pytest.fixture
def neuro(as_role: Callable[[str], Headers]) -> Headers:
    return as_role("neurologist")


@pytest.mark.parametrize("at", [TOO_EARLY_IN_UTC, TOO_LATE_IN_UTC])
def test_a_time_that_overflows_in_utc_is_refused_everywhere(
    client: TestClient, neuro: Headers, patient: Patient, at: str
) -> None:
    one = client.post(f"{P}/observations", json=obs(effective_at=at), headers=neuro)
    assert "UTC" in refused(one, "effective_at")
    batch = client.post(
        f"{P}/observations/batch",
        json={"observations": [obs(), obs(effective_at=at)]},
        headers=neuro,
    )
    refused(batch, "observations[1].effective_at")
    refused(client.post(f"{P}/events", json=event(onset_at=at), headers=neuro), "onset_at")
    assessment = {"instrument": "ice", "inputs": {}, "effective_at": at}
    refused(client.post(f"{P}/assessments", json=assessment, headers=neuro), "effective_at")
    mark = {"protocol_id": "nad-cart-2025", "task_id": "x", "slot_start": at, "state": "done"}
    refused(client.put(f"{P}/tasks", json=mark, headers=neuro), "slot_start")
    refused(client.get(f"{P}/schedule", params={"now": at}, headers=neuro), "now")
    refused(client.get(f"{P}/observations", params={"since": at}, headers=neuro), "since")
    assert client.get(f"{P}/observations", headers=neuro).json()["items"] == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("value", "80"),  # a numeric text
        ("value", True),  # a boolean is not a number
        ("effective_at", 1741000000),  # seconds since 1970
        ("effective_at", 0),
        ("effective_at", "2025-03-03T08:00:00"),  # naive
        ("effective_at", "1741000000"),
        ("effective_at", "2025-03-03"),  # a date is not an instant
    ],
)
def test_observation_values_and_times_are_json_typed(
    client: TestClient, neuro: Headers, patient: Patient, field: str, value: object
) -> None:
    pulse = obs(code="8867-4", unit="/min", value=80) | {field: value}  # 80 /min is plausible
    refused(client.post(f"{P}/observations", json=pulse, headers=neuro), field)
    batch = {"observations": [pulse]}
    refused(
        client.post(f"{P}/observations/batch", json=batch, headers=neuro),
        f"observations[0].{field}",
    )


def test_an_integer_value_is_a_number(client: TestClient, neuro: Headers, patient: Patient) -> None:
    made = client.post(f"{P}/observations", json=obs(value=37), headers=neuro)
    assert made.status_code == 201, made.text
    assert made.json()["value"] == 37.0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (event(dose=False, drug="tocilizumab"), "dose"),
        (event(dose="8", drug="tocilizumab"), "dose"),
        (event(grade="3"), "grade"),
        (event(grade=True), "grade"),
        (event(grade=2.5), "grade"),
        (event(onset_at=0), "onset_at"),
        (event(end_at=1741000000), "end_at"),
    ],
)
def test_event_numbers_and_times_are_json_typed(
    client: TestClient, neuro: Headers, patient: Patient, body: dict[str, object], field: str
) -> None:
    refused(client.post(f"{P}/events", json=body, headers=neuro), field)


@pytest.mark.parametrize("value", [0, 20250303, "20250303", "2025-03-03T00:00:00Z", True])
def test_dates_are_iso_dates(
    client: TestClient, as_role: Callable[[str], Headers], patient: Patient, value: object
) -> None:
    heme = as_role("hematologist")
    course = {"product": "KYV-101", "infusion_date": value}
    refused(client.post(f"{P}/courses", json=course, headers=heme), "infusion_date")
    patched = client.patch(P, json={"diagnosis_date": value}, headers=as_role("data_manager"))
    refused(patched, "diagnosis_date")


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("mri-scans", {"scan_date": 0}, "scan_date"),
        ("mri-scans", {"scan_date": "2025-03-03", "new_t2_lesions": "3"}, "new_t2_lesions"),
        ("mri-scans", {"scan_date": "2025-03-03", "contrast_given": 1}, "contrast_given"),
        ("mri-scans", {"scan_date": "2025-03-03", "brain_volume_ml": "1400"}, "brain_volume_ml"),
        ("ncs-studies", {"study_date": 20250303, "nerves": [{}]}, "study_date"),
    ],
)
def test_studies_are_json_typed(
    client: TestClient,
    neuro: Headers,
    patient: Patient,
    path: str,
    body: dict[str, Any],
    field: str,
) -> None:
    refused(client.post(f"{P}/{path}", json=body, headers=neuro), field)


def test_birth_year_is_a_past_year_and_an_integer(
    client: TestClient, as_role: Callable[[str], Headers]
) -> None:
    dm = as_role("data_manager")
    new = {"study_id": "P-9", "site": "HD", "sex": "male", "diagnosis": "ms"}
    for year in (2100, "1980", 1980.5, True):
        refused(
            client.post("/api/v1/patients", json=new | {"birth_year": year}, headers=dm),
            "birth_year",
        )
    assert client.get("/api/v1/patients", headers=dm).json()["items"] == []
    made = client.post("/api/v1/patients", json=new | {"birth_year": 1980}, headers=dm)
    assert made.status_code == 201, made.text
    refused(
        client.patch("/api/v1/patients/P-9", json={"birth_year": 2100}, headers=dm), "birth_year"
    )


def test_facts_lie_between_birth_and_now(
    client: TestClient, as_role: Callable[[str], Headers], neuro: Headers, patient: Patient
) -> None:
    client.patch(P, json={"birth_year": 1980}, headers=as_role("data_manager"))
    before_birth = "1979-12-31T23:00:00Z"
    far_future = "9999-01-01T00:00:00Z"
    for at in (before_birth, far_future):
        refused(
            client.post(f"{P}/observations", json=obs(effective_at=at), headers=neuro),
            "effective_at",
        )
        batch = {"observations": [obs(), obs(), obs(effective_at=at)]}
        refused(
            client.post(f"{P}/observations/batch", json=batch, headers=neuro),
            "observations[2].effective_at",
        )
        refused(client.post(f"{P}/events", json=event(onset_at=at), headers=neuro), "onset_at")
        refused(client.post(f"{P}/events", json=event(end_at=at), headers=neuro), "end_at")
        ice = {"instrument": "ice", "inputs": {}, "effective_at": at}
        refused(client.post(f"{P}/assessments", json=ice, headers=neuro), "effective_at")
    assert client.get(f"{P}/observations", headers=neuro).json()["items"] == []
    assert client.get(f"{P}/events", headers=neuro).json()["items"] == []
    stored = client.post(
        f"{P}/observations", json=obs(effective_at="1980-01-01T00:00:00Z"), headers=neuro
    )
    assert stored.status_code == 201, stored.text
    moved = client.post(
        f"/api/v1/observations/{stored.json()['id']}/correction",
        json={"reason": "typo", "effective_at": far_future, "signature": signature()},
        headers=as_role("data_manager"),
    )
    refused(moved, "effective_at")


def test_a_few_minutes_ahead_is_tolerated(
    settings: Settings, database: Any, patient: Patient, as_role: Callable[[str], Headers]
) -> None:
    """Within Settings.max_future_minutes of the app's clock: a device clock a little ahead."""
    from datetime import UTC, datetime, timedelta

    now = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
    app = create_app(settings.model_copy(update={"max_future_minutes": 10}), database)
    app.state.clock = lambda: now
    neuro = as_role("neurologist")
    with TestClient(app) as client:
        ahead = (now + timedelta(minutes=9)).isoformat()
        too_far = (now + timedelta(minutes=11)).isoformat()
        assert (
            client.post(
                f"{P}/observations", json=obs(effective_at=ahead), headers=neuro
            ).status_code
            == 201
        )
        refused(
            client.post(f"{P}/observations", json=obs(effective_at=too_far), headers=neuro),
            "effective_at",
        )


def test_the_note_is_stored_returned_and_corrected(
    client: TestClient, neuro: Headers, as_role: Callable[[str], Headers], patient: Patient
) -> None:
    made = client.post(f"{P}/observations", json=obs(note="haemolysed sample"), headers=neuro)
    assert made.status_code == 201, made.text
    assert made.json()["note"] == "haemolysed sample"
    batch = {"observations": [obs(note="first", value=37.2), obs(value=37.5)]}
    assert client.post(f"{P}/observations/batch", json=batch, headers=neuro).status_code == 201
    listed = client.get(f"{P}/observations", headers=neuro).json()["items"]
    assert [o["note"] for o in listed] == ["haemolysed sample", "first", None]
    one = client.get(f"/api/v1/observations/{made.json()['id']}", headers=neuro).json()
    assert one["note"] == "haemolysed sample"
    fixed = client.post(
        f"/api/v1/observations/{made.json()['id']}/correction",
        json={
            "reason": "the lab re-ran it",
            "note": "re-run, not haemolysed",
            "signature": signature(),
        },
        headers=as_role("data_manager"),
    )
    assert fixed.status_code == 201, fixed.text
    assert fixed.json()["note"] == "re-run, not haemolysed"
    fhir = client.get("/fhir/Patient/P-001/$everything", headers=neuro).json()
    notes = [
        [n["text"] for n in e["resource"].get("note", [])]
        for e in fhir["entry"]
        if e["resource"]["resourceType"] == "Observation"
    ]
    assert ["re-run, not haemolysed", "the lab re-ran it"] in notes
    assert ["first"] in notes


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


@pytest.mark.parametrize("depth", [MAX_DEPTH, 900, 100_000])
def test_deep_nesting_is_refused_naming_the_field(
    client: TestClient, neuro: Headers, patient: Patient, depth: int
) -> None:
    if depth == 100_000:  # deeper than json.dumps can write: the text by hand
        text = '{"type": "relapse", "onset_at": "2025-03-03T08:00:00Z", "details": '
        text += '{"a": ' * (depth - 1) + "{}" + "}" * (depth - 1) + "}"
    else:
        text = json.dumps(event(details=_nested(depth)))
    answer = client.post(
        f"{P}/events", content=text, headers=neuro | {"content-type": "application/json"}
    )
    assert answer.status_code == 422, answer.text
    field = answer.json()["detail"][0]["field"]
    assert field.startswith("details") or field == "body"
    if depth < 1000:
        assert field.startswith("details")
    assert client.get(f"{P}/events", headers=neuro).json()["items"] == []


@pytest.mark.parametrize("text", ["null", "5", "true", '"x"', '"\\u0000"', "[]"])
def test_a_bare_scalar_body_is_refused(
    client: TestClient, neuro: Headers, patient: Patient, text: str
) -> None:
    answer = client.post(
        f"{P}/events", content=text, headers=neuro | {"content-type": "application/json"}
    )
    assert answer.status_code == 422, answer.text


def test_shallow_details_are_kept(client: TestClient, neuro: Headers, patient: Patient) -> None:
    made = client.post(f"{P}/events", json=event(details=_nested(MAX_DEPTH - 2)), headers=neuro)
    assert made.status_code == 201, made.text


def _post_chunked(app: FastAPI, chunks: int, chunk: bytes) -> tuple[int, bytes, int]:
    """POST a body of `chunks` × `chunk` without Content-Length, straight over ASGI (a test
    client would read the whole body first); returns (status, body, chunks the app read)."""
    sent = 0
    answer: dict[str, Any] = {"body": b""}

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent == chunks:
            return {"type": "http.disconnect"}
        sent += 1
        return {"type": "http.request", "body": chunk, "more_body": sent < chunks}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"{P}/observations/batch",
        "raw_path": f"{P}/observations/batch".encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    asyncio.run(app(scope, receive, send))
    return answer["status"], answer["body"], sent


def test_a_chunked_body_over_the_limit_is_refused_while_it_arrives(
    settings: Settings, database: Any
) -> None:
    """100 MiB in 1 MiB chunks against the 64 MiB default: refused once 64 MiB have come,
    the rest never read."""
    app = create_app(settings, database)
    assert settings.max_body_bytes == 64 * 1024 * 1024
    mib = b"[" + b" " * (1024 * 1024 - 2) + b"]"
    status, body, read = _post_chunked(app, 100, mib)
    assert status == 413
    assert json.loads(body)["detail"][0]["field"] == "body"
    assert read == 65


def test_a_small_chunked_body_still_arrives(settings: Settings, database: Any) -> None:
    app = create_app(settings.model_copy(update={"max_body_bytes": 4096}), database)
    status, body, read = _post_chunked(app, 3, b"    ")
    assert status == 422, body  # read whole, then refused for what it is: not JSON
    assert read == 3
    status, body, read = _post_chunked(app, 10, b" " * 1024)
    assert status == 413
    assert read == 5


def test_a_declared_oversized_body_is_refused_before_reading(
    settings: Settings, database: Any, neuro: Headers, patient: Patient
) -> None:
    app = create_app(settings.model_copy(update={"max_body_bytes": 4096}), database)
    with TestClient(app) as client:
        answer = client.post(
            f"{P}/observations/batch",
            content=b" " * 5000,
            headers=neuro | {"content-type": "application/json"},
        )
    refused(answer, "body", 413)


# --- the other faces: the same times are refused, never a 500 ----------------------------


@pytest.mark.parametrize("at", [TOO_EARLY_IN_UTC, TOO_LATE_IN_UTC])
def test_fhir_refuses_a_time_that_overflows_in_utc(
    client: TestClient, as_role: Callable[[str], Headers], patient: Patient, at: str
) -> None:
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "identifier": [{"system": "urn:lab", "value": "x1"}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8310-5"}]},
        "subject": {"reference": "Patient/P-001"},
        "effectiveDateTime": at,
        "valueQuantity": {"value": 37, "unit": "Cel", "system": "http://unitsofmeasure.org"},
    }
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": observation, "request": {"method": "POST", "url": "Observation"}}],
    }
    answer = client.post(
        "/fhir",
        json=bundle,
        headers=as_role("data_manager") | {"content-type": "application/fhir+json"},
    )
    assert answer.status_code == 422, answer.text
    issue = answer.json()["issue"][0]
    assert issue["expression"] == ["Bundle.entry[0].resource.effectiveDateTime"]


@pytest.mark.parametrize("text", ["00010101000000+1400", "99991231235900-1400"])
def test_hl7_refuses_a_time_that_overflows_in_utc(text: str) -> None:
    from datetime import UTC

    from neurocart.interop.hl7.message import Hl7FormatError, parse_time

    with pytest.raises(Hl7FormatError, match="UTC"):
        parse_time(text, UTC, "OBX-14")


@pytest.mark.parametrize("at", [TOO_EARLY_IN_UTC, TOO_LATE_IN_UTC])
def test_web_forms_refuse_a_time_that_overflows_in_utc(at: str) -> None:
    from datetime import UTC, datetime

    from neurocart.web.entry import read_time

    assert read_time(at, datetime.now(UTC)) == (
        None,
        "outside the range of dates once converted to UTC",
    )


def test_the_error_body_is_the_documented_one() -> None:
    from neurocart.api import errors

    made = errors.body(
        [errors.Problem("value", "must be a number", "80"), errors.Problem(None, "x")]
    )
    assert errors.ErrorBody.model_validate(made).model_dump() == made
    assert set(errors.ErrorItem.model_json_schema()["required"]) == {"field", "message", "got"}
