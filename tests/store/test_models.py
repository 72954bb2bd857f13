"""Model vocabulary: event types cover the shipped protocols; enums have one definition."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from neurocart.ingest.codes import Specimen
from neurocart.pathway import load_shipped, shipped_protocol_ids
from neurocart.security.roles import Role
from neurocart.store import models, repo
from neurocart.store.errors import InvalidRecordError


def _protocol_event_types() -> set[str]:
    found = set()
    for protocol_id in shipped_protocol_ids():
        for task in load_shipped(protocol_id).tasks:
            found |= {code.partition(":")[0] for code in task.completed_by.events}
    return found


def test_every_event_type_a_shipped_protocol_names_is_an_event_type():
    known = {t.value for t in models.EventType}
    referenced = _protocol_event_types()
    assert referenced, "the shipped protocols name no events: the test would prove nothing"
    assert sorted(referenced - known) == []


def test_frames_event_types_are_event_types():
    frames_types = {"relapse", "infection", "hospitalization", "adverse_event", "drug_given",
                    "maintenance_started", "maintenance_stopped", "mri", "lumbar_puncture",
                    "car_t_infusion", "leukapheresis", "death", "oxygen_support"}  # fmt: skip
    assert frames_types <= {t.value for t in models.EventType}


@pytest.mark.parametrize("kind", [models.EventType, models.Sex, models.Diagnosis, Role, Specimen])
def test_enum_values_fit_their_column(kind):
    assert max(len(m.value) for m in kind) <= models.ENUM_LENGTH


def test_one_definition_of_role_and_specimen():
    assert models.Role is Role
    assert models.Specimen is Specimen


def test_anchor_times_convention():
    course = models.TreatmentCourse(
        enrolment_date=date(2025, 1, 6), infusion_date=date(2025, 3, 3), infusion_at=None
    )
    assert course.anchor_times() == {
        "enrolment": datetime(2025, 1, 6, tzinfo=UTC),
        "apheresis": None,
        "ld_start": None,
        "infusion": datetime(2025, 3, 3, tzinfo=UTC),
    }
    course.infusion_at = datetime(2025, 3, 3, 14, 30, tzinfo=UTC)
    assert course.anchor_times()["infusion"] == course.infusion_at


@pytest.mark.parametrize(
    ("zone", "at"),
    [("UTC", datetime(2025, 3, 3, 23, 30, tzinfo=UTC)),
     ("Asia/Shanghai", datetime(2025, 3, 2, 23, 30, tzinfo=UTC))],
    ids=["UTC", "Asia/Shanghai"],
)  # fmt: skip
def test_infusion_at_sets_and_guards_infusion_date(database, admin, site_zone, zone, at):
    """The date is the infusion's date on the site's clock: 23:30 UTC on 3 March is 3 March
    in UTC, and so is 07:30 in Beijing on 3 March, which is 23:30 UTC on 2 March. A date that
    contradicts the instant is refused, naming the zone and the date it must be."""
    site_zone(zone)
    with database.transaction() as session:
        p = repo.create_patient(session, admin, repo.PatientIn("NC-1", "ERL", "male", "ms"))
        course = repo.create_course(session, admin, repo.CourseIn(p.id, "X", infusion_at=at))
        assert course.infusion_date == date(2025, 3, 3)
        moved = repo.update_course(session, admin, course.id, infusion_at=at + timedelta(days=1))
        assert moved.infusion_date == date(2025, 3, 4)
        with pytest.raises(InvalidRecordError) as caught:
            repo.update_course(session, admin, course.id, infusion_date=date(2025, 3, 9))
        assert caught.value.field == "infusion_date"
        with pytest.raises(InvalidRecordError) as caught:
            repo.create_course(
                session,
                admin,
                repo.CourseIn(p.id, "X", infusion_date=date(2025, 3, 2), infusion_at=at),
            )
        assert caught.value.field == "infusion_date"
        assert f"{zone}: 2025-03-03" in str(caught.value)
        with pytest.raises(InvalidRecordError) as caught:
            repo.create_course(
                session, admin, repo.CourseIn(p.id, "X", infusion_at=datetime(2025, 3, 3))
            )
        assert caught.value.field == "infusion_at"
        assert repo.infusions_to_redate(session) == []
        other = "UTC" if zone != "UTC" else "Asia/Shanghai"  # 23:30 is another day there
        assert [r.course_id for r in repo.infusions_to_redate(session, ZoneInfo(other))] == [
            course.id
        ]
    with database.reading() as session:
        assert repo.get_course(session, course.id).infusion_at == at + timedelta(days=1)
