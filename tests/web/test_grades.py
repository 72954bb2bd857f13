"""The pages show the monitor's current grade with its source (one grade on every face)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete

from neurocart.security import Role
from neurocart.store import repo
from neurocart.store.models import MonitorStatus
from neurocart.web.grades import current_grades
from tests.web.conftest import World, client_as
from tests.web.seed import USERNAMES


def test_board_and_chart_show_the_monitors_grade_with_its_source(world: World) -> None:
    """The pages show the grade the monitor holds (the one its alert carries), named."""
    sid = world.seeded.acute[1]
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    doctor = USERNAMES[Role.HEMATOLOGIST]
    with world.database.transaction() as session:
        patient = repo.find_patient(session, sid)
        session.execute(delete(MonitorStatus).where(MonitorStatus.patient_id == patient.id))
        session.add(
            MonitorStatus(
                patient_id=patient.id, study_id=sid, crs_grade=3, crs_source="recorded",
                crs_at=now, crs_by=doctor, icans_grade=0, icans_source="derived",
                icans_at=now, updated_at=datetime.now(UTC),
            )
        )  # fmt: skip
        pid = patient.id
    with world.database.reading() as session:
        grades = current_grades(session, {pid: sid}, now=now)
    crs = grades[sid]["crs"]
    assert (crs.grade, [s.kind for s in crs.sources]) == (3, ["recorded"])
    assert grades[sid]["icans"].text == "none"
    client = client_as(world, Role.NEUROLOGIST)
    expected = f"grade 3 recorded by {doctor} at {now:%H:%M}"
    assert expected in client.get(f"/patients/{sid}").text
    assert expected in client.get("/board").text
