"""Idempotent writes: Idempotency-Key replays the first answer; natural duplicates of
observations are reported, not stored twice."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, update

from neurocart.store import Database, Observation, Patient, audit
from neurocart.store.accounts import IdempotencyRecord
from neurocart.store.models import AuditEntry
from tests.api.conftest import Headers, obs

URL = "/api/v1/patients/P-001/observations"
EVENTS = "/api/v1/patients/P-001/events"


def _rows(database: Database) -> int:
    with database.reading() as s:
        return int(s.scalar(select(func.count(Observation.id))) or 0)


def _batch(n: int, source: str = "lab") -> dict[str, object]:
    return {
        "observations": [
            obs(36.5 + i / 10, effective_at=f"2025-03-03T08:{i:02d}:00Z", source=source)
            for i in range(n)
        ]
    }


def test_same_key_twice_stores_once_and_replays_the_first_answer(
    client: TestClient, as_role: Callable[[str], Headers], patient: Patient, database: Database
) -> None:
    nurse = as_role("nurse")
    headers = nurse | {"Idempotency-Key": "batch-0001"}
    first = client.post(f"{URL}/batch", json=_batch(5), headers=headers)
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    again = client.post(f"{URL}/batch", json=_batch(5), headers=headers)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert _rows(database) == 5
    other = client.post(f"{URL}/batch", json=_batch(6), headers=headers)
    assert other.status_code == 409
    assert other.json()["detail"][0]["field"] == "Idempotency-Key"
    assert _rows(database) == 5
    elsewhere = client.post(URL, json=obs(38.0), headers=headers)  # same key, other route
    assert elsewhere.status_code == 409
    single = nurse | {"Idempotency-Key": "one-0001"}
    made = client.post(URL, json=obs(38.1), headers=single)
    assert client.post(URL, json=obs(38.1), headers=single).json() == made.json()
    assert _rows(database) == 6


def test_keys_are_per_user_and_checked(
    client: TestClient, as_role: Callable[[str], Headers], patient: Patient, database: Database
) -> None:
    key = {"Idempotency-Key": "shared-key"}
    a = client.post(URL, json=obs(37.1), headers=as_role("nurse") | key)
    b = client.post(URL, json=obs(37.2), headers=as_role("icu") | key)
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]
    for bad in ("", "x" * 256, "bad key"):
        r = client.post(URL, json=obs(37.3), headers=as_role("nurse") | {"Idempotency-Key": bad})
        assert r.status_code == 422, bad
        assert r.json()["detail"][0]["field"] == "Idempotency-Key"
    assert _rows(database) == 2


def test_a_refused_write_keeps_no_key_and_expired_keys_are_purged(
    client: TestClient,
    app: FastAPI,
    as_role: Callable[[str], Headers],
    patient: Patient,
    database: Database,
) -> None:
    app.state.settings = app.state.settings.model_copy(update={"idempotency_ttl_hours": 0.01})
    nurse = as_role("nurse") | {"Idempotency-Key": "k-1"}
    bad = client.post(URL, json=obs(99.0), headers=nurse)  # impossible temperature: 422
    assert bad.status_code == 422
    assert client.post(URL, json=obs(37.0), headers=nurse).status_code == 201  # key still free
    now = datetime.now(UTC)
    app.state.auth_clock = lambda: now + timedelta(minutes=2)  # past the 36 s kept
    icu = as_role("icu") | {"Idempotency-Key": "k-2"}
    assert client.post(URL, json=obs(37.5), headers=icu).status_code == 201
    with database.reading() as s:
        keys = list(s.scalars(select(IdempotencyRecord.key)))
    assert keys == ["k-2"]  # k-1 expired and purged
    with database.reading() as s:  # the purge is in the chain: the record is recorded deleted
        assert audit.verify(s).ok
        purge = s.scalars(
            select(AuditEntry).where(AuditEntry.entity_type == "idempotency_key")
            .order_by(AuditEntry.seq)
        ).all()  # fmt: skip
    assert [e.actor for e in purge] == ["nurse-user", "icu-user", "icu-user"]  # k-1, purge, k-2
    assert [d for _, d in audit.batch_rows(purge[1].new, removals=True)] == [None]


def test_a_record_removed_behind_the_applications_back_is_found_by_verify(
    client: TestClient, as_role: Callable[[str], Headers], patient: Patient, database: Database
) -> None:
    """Why the records are audited: without its record the client's retry is stored a second
    time, and `verify` names the missing record; an edited answer is found as well."""
    icu = as_role("icu")
    fever = {"type": "adverse_event", "onset_at": "2025-03-03T08:00:00Z",
             "ctcae_term": "Fever", "grade": 2}  # fmt: skip
    headers = icu | {"Idempotency-Key": "event-0001"}
    first = client.post(EVENTS, json=fever, headers=headers)
    assert first.status_code == 201, first.text
    later = {**fever, "onset_at": "2025-03-03T09:00:00Z"}
    second = client.post(EVENTS, json=later, headers=icu | {"Idempotency-Key": "event-0002"})
    assert second.status_code == 201
    with database.reading() as s:
        assert audit.verify(s).ok
        record = s.scalars(
            select(IdempotencyRecord).where(IdempotencyRecord.key == "event-0001")
        ).one()
    with database.engine.begin() as connection:
        connection.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == record.id))
    retry = client.post(EVENTS, json=fever, headers=headers)
    assert "Idempotent-Replayed" not in retry.headers
    assert retry.json()["id"] != first.json()["id"]  # the same fever stored twice
    with database.reading() as s:
        problems = [str(p) for p in audit.verify(s).problems]
    assert any(f"idempotency_key {record.id}" in p and "missing" in p for p in problems)
    with database.engine.begin() as connection:
        connection.execute(update(IdempotencyRecord).values(response='{"count":0}'))
    with database.reading() as s:
        problems = [str(p) for p in audit.verify(s).problems]
    assert any("idempotency_key" in p and "behind the application" in p for p in problems)


def test_a_batch_reports_natural_duplicates_instead_of_storing_them(
    client: TestClient, as_role: Callable[[str], Headers], patient: Patient, database: Database
) -> None:
    nurse = as_role("nurse")
    first = client.post(f"{URL}/batch", json=_batch(3), headers=nurse).json()
    assert first["count"] == 3
    assert first["duplicates"] == []
    rows = _batch(3)["observations"]
    assert isinstance(rows, list)
    fahrenheit = obs(97.7, unit="[degF]", effective_at="2025-03-03T08:00:00Z", source="lab")
    again = client.post(
        f"{URL}/batch", json={"observations": [*rows, fahrenheit, obs(39.0), obs(39.0)]},
        headers=nurse,
    )  # fmt: skip
    assert again.status_code == 201, again.text
    body = again.json()
    assert body["count"] == 1  # only the first 39.0
    assert body["duplicates"] == [0, 1, 2, 3, 5]  # 36.5 °C = 97.7 °F; 39.0 twice in the batch
    assert body["ids"][:3] == first["ids"]
    assert body["ids"][3] == first["ids"][0]
    assert body["ids"][4] == body["ids"][5]
    assert _rows(database) == 4
    other_source = client.post(f"{URL}/batch", json=_batch(3, source="ward"), headers=nurse)
    assert other_source.json()["count"] == 3
    single = client.post(URL, json=rows[1], headers=nurse)
    assert single.json()["id"] == first["ids"][1]
    assert _rows(database) == 7
