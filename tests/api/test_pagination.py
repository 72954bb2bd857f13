"""Paged lists: every row once, in a stable order, filters kept in `next`, bad cursors 422."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from neurocart.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, encode_cursor
from neurocart.store import Database, Patient, repo
from neurocart.store.models import Alert
from tests.api.conftest import T0, Headers, obs, read_all

URL = "/api/v1/patients/P-001/observations"


@pytest.fixture
def nurse(as_role: Callable[[str], Headers], patient: Patient) -> Headers:
    return as_role("nurse")


def _post_rows(client: TestClient, headers: Headers, n: int) -> list[int]:
    """`n` observations, three at each time (ties the id must break), two codes."""
    at = [(T0 + timedelta(minutes=i // 3)).isoformat() for i in range(n)]
    rows = [
        obs(36.5 + (i % 10) / 10, effective_at=at[i])
        if i % 4
        else obs(70 + i % 20, "/min", code="8867-4", effective_at=at[i])
        for i in range(n)
    ]
    r = client.post(f"{URL}/batch", json={"observations": rows}, headers=headers)
    assert r.status_code == 201, r.text
    ids: list[int] = r.json()["ids"]
    return ids


def _pages(client: TestClient, url: str, headers: Headers, **params: Any) -> list[dict[str, Any]]:
    pages = [client.get(url, params=params, headers=headers)]
    while (body := pages[-1].json())["next"] is not None:
        assert pages[-1].headers["link"] == f'<{body["next"]}>; rel="next"'
        pages.append(client.get(body["next"], headers=headers))
    assert "link" not in pages[-1].headers
    assert all(p.status_code == 200 for p in pages)
    return [p.json() for p in pages]


def test_pages_hold_every_row_once_in_time_then_id_order(
    client: TestClient, nurse: Headers, database: Database, patient: Patient
) -> None:
    _post_rows(client, nurse, 25)
    pages = _pages(client, URL, nurse, limit=7)
    assert [len(p["items"]) for p in pages] == [7, 7, 7, 4]
    seen = [o["id"] for p in pages for o in p["items"]]
    with database.reading() as session:
        assert seen == [o.id for o in repo.list_observations(session, patient.id)]
    keys = [(o["effective_at"], o["id"]) for p in pages for o in p["items"]]
    assert keys == sorted(keys)
    assert len(set(seen)) == 25


def test_filters_and_limit_ride_along_in_next(client: TestClient, nurse: Headers) -> None:
    _post_rows(client, nurse, 25)
    until = (T0 + timedelta(minutes=6)).isoformat()
    pages = _pages(client, URL, nurse, code="8310-5", until=until, limit=3)
    assert "code=8310-5" in pages[0]["next"]
    assert "limit=3" in pages[0]["next"]
    items = [o for p in pages for o in p["items"]]
    assert {o["code"] for o in items} == {"8310-5"}
    assert len(items) == 13  # 18 rows before minute 6, 5 of them heart rates


def test_default_and_maximum_page_size(client: TestClient, nurse: Headers) -> None:
    _post_rows(client, nurse, DEFAULT_LIMIT + 1)
    first = client.get(URL, headers=nurse).json()
    assert len(first["items"]) == DEFAULT_LIMIT
    assert f"limit={DEFAULT_LIMIT}" in first["next"]
    assert len(client.get(first["next"], headers=nurse).json()["items"]) == 1
    for bad in (0, MAX_LIMIT + 1, "many"):
        r = client.get(URL, params={"limit": bad}, headers=nurse)
        assert r.status_code == 422, bad
        assert [d["field"] for d in r.json()["detail"]] == ["limit"]
    assert client.get(URL, params={"limit": MAX_LIMIT}, headers=nurse).status_code == 200


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "not*base64",
        _b64(b"not json"),
        _b64(b'{"t": 1}'),
        _b64(json.dumps([["i", 1]]).encode()),  # the shape of another list
        _b64(json.dumps([["t", "2025-03-03T08:00:00"], ["i", 1]]).encode()),  # naive time
        _b64(json.dumps([["t", "yesterday"], ["i", 1]]).encode()),
        _b64(json.dumps([["t", "2025-03-03T08:00:00+00:00"], ["i", "1"]]).encode()),
        _b64(json.dumps([["t", "2025-03-03T08:00:00+00:00"], ["i", 2**64]]).encode()),
        _b64(json.dumps([["t", "9999-12-31T23:00:00-05:00"], ["i", 1]]).encode()),  # not in UTC
        _b64(json.dumps([["t", "0001-01-01T00:00:00+05:00"], ["i", 1]]).encode()),
        encode_cursor(["P-001", 1]),
        "A" * 600,
    ],
)
def test_a_tampered_cursor_is_422_naming_cursor(
    client: TestClient, nurse: Headers, cursor: str
) -> None:
    r = client.get(URL, params={"cursor": cursor}, headers=nurse)
    assert r.status_code == 422, r.text
    assert [d["field"] for d in r.json()["detail"]] == ["cursor"]


def test_rows_added_between_pages_neither_repeat_nor_shift(
    client: TestClient, nurse: Headers
) -> None:
    _post_rows(client, nurse, 10)
    first = client.get(URL, params={"limit": 5}, headers=nurse).json()
    early = obs(35.9, effective_at=(T0 - timedelta(hours=1)).isoformat())  # before the page
    late = obs(38.9, effective_at=(T0 + timedelta(hours=1)).isoformat())
    client.post(f"{URL}/batch", json={"observations": [early, late]}, headers=nurse)
    rest = read_all(client.get, first["next"], headers=nurse)
    ids = [o["id"] for o in first["items"] + rest]
    assert len(ids) == len(set(ids)) == 11  # the late row read, the early one not re-read
    assert rest[-1]["value"] == 38.9


def test_patients_assessments_events_and_audit_are_paged(
    client: TestClient, as_role: Callable[[str], Headers], patient: Patient
) -> None:
    dm = as_role("data_manager")
    for i in range(2, 6):
        body = {"study_id": f"P-00{i}", "site": "HD", "sex": "male", "diagnosis": "mg"}
        assert client.post("/api/v1/patients", json=body, headers=dm).status_code == 201
    patients = read_all(client.get, "/api/v1/patients", params={"limit": 2}, headers=dm)
    assert [p["study_id"] for p in patients] == [f"P-00{i}" for i in range(1, 6)]
    trail = read_all(client.get, "/api/v1/audit", params={"limit": 2}, headers=dm)
    assert [e["seq"] for e in trail] == sorted(e["seq"] for e in trail)
    assert [e["entity_type"] for e in trail].count("patient") == 5
    only = read_all(
        client.get, "/api/v1/audit", params={"entity_type": "patient", "limit": 3}, headers=dm
    )
    assert len(only) == 5
    assert all(e["new"]["study_id"] for e in only)
    assert client.get("/api/v1/audit", headers=as_role("nurse")).status_code == 403
    ids = _post_rows(client, as_role("nurse"), 30)
    (batch,) = read_all(
        client.get, "/api/v1/audit", params={"entity_type": "observation"}, headers=dm
    )
    assert batch["action"] == "create_batch"
    assert batch["new"] == {"rows": 30, "first_id": min(ids)}  # not 30 digests on the page
    for path in ("assessments", "events"):
        page = client.get(f"/api/v1/patients/P-001/{path}", headers=as_role("neurologist"))
        assert page.status_code == 200
        assert page.json() == {"items": [], "next": None}


def _alert(key: str, minutes: int, disciplines: list[str]) -> Alert:
    at = T0 + timedelta(minutes=minutes)
    return Alert(
        key=key, study_id="P-001", rule_id="r", episode="crs", severity="high", grade=1.0,
        status="open", disciplines=disciplines, tier=0, title="t", text="x", recommended="y",
        source="s", values={}, opened_at=at, updated_at=at,
    )  # fmt: skip


def test_alerts_newest_first_and_the_discipline_filter_fills_pages(
    client: TestClient, as_role: Callable[[str], Headers], database: Database
) -> None:
    with database.transaction() as session:
        for i in range(9):
            session.add(_alert(f"A-{i}", i // 2, ["hematology"] if i % 3 else ["icu", "neuro"]))
    headers = as_role("neurologist")
    newest = read_all(client.get, "/api/v1/alerts", params={"limit": 2}, headers=headers)
    assert [a["key"] for a in newest] == [f"A-{i}" for i in reversed(range(9))]
    heme = read_all(
        client.get,
        "/api/v1/alerts",
        params={"discipline": "hematology", "limit": 2},
        headers=headers,
    )
    assert [a["key"] for a in heme] == ["A-8", "A-7", "A-5", "A-4", "A-2", "A-1"]
    wildcard = client.get("/api/v1/alerts", params={"discipline": "ic_"}, headers=headers)
    assert wildcard.json()["items"] == []  # `_` is a letter here, not a LIKE wildcard
