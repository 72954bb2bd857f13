"""Working an alert from the pages: a note, a hand-over, a resolution with its reason."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import insert, select

from neurocart.security import Role
from neurocart.services.alerts import StoreAlerts
from neurocart.store import Database, Patient
from neurocart.store.models import Alert, AuditEntry, Base
from neurocart.web import install, set_alert_provider
from tests.web.conftest import World, client_as
from tests.web.seed import seed_cohort, seed_users


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    database = Database.from_url(f"sqlite:///{tmp_path / 'neurocart.db'}")
    Base.metadata.create_all(database.engine)
    seed_users(database)
    now = datetime.now(UTC)
    seeded = seed_cohort(database, now=now, patients=2, acute=1, seed=5)
    study_id = seeded.acute[0]
    with database.transaction() as session:
        pid = session.scalar(select(Patient.id).where(Patient.study_id == study_id))
        session.execute(
            insert(Alert).values(
                key=f"{study_id}:crs:1", study_id=study_id, patient_id=pid, rule_id="crs_fever",
                episode="crs", severity="urgent", grade=2.0, status="open",
                disciplines=["hematology", "nursing"], tier=1, title="CRS grade 2",
                text=f"{study_id} · day 2: CRS grade 2", recommended="Tocilizumab.",
                source="Lee 2019", values={}, opened_at=now - timedelta(minutes=20),
                updated_at=now - timedelta(minutes=20),
            )
        )  # fmt: skip
    app = FastAPI()
    app.state.database = database
    install(app)
    set_alert_provider(app, StoreAlerts(lambda: 0))
    yield World(database, seeded, app)
    database.dispose()


def _chart(world: World, role: Role) -> str:
    page = client_as(world, role).get(f"/patients/{world.seeded.acute[0]}")
    assert page.status_code == 200
    return page.text


def test_a_nurse_notes_a_hematologist_hands_over_and_resolves(world: World) -> None:
    study_id = world.seeded.acute[0]
    key = f"{study_id}:crs:1"
    chart = f"/patients/{study_id}"
    nurse = client_as(world, Role.NURSE)
    assert 'action="/alerts/note"' in _chart(world, Role.NURSE)
    assert 'action="/alerts/resolve"' not in _chart(world, Role.NURSE)  # resolving is a physician's
    r = nurse.post(
        "/alerts/note",
        data={"alert_id": key, "text": "Paracetamol given", "next": chart},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"] == chart
    hematologist = client_as(world, Role.HEMATOLOGIST)
    hematologist.post(
        "/alerts/note", data={"alert_id": key, "text": "Bed requested", "to": "icu", "next": chart}
    )
    page = _chart(world, Role.HEMATOLOGIST)
    assert "Paracetamol given" in page
    assert "nurse.demo" in page
    assert "handed over to <strong>icu</strong>" in page
    assert 'action="/alerts/resolve"' in page
    blank = hematologist.post(
        "/alerts/resolve",
        data={"alert_id": key, "reason": "  ", "next": chart},
        follow_redirects=False,
    )
    assert "alert_error=reason" in blank.headers["location"]
    assert "reason" in hematologist.get(blank.headers["location"]).text
    hematologist.post(
        "/alerts/resolve", data={"alert_id": key, "reason": "drug fever", "next": chart}
    )
    assert key not in _chart(world, Role.HEMATOLOGIST)  # closed: off the open alerts
    with world.database.reading() as session:
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
        trail = [
            (e.entity_type, e.action, e.actor)
            for e in entries
            if e.entity_type in ("alert", "alert_note")
        ]
        status = session.scalar(select(Alert.status).where(Alert.key == key))
    assert trail == [
        ("alert_note", "note", "nurse.demo"),
        ("alert_note", "handover", "hematologist.demo"),
        ("alert", "resolve", "hematologist.demo"),
    ]
    assert status == "closed"


def test_a_handover_to_nobody_known_is_refused_and_stores_nothing(world: World) -> None:
    key = f"{world.seeded.acute[0]}:crs:1"
    hematologist = client_as(world, Role.HEMATOLOGIST)
    r = hematologist.post(
        "/alerts/note",
        data={"alert_id": key, "text": "x", "to": "cardiology"},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 200
    assert "to: not a discipline" in r.text
    assert (
        client_as(world, Role.MONITOR).post("/alerts/note", data={"alert_id": key}).status_code
        == 403
    )
    with world.database.reading() as session:
        kinds = session.scalars(select(AuditEntry.entity_type)).all()
    assert "alert_note" not in kinds
