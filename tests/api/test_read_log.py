"""Who read what: the read log over HTTP, its query route, and an access log without study
IDs after a full run against a real server."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from neurocart.services import reads
from neurocart.store import Database, Patient, migrate
from neurocart.store.models import ReadLogEntry
from tests.api.conftest import T0, Headers, add_user, bearer, obs

AsRole = Callable[[str], Headers]


def _reads(database: Database) -> int:
    with database.reading() as session:
        return session.scalar(select(func.count()).select_from(ReadLogEntry)) or 0


def test_listing_a_patients_facts_is_one_logged_read(
    client: TestClient, as_role: AsRole, patient: Patient, database: Database
) -> None:
    nurse = as_role("nurse")
    rows = {"observations": [obs(37.0 + i / 10, effective_at=f"2025-03-03T0{i}:00:00Z")
                             for i in range(5)]}  # fmt: skip
    batch = client.post("/api/v1/patients/P-001/observations/batch", json=rows, headers=nurse)
    assert batch.status_code == 201, batch.text
    before = _reads(database)
    listed = client.get(
        "/api/v1/patients/P-001/observations", params={"code": "8310-5"}, headers=nurse
    )
    assert len(listed.json()["items"]) == 5
    assert _reads(database) == before + 1  # one row per request, not per fact
    assert client.get("/api/v1/patients/P-001", headers=nurse).status_code == 200
    assert client.get("/api/v1/patients/NOBODY", headers=nurse).status_code == 404
    assert _reads(database) == before + 2  # a refused read is not a read

    admin = as_role("admin")
    found = client.get("/api/v1/audit/reads", params={"study_id": "P-001"}, headers=admin)
    assert found.status_code == 200, found.text
    got = [(r["what"], r["actor"], r["role"], r["study_id"]) for r in found.json()["items"]]
    assert got == [
        ("patient", "nurse-user", "nurse", "P-001"),
        ("observations", "nurse-user", "nurse", "P-001"),
    ]
    assert found.json()["items"][1]["scope"] == {"code": "8310-5"}
    only = client.get("/api/v1/audit/reads", params={"what": "patient"}, headers=admin).json()
    assert [r["what"] for r in only["items"]] == ["patient"]
    assert client.get("/api/v1/audit/reads", headers=as_role("monitor")).status_code == 200
    assert client.get("/api/v1/audit/reads", headers=nurse).status_code == 403
    bad = client.get("/api/v1/audit/reads", params={"since": "yesterday"}, headers=admin)
    assert bad.status_code == 422


def test_the_read_log_is_paged_newest_first_with_its_filters_in_next(
    client: TestClient, as_role: AsRole, patient: Patient, database: Database
) -> None:
    nurse, admin = as_role("nurse"), as_role("admin")
    for _ in range(5):
        assert client.get("/api/v1/patients/P-001", headers=nurse).status_code == 200
        assert client.get("/api/v1/patients/P-001/events", headers=nurse).status_code == 200
    url = "/api/v1/audit/reads"
    first = client.get(url, params={"what": "patient", "limit": 2}, headers=admin)
    assert first.status_code == 200
    body = first.json()
    assert "what=patient" in body["next"]
    assert "limit=2" in body["next"]
    assert first.headers["link"] == f'<{body["next"]}>; rel="next"'
    pages = [body]
    while pages[-1]["next"] is not None:
        pages.append(client.get(pages[-1]["next"], headers=admin).json())
    assert [len(p["items"]) for p in pages] == [2, 2, 1]
    ids = [r["id"] for p in pages for r in p["items"]]
    assert ids == sorted(ids, reverse=True)  # newest first, each once
    assert len(set(ids)) == 5
    assert {r["what"] for p in pages for r in p["items"]} == {"patient"}
    client.get("/api/v1/patients/P-001", headers=nurse)  # a read added meanwhile
    rest = client.get(body["next"], headers=admin).json()["items"]
    assert [r["id"] for r in rest] == ids[2:4]  # the newer read shifts no page
    everything = client.get(url, params={"limit": 1000}, headers=admin).json()
    assert everything["next"] is None
    assert len(everything["items"]) == 11
    refused = client.get(url, params={"cursor": "bm90IGEga2V5"}, headers=admin)
    assert refused.status_code == 422
    assert [d["field"] for d in refused.json()["detail"]] == ["cursor"]
    assert client.get(url, params={"limit": 1001}, headers=admin).status_code == 422


def test_exports_and_cohort_listings_record_their_scope(
    client: TestClient, as_role: AsRole, patient: Patient, database: Database
) -> None:
    dm = as_role("data_manager")
    assert client.get("/api/v1/patients", params={"site": "HD"}, headers=dm).status_code == 200
    assert client.get("/fhir/Patient/P-001/$everything", headers=dm).status_code == 200
    with database.reading() as session:
        logged = reads.list_reads(session)
    assert [(r.what, r.study_id) for r in logged] == [("export:fhir", "P-001"), ("patients", None)]
    assert logged[1].scope == {"site": "HD", "patients": 1}


def test_alert_listings_details_and_notes_are_logged_reads(
    client: TestClient, as_role: AsRole, patient: Patient, database: Database
) -> None:
    doc = as_role("neurologist")
    course = {"product": "KYV-101", "infusion_date": str(T0.date() - timedelta(days=1))}
    assert (
        client.post("/api/v1/patients/P-001/courses", json=course, headers=doc).status_code == 201
    )
    for minute, t in ((0, 38.3), (30, 38.6), (59, 38.4)):
        row = obs(t, effective_at=(T0 + timedelta(minutes=minute)).isoformat())
        assert client.post("/api/v1/patients/P-001/observations", json=row, headers=doc).is_success
    before = _reads(database)
    shown = client.get("/api/v1/alerts", params={"status": "open"}, headers=doc).json()["items"]
    key = next(a["key"] for a in shown if a["episode"] == "crs")
    encoded = quote(key, safe="")
    assert client.get(f"/api/v1/alerts/{encoded}", headers=doc).status_code == 200
    assert client.get(f"/api/v1/alerts/{encoded}/notes", headers=doc).status_code == 200
    mine = client.get("/api/v1/alerts", params={"study_id": "P-001"}, headers=doc)
    assert mine.status_code == 200
    assert client.get("/api/v1/alerts/P-001:nothing:1", headers=doc).status_code == 404
    assert _reads(database) == before + 4  # one per request; a refused read is none
    with database.reading() as session:
        logged = reads.list_reads(session, actor="neurologist-user", limit=4)
    assert [(r.what, r.study_id) for r in reversed(logged)] == [
        ("alerts", None), ("alert", "P-001"), ("alert:notes", "P-001"), ("alerts", "P-001"),
    ]  # fmt: skip
    every, one, notes, filtered = reversed(logged)
    assert every.scope == {"status": "open", "alerts": len(shown), "study_ids": ["P-001"]}
    assert one.scope == {"key": key}
    assert notes.scope == {"key": key, "notes": 0}
    assert filtered.scope["study_id"] == "P-001"


def test_the_feed_message_list_is_a_logged_read(
    client: TestClient, as_role: AsRole, database: Database
) -> None:
    admin = as_role("admin")
    listed = client.get("/api/v1/feeds/messages", params={"status": "refused"}, headers=admin)
    assert listed.status_code == 200
    with database.reading() as session:
        (read,) = reads.list_reads(session, what="feeds:messages")
    assert (read.actor, read.scope) == ("admin-user", {"status": "refused", "messages": 0})


def test_an_edited_read_log_row_is_found(
    client: TestClient, as_role: AsRole, patient: Patient, database: Database
) -> None:
    nurse = as_role("nurse")
    client.get("/api/v1/patients/P-001", headers=nurse)
    client.get("/api/v1/patients/P-001/events", headers=nurse)
    with database.reading() as session:
        assert reads.check(session) == []
    with database.engine.begin() as connection:  # behind the application's back
        connection.execute(update(ReadLogEntry).where(ReadLogEntry.id == 1).values(actor="x"))
    with database.reading() as session:
        assert reads.check(session) == [1]


# --- the access log -------------------------------------------------------------------------

STUDY_IDS = ("NC-0006", "LOGSCAN-42")


def test_no_study_id_reaches_the_server_log(tmp_path: Path) -> None:
    """A whole ward's API sequence against `neurocart serve` (access log on, at INFO), then
    the log file is searched for every study ID, raw and URL-encoded."""
    from tests.api.server import Server

    db_url = f"sqlite:///{tmp_path / 'ward.db'}"
    database = Database.from_url(db_url)
    migrate.upgrade(database.engine)
    doc = bearer(database, add_user(database, "doc", "neurologist"))
    dm = bearer(database, add_user(database, "dm", "data_manager"))
    admin = bearer(database, add_user(database, "root", "admin"))
    database.dispose()
    log = tmp_path / "server.log"
    os.environ["NEUROCART_AUDIT_CHECKPOINT_DIR"] = str(tmp_path / "checkpoints")
    try:
        server = Server(db_url, log, log_level="info").start()
    finally:
        del os.environ["NEUROCART_AUDIT_CHECKPOINT_DIR"]
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            for sid in STUDY_IDS:
                new = {"study_id": sid, "site": "HD", "sex": "female", "diagnosis": "nmosd"}
                assert http.post("/api/v1/patients", json=new, headers=dm).status_code == 201
                course = {"product": "KYV-101", "infusion_date": str(T0.date() - timedelta(1))}
                r = http.post(f"/api/v1/patients/{sid}/courses", json=course, headers=doc)
                assert r.status_code == 201, r.text
                for h, t in enumerate((38.9, 39.4, 39.8)):
                    row = obs(t, effective_at=(T0 + timedelta(hours=h)).isoformat())
                    r = http.post(f"/api/v1/patients/{sid}/observations", json=row, headers=doc)
                    assert r.status_code == 201, r.text
                http.get(f"/api/v1/patients/{sid}", headers=doc)
                since = {"code": "8310-5", "since": "2025-03-01T00:00:00Z"}
                http.get(f"/api/v1/patients/{sid}/observations", params=since, headers=doc)
                http.get(f"/api/v1/patients/{sid}/events", headers=doc)
                http.get(f"/api/v1/patients/{sid}/assessments", headers=doc)
                http.get(f"/api/v1/patients/{sid}/schedule", headers=doc)
                http.get(f"/api/v1/alerts?study_id={sid}", headers=doc)
                http.get(f"/fhir/Patient/{sid}/$everything", headers=doc)
                http.get(f"/patients/{sid}")  # the chart page (redirected to the login)
                http.get(f"/api/v1/audit/reads?study_id={sid}", headers=admin)
            keys: list[str] = []
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and len(keys) < len(STUDY_IDS):
                alerts = http.get("/api/v1/alerts", params={"status": "open"}, headers=doc).json()[
                    "items"
                ]
                keys = sorted({a["key"] for a in alerts if a["key"].endswith(":crs:1")})
                time.sleep(0.2)
            assert len(keys) == len(STUDY_IDS), "the monitor raised no CRS alerts"
            for key in keys:
                encoded = quote(key, safe="")
                assert http.get(f"/api/v1/alerts/{encoded}", headers=doc).status_code == 200
                r = http.post(f"/api/v1/alerts/{encoded}/acknowledge", headers=doc)
                assert r.status_code == 200, r.text
            assert http.get("/api/v1/patients/NC-9999", headers=doc).status_code == 404
    finally:
        server.stop()
    text = log.read_text()
    assert '"GET /api/v1/patients/***/observations?code=***&since=***' in text  # it was logged
    assert "/api/v1/alerts/***/acknowledge" in text
    for sid in STUDY_IDS:
        for form in {sid, quote(sid, safe=""), sid.lower()}:
            assert form not in text, f"{form} in the server log"
    assert "NC-9999" not in text
