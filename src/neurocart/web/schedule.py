"""A patient's care-pathway schedule for the pages: the service's, or computed the same way.

`neurocart.services.schedule.patient_schedule` is the one place that turns the store into a
schedule; while it is not there, this module does it from the same parts (the course's
anchors, the protocol file, the recorded facts) so the board and the chart work on their own.
"""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from neurocart.pathway import (
    DEFAULT_PROTOCOL,
    PATIENT_DIED,
    Fact,
    Schedule,
    compute_schedule,
    load_shipped,
)
from neurocart.store import repo
from neurocart.store.models import EventType, Patient, TreatmentCourse


def latest_course(session: Session, patient_id: int) -> TreatmentCourse | None:
    """The patient's most recent CAR-T course (by infusion, then creation)."""
    courses = repo.list_courses(session, patient_id)
    if not courses:
        return None
    return max(courses, key=lambda c: (infusion_at(c) or _EARLIEST, c.created_at, c.id))


_EARLIEST = datetime.min.replace(tzinfo=UTC)


def infusion_at(course: TreatmentCourse | None) -> datetime | None:
    return None if course is None else course.anchor_times()["infusion"]


def study_day(at: datetime, infusion: datetime | None) -> int | None:
    """Whole days since infusion (day 0 = the infusion day's 24 h from the infusion anchor)."""
    if infusion is None:
        return None
    return (at - infusion).days


def patient_schedule(session: Session, patient: Patient, *, now: datetime) -> Schedule | None:
    """The schedule as of `now`, or None when the patient has no course to schedule from."""
    service = _service()
    if service is not None:
        result: Schedule | None = service(session, patient.id, now=now)
        return result
    course = latest_course(session, patient.id)
    if course is None:
        return None
    protocol = load_shipped(course.protocol_id or DEFAULT_PROTOCOL)
    facts: list[Fact] = [
        Fact("observation", o.code, o.effective_at, o.id)
        for o in repo.list_observations(session, patient.id)
    ]
    facts += [
        Fact("assessment", a.instrument, a.effective_at, a.id)
        for a in repo.list_assessments(session, patient.id)
    ]
    events = repo.list_events(session, patient.id)
    for e in events:
        code = f"drug_given:{e.drug}" if e.type is EventType.DRUG_GIVEN and e.drug else e.type.value
        facts.append(Fact("event", code, e.onset_at, e.id))
    attributes: dict[str, Any] = {"diagnosis": patient.diagnosis.value, "sex": patient.sex.value}
    died = min((e.onset_at for e in events if e.type is EventType.DEATH), default=None)
    return compute_schedule(
        protocol,
        course.anchor_times(),
        facts,
        now=now,
        patient=attributes,
        ended_at=died,
        end_reason=PATIENT_DIED if died else None,
    )


def _service() -> Any:
    """services.schedule.patient_schedule when the services layer exists."""
    try:
        module = importlib.import_module("neurocart.services.schedule")
    except ImportError:
        return None
    return getattr(module, "patient_schedule", None)
