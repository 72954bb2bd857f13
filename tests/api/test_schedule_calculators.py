"""The schedule (pathway engine through services.schedule), task marks, and calculators."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from neurocart.standards import REGISTRY
from neurocart.store import Patient
from tests.api.conftest import Headers

S = "/api/v1/patients/P-001/schedule"


def test_schedule_with_now_override_and_filters(
    client: TestClient, as_role: Callable[[str], Headers], patient: Patient
) -> None:
    heme = as_role("hematologist")
    unscheduled = client.get(S, headers=heme).json()
    assert unscheduled["counts"]["due"] == 0
    assert unscheduled["counts"]["not_scheduled"] > 0
    client.post(
        "/api/v1/patients/P-001/courses",
        json={"product": "KYV-101", "infusion_date": "2025-03-03"},
        headers=heme,
    )
    now = "2025-03-04T12:00:00Z"
    full = client.get(S, params={"now": now}, headers=heme).json()
    assert full["now"] == now
    assert full["anchors"]["infusion"] is not None
    assert full["counts"]["due"] > 0
    assert full["counts"]["overdue"] > 0
    due = client.get(S, params={"now": now, "state": "due"}, headers=heme).json()
    assert len(due["slots"]) == full["counts"]["due"]
    assert {s["state"] for s in due["slots"]} == {"due"}
    phase = due["slots"][0]["phase"]
    in_phase = client.get(S, params={"now": now, "phase": phase}, headers=heme).json()
    assert {s["phase"] for s in in_phase["slots"]} == {phase}
    naive = client.get(S, params={"now": "2025-03-04T12:00:00"}, headers=heme)
    assert naive.status_code == 422
    assert naive.json()["detail"][0]["field"] == "now"
    bad_state = client.get(S, params={"state": "sleeping"}, headers=heme)
    assert bad_state.json()["detail"][0]["field"] == "state[0]"
    assert client.get("/api/v1/patients/P-404/schedule", headers=heme).status_code == 404
    unknown = client.get(S, params={"protocol_id": "no-such-protocol"}, headers=heme)
    assert unknown.status_code in (404, 422)


def test_task_marks(
    client: TestClient, as_role: Callable[[str], Headers], patient: Patient
) -> None:
    nurse = as_role("nurse")
    client.post(
        "/api/v1/patients/P-001/courses",
        json={"product": "KYV-101", "infusion_date": "2025-03-03"},
        headers=as_role("hematologist"),
    )
    now = {"now": "2025-03-04T12:00:00Z"}
    slot = next(
        s for s in client.get(S, params=now, headers=nurse).json()["slots"] if s["window_start"]
    )
    mark = {
        "protocol_id": "nad-cart-2025",
        "task_id": slot["task_id"],
        "slot_start": slot["window_start"],
        "state": "skipped",
        "note": "patient off the ward",
    }
    made = client.put("/api/v1/patients/P-001/tasks", json=mark, headers=nurse)
    assert made.status_code == 200, made.text
    assert (
        client.put(
            "/api/v1/patients/P-001/tasks", json=mark | {"state": "done"}, headers=nurse
        ).json()["state"]
        == "done"
    )
    listed = client.get("/api/v1/patients/P-001/tasks", headers=nurse).json()
    assert [t["state"] for t in listed] == ["done"]
    bad = client.put("/api/v1/patients/P-001/tasks", json=mark | {"state": "??"}, headers=nurse)
    assert bad.json()["detail"][0]["field"] == "state"


def test_a_mark_must_name_a_slot_of_the_schedule(
    client: TestClient, as_role: Callable[[str], Headers], patient: Patient
) -> None:
    nurse = as_role("nurse")
    client.post(
        "/api/v1/patients/P-001/courses",
        json={"product": "KYV-101", "infusion_date": "2025-03-03"},
        headers=as_role("hematologist"),
    )
    slot = next(s for s in client.get(S, headers=nurse).json()["slots"] if s["window_start"])
    mark = {
        "protocol_id": "nad-cart-2025",
        "task_id": slot["task_id"],
        "slot_start": slot["window_start"],
        "state": "done",
    }
    refused = {
        "task_id": mark | {"task_id": "no-such-task"},
        "slot_start": mark | {"slot_start": "2031-01-01T00:00:00Z"},
        "protocol_id": mark | {"protocol_id": "no-such-protocol"},
    }
    for field, body in refused.items():
        answer = client.put("/api/v1/patients/P-001/tasks", json=body, headers=nurse)
        assert answer.status_code == 422, (field, answer.text)
        assert answer.json()["detail"][0]["field"] == field
    assert client.get("/api/v1/patients/P-001/tasks", headers=nurse).json() == []
    assert client.put("/api/v1/patients/P-001/tasks", json=mark, headers=nurse).status_code == 200


def test_calculators(client: TestClient, as_role: Callable[[str], Headers]) -> None:
    monitor = as_role("monitor")
    listed = client.get("/api/v1/calculators", headers=monitor).json()
    assert {c["name"] for c in listed} == set(REGISTRY)
    crs = next(c for c in listed if c["name"] == "crs")
    assert "temperature_c" in {f["name"] for f in crs["fields"]}
    result = client.post(
        "/api/v1/calculators/crs",
        json={"temperature_c": 38.6, "hypotension": True, "vasopressors": 1},
        headers=monitor,
    )
    assert result.status_code == 200
    assert result.json()["value"] == 3
    bad = client.post("/api/v1/calculators/crs", json={"temperature_c": "hot"}, headers=monitor)
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["field"] == "temperature_c"
    unknown = client.post("/api/v1/calculators/nope", json={}, headers=monitor)
    assert unknown.status_code == 404
    assert client.get("/api/v1/calculators/ice", headers=monitor).json()["name"] == "ice"
