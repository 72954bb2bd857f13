"""Alert routes: list, read, acknowledge (audited), and the live SSE stream over a real server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from neurocart.api import create_app
from neurocart.store import Database, Patient, repo
from neurocart.store.models import AlertAction, AuditEntry
from tests.api.conftest import T0, Headers, make_settings, obs
from tests.liveserver import serving

Client = TestClient
AsRole = Callable[[str], Headers]


def _course(client: TestClient, headers: Headers, study_id: str, day: date) -> None:
    r = client.post(
        f"/api/v1/patients/{study_id}/courses",
        json={"product": "KYV-101", "infusion_date": day.isoformat()},
        headers=headers,
    )
    assert r.status_code == 201, r.text


def _fever(t: float, at: str = "2025-03-03T08:00:00Z") -> dict[str, object]:
    return obs(t, effective_at=at)


@pytest.fixture
def treated(client: TestClient, as_role: AsRole, patient: Patient) -> Headers:
    """P-001 infused the day before T0 (T0 is study day 1); returns a neurologist's headers."""
    headers = as_role("neurologist")
    _course(client, headers, patient.study_id, T0.date() - timedelta(days=1))
    return headers


def test_fever_opens_one_alert_listed_and_readable(client: TestClient, treated: Headers) -> None:
    for minute, t in ((0, 38.3), (30, 38.6), (59, 38.4)):
        at = (T0 + timedelta(minutes=minute)).isoformat()
        r = client.post("/api/v1/patients/P-001/observations", json=_fever(t, at), headers=treated)
        assert r.status_code == 201
    alerts = client.get("/api/v1/alerts", headers=treated).json()["items"]
    crs = [a for a in alerts if a["episode"] == "crs"]
    assert len(crs) == 1
    assert crs[0]["status"] == "open"
    assert crs[0]["study_day"] == 1
    assert "CRS grade" in crs[0]["text"]
    assert crs[0]["recommended"]
    one = client.get(f"/api/v1/alerts/{crs[0]['key']}", headers=treated).json()
    assert one["key"] == crs[0]["key"]
    assert one["values"]["temperature_c"] == 38.6
    by = client.get("/api/v1/alerts", params={"discipline": "hematology"}, headers=treated)
    assert [a["key"] for a in by.json()["items"]] == [crs[0]["key"]]
    assert (
        client.get("/api/v1/alerts", params={"discipline": "icu"}, headers=treated).json()["items"]
        == []
    )
    assert (
        client.get("/api/v1/alerts", params={"status": "closed"}, headers=treated).json()["items"]
        == []
    )
    other = client.get("/api/v1/alerts", params={"study_id": "P-404"}, headers=treated)
    assert other.json()["items"] == []


def test_acknowledge_is_audited_and_unknown_is_404(
    client: TestClient, treated: Headers, as_role: AsRole, database: Database
) -> None:
    client.post("/api/v1/patients/P-001/observations", json=_fever(38.5), headers=treated)
    key = client.get("/api/v1/alerts", headers=treated).json()["items"][0]["key"]
    other = client.post(f"/api/v1/alerts/{key}/acknowledge", headers=as_role("data_manager"))
    assert other.status_code == 403
    r = client.post(f"/api/v1/alerts/{key}/acknowledge", headers=treated)
    assert r.status_code == 200
    assert r.json()["acknowledged_by"] == "neurologist-user"
    assert (
        client.post("/api/v1/alerts/P-001:nope:1/acknowledge", headers=treated).status_code == 404
    )
    assert client.get("/api/v1/alerts/P-001:nope:1", headers=treated).status_code == 404
    with database.reading() as s:
        entries = list(s.scalars(select(AuditEntry).where(AuditEntry.entity_type == "alert")))
    assert [(e.actor, e.action) for e in entries] == [("neurologist-user", "acknowledge")]


def test_monitoring_off_raises_no_alert(
    database: Database, as_role: AsRole, patient: Patient
) -> None:
    settings = make_settings(database.engine.url.render_as_string(hide_password=False))
    settings = settings.model_copy(update={"monitoring": False})
    with TestClient(create_app(settings, database)) as client:
        headers = as_role("neurologist")
        _course(client, headers, "P-001", T0.date() - timedelta(days=1))
        r = client.post("/api/v1/patients/P-001/observations", json=_fever(39.5), headers=headers)
        assert r.status_code == 201
        assert client.get("/api/v1/alerts", headers=headers).json()["items"] == []


@pytest.fixture
def server(sqlite_database: Database) -> Iterator[tuple[str, Database]]:
    url = sqlite_database.engine.url.render_as_string(hide_password=False)
    app = create_app(make_settings(url), sqlite_database)
    with serving(app, timeout_graceful_shutdown=1) as base:
        yield base, sqlite_database


