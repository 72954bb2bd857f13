"""The pages' view of the current course, the study day and the schedule (services' own).

Thin names over `neurocart.services.course` and `neurocart.services.schedule`, so that the
board, the chart and the forms ask the same questions the monitor and the API ask.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from neurocart.pathway import Schedule
from neurocart.services import schedule as schedules
from neurocart.services.course import current_course, infusion_of
from neurocart.store.models import Patient, TreatmentCourse
from neurocart.studyday import study_day as _study_day


def latest_course(session: Session, patient_id: int) -> TreatmentCourse | None:
    """The patient's current course (`neurocart.services.course`)."""
    return current_course(session, patient_id)


def infusion_at(course: TreatmentCourse | None) -> datetime | None:
    """The course's infusion instant (None when not infused)."""
    return infusion_of(course)


def study_day(at: datetime, infusion: datetime | None) -> int | None:
    """The study day of `at` (`neurocart.studyday`)."""
    return _study_day(infusion, at)


def patient_schedule(session: Session, patient: Patient, *, now: datetime) -> Schedule | None:
    """The schedule as of `now`, or None when the patient has no course to schedule from."""
    if current_course(session, patient.id) is None:
        return None
    return schedules.patient_schedule(session, patient.id, now=now)
