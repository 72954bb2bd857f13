"""One current grade with its sources: the higher of the recorded and the derived, both named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from neurocart.security import Role
from neurocart.store import repo
from neurocart.store.repo import AssessmentIn
from neurocart.web.alerts import AlertView
from neurocart.web.grades import GradeSource, combine, current_grades
from tests.web.conftest import World, client_as
from tests.web.seed import USERNAMES

AT = datetime(2026, 3, 3, 10, 40, tzinfo=UTC)


def test_the_higher_grade_wins_and_both_sources_are_named() -> None:
    derived = GradeSource("derived", 2, AT)
    recorded = GradeSource("recorded", 1, AT - timedelta(minutes=5), "dr.x")
    grade = combine("crs", [recorded, derived])
    assert grade.grade == 2
    assert grade.text == "grade 2"
    assert grade.source == (
        "grade 2 derived from the facts at 10:40 (monitor) · grade 1 recorded by dr.x at 10:35"
    )
    assert combine("crs", []).text == "not graded"


def test_board_chart_and_alert_show_the_same_grade(world: World) -> None:
    sid = world.seeded.acute[1]
    now = datetime.now(UTC)
    with world.database.transaction() as session:
        patient = repo.find_patient(session, sid)
        doctor = repo.get_user_by_username(session, USERNAMES[Role.HEMATOLOGIST])
        assert doctor is not None
        repo.add_assessment(
            session, doctor, AssessmentIn(patient.id, "crs", {"temperature_c": 38.6}, now)
        )
        pid = patient.id
    alert = AlertView(
        id="k", study_id=sid, rule="crs_grade_2_plus", title="CRS", severity="urgent",
        disciplines=("hematology",), text="", recommended="", opened_at=now, grade=2.0,
        episode="crs", updated_at=now,
    )  # fmt: skip
    with world.database.reading() as session:
        grades = current_grades(session, {pid: sid}, [alert], now=now + timedelta(seconds=1))
    crs = grades[sid]["crs"]
    assert crs.grade == 2
    assert [s.kind for s in crs.sources] == ["derived", "recorded"]
    assert f"recorded by {USERNAMES[Role.HEMATOLOGIST]}" in crs.source
    client = client_as(world, Role.NEUROLOGIST)
    chart = client.get(f"/patients/{sid}").text
    board = client.get("/board").text
    expected = f"grade 1 recorded by {USERNAMES[Role.HEMATOLOGIST]}"
    assert expected in chart
    assert expected in board