def test_fever_posted_through_the_api_reaches_the_sse_stream(
    server: tuple[str, Database], tmp_path: Path
) -> None:
    from tests.api.conftest import add_user, bearer

    base, db = server
    headers = bearer(db, add_user(db, "doc", "hematologist"))
    with db.transaction() as s:
        p = repo.create_patient(s, None, repo.PatientIn("NC-0042", "HD", "female", "mg"))
        repo.create_course(s, None, repo.CourseIn(p.id, "x", infusion_at=T0 - timedelta(hours=30)))
    received: list[tuple[str, dict[str, object]]] = []
    ready = threading.Event()

    def listen() -> None:
        params: dict[str, str | int] = {"discipline": "hematology", "seconds": 20}
        with httpx.stream(
            "GET", f"{base}/api/v1/alerts/stream", params=params, headers=headers, timeout=30
        ) as r:
            assert r.status_code == 200
            ready.set()
            name = ""
            for line in r.iter_lines():
                if line.startswith("event:"):
                    name = line.split(":", 1)[1].strip()
                elif line.startswith("data:"):
                    received.append((name, json.loads(line.split(":", 1)[1])))
                    return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert ready.wait(10)
    time.sleep(0.2)  # the subscription is registered once the response has started
    r = httpx.post(
        f"{base}/api/v1/patients/NC-0042/observations", json=_fever(38.9), headers=headers
    )
    assert r.status_code == 201, r.text
    thread.join(15)
    assert received, "no alert arrived on the stream"
    name, action = received[0]
    assert name == "open"
    assert action["kind"] == "open"
    assert action["study_id"] == "NC-0042"
    assert action["study_day"] == 1
    assert action["grade"] == 1.0
    assert "CRS grade" in str(action["text"])
    assert action["recommended"]
    assert "hematology" in list(action["disciplines"])  # type: ignore[call-overload]


def test_stream_accepts_the_web_session_cookie_and_refuses_nobody(
    server: tuple[str, Database],
) -> None:
    from neurocart.web.auth import COOKIE
    from tests.api.conftest import add_user, session_token

    base, db = server
    token = session_token(db, add_user(db, "nurse1", "nurse"))
    url = f"{base}/api/v1/alerts/stream?seconds=0.2"
    ok = httpx.get(url, cookies={COOKIE: token}, timeout=10)
    assert ok.status_code == 200
    assert ok.headers["content-type"].startswith("text/event-stream")
    assert httpx.get(url, timeout=10).status_code == 401


def _open_crs(client: TestClient, headers: Headers) -> str:
    client.post("/api/v1/patients/P-001/observations", json=_fever(38.5), headers=headers)
    (crs,) = [
        a
        for a in client.get("/api/v1/alerts", headers=headers).json()["items"]
        if a["episode"] == "crs"
    ]
    return str(crs["key"])


def test_notes_and_handover_are_audited_and_listed(
    client: TestClient, treated: Headers, as_role: AsRole, database: Database
) -> None:
    key = _open_crs(client, treated)
    nurse = as_role("nurse")
    r = client.post(
        f"/api/v1/alerts/{key}/notes", json={"text": " Paracetamol  given "}, headers=nurse
    )
    assert r.status_code == 201, r.text
    assert r.json()["text"] == "Paracetamol given"
    handover = {"text": "ICU bed requested", "kind": "handover", "to": "icu"}
    r = client.post(f"/api/v1/alerts/{key}/notes", json=handover, headers=treated)
    assert r.status_code == 201, r.text
    notes = client.get(f"/api/v1/alerts/{key}/notes", headers=as_role("monitor")).json()
    assert [(n["kind"], n["by"], n["to"]) for n in notes] == [
        ("note", "nurse-user", None),
        ("handover", "neurologist-user", "icu"),
    ]
    with database.reading() as s:
        actions = [
            e.action
            for e in s.scalars(select(AuditEntry).where(AuditEntry.entity_type == "alert_note"))
        ]
    assert actions == ["note", "handover"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": "   "}, "text"),
        ({"text": "x", "kind": "handover"}, "to"),
        ({"text": "x", "kind": "handover", "to": "cardiology"}, "to"),
        ({"text": "x", "kind": "shout"}, "kind"),
        ({"text": "x" * 1001}, "text"),
    ],
)
def test_bad_note_is_422_naming_the_field_and_stores_nothing(
    client: TestClient, treated: Headers, database: Database, body: dict[str, str], field: str
) -> None:
    key = _open_crs(client, treated)
    r = client.post(f"/api/v1/alerts/{key}/notes", json=body, headers=treated)
    assert r.status_code == 422, r.text
    assert field in r.text
    assert client.get(f"/api/v1/alerts/{key}/notes", headers=treated).json() == []


def test_resolve_closes_with_the_reason_and_the_monitor_agrees(
    client: TestClient, treated: Headers, as_role: AsRole, database: Database
) -> None:
    key = _open_crs(client, treated)
    assert (
        client.post(
            f"/api/v1/alerts/{key}/resolve", json={"reason": "x"}, headers=as_role("nurse")
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"/api/v1/alerts/{key}/resolve", json={"reason": ""}, headers=treated
        ).status_code
        == 422
    )
    r = client.post(
        f"/api/v1/alerts/{key}/resolve", json={"reason": "probe artefact"}, headers=treated
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "closed"
    again = client.post(f"/api/v1/alerts/{key}/resolve", json={"reason": "twice"}, headers=treated)
    assert again.status_code == 409
    one = client.get(f"/api/v1/alerts/{key}", headers=treated).json()
    assert one["status"] == "closed"
    with database.reading() as s:
        closes = [
            a.payload
            for a in s.scalars(select(AlertAction).where(AlertAction.alert_key == key))
            if a.kind == "close"
        ]
    assert [(c["user"], "probe artefact" in c["text"]) for c in closes] == [
        ("neurologist-user", True)
    ]  # the monitor ended the episode, once
    (note,) = client.get(f"/api/v1/alerts/{key}/notes", headers=treated).json()
    assert (note["kind"], note["text"]) == ("resolve", "probe artefact")
    # the condition still holds: the next fever opens a new episode, never silenced
    at = (T0 + timedelta(hours=2)).isoformat()
    client.post("/api/v1/patients/P-001/observations", json=_fever(38.9, at), headers=treated)
    open_keys = [
        a["key"]
        for a in client.get("/api/v1/alerts", params={"status": "open"}, headers=treated).json()[
            "items"
        ]
        if a["episode"] == "crs"
    ]
    assert open_keys
    assert key not in open_keys
