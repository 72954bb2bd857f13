"""The pages show the monitor's current grade with its source (one grade on every face)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import delete

from neurocart.security import Role
from neurocart.services.alerts import StoreAlerts
from neurocart.store import repo
from neurocart.store.models import Alert, MonitorStatus
from neurocart.web.grades import current_grades
from tests.web.conftest import World, client_as
from tests.web.seed import USERNAMES


def _hold_grades(world: World, sid: str, **grades: object) -> int:
    """Make the monitor's status row of `sid` hold `grades`; returns the patient's id."""
    with world.database.transaction() as session:
        patient = repo.find_patient(session, sid)
        session.execute(delete(MonitorStatus).where(MonitorStatus.patient_id == patient.id))
        session.add(
            MonitorStatus(
                patient_id=patient.id, study_id=sid, updated_at=datetime.now(UTC), **grades
            )
        )
        return patient.id


def test_board_and_chart_show_the_monitors_grade_with_its_source(world: World) -> None:
    """The pages show the grade the monitor holds (the one its alert carries), named."""
    sid = world.seeded.acute[1]
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    doctor = USERNAMES[Role.HEMATOLOGIST]
    pid = _hold_grades(
        world, sid, crs_grade=3, crs_source="recorded", crs_at=now, crs_by=doctor,
        icans_grade=0, icans_source="derived", icans_at=now,
    )  # fmt: skip
    with world.database.reading() as session:
        grades = current_grades(session, {pid: sid}, now=now)
    crs = grades[sid]["crs"]
    assert (crs.grade, [s.kind for s in crs.sources]) == (3, ["recorded"])
    assert grades[sid]["icans"].text == "none"
    client = client_as(world, Role.NEUROLOGIST)
    expected = f"grade 3 recorded by {doctor} at {now:%H:%M}"
    assert expected in client.get(f"/patients/{sid}").text
    assert expected in client.get("/board").text


def test_an_alert_beside_the_current_grade_leaves_out_where_its_grade_came_from_then(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An alert's findings are from when it last changed; the page shows the current grade
    and its source beside it, so the alert's old "derived from vitals" is not shown under a
    current grade "recorded by" a clinician."""
    sid = world.seeded.acute[0]
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    old = "current CRS grade derived from vitals and events"
    pid = _hold_grades(world, sid, crs_grade=2, crs_source="recorded", crs_at=now, crs_by="dr.wang")
    with world.database.transaction() as session:
        session.add(
            Alert(
                key=f"{sid}:crs:9", study_id=sid, patient_id=pid, rule_id="crs_grade_2",
                episode="crs", severity="urgent", grade=2, status="open",
                disciplines=["hematology"], tier=1, title="CRS grade ≥ 2",
                text=f"CRS grade ≥ 2. CRS grade (ASTCT) 2; {old}; "
                "CRS grade recorded by a clinician (last 24 h) 1; temperature 38.7 °C",
                recommended="", source="", values={}, opened_at=now, updated_at=now,
            )
        )  # fmt: skip
    monkeypatch.setattr(world.app.state, "web_alerts", StoreAlerts(lambda: 0), raising=False)
    page = client_as(world, Role.HEMATOLOGIST).get(f"/patients/{sid}").text
    card = page[page.index(f"{sid}:crs:9") :]
    card = card[: card.index("</li>")]
    assert "grade 2 recorded by dr.wang" in card
    assert "temperature 38.7 °C" in card
    assert old not in card
    assert "recorded by a clinician (last 24 h) 1" not in card
