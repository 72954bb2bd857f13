"""The current course and the study day: defined here once, used by every face and service.

**Current course.** A patient may be treated more than once; the course the ward, the
monitor, the schedule, the reports and the exports talk about is the *most recently created*
course of the patient. A new course is opened when a retreatment is planned, and from then on
its pathway (screening, apheresis, ...) is the one that is due; the earlier course's
follow-up is history. A course that is not infused yet has no study day.

**Study day.** `neurocart.studyday.study_day` of the current course's infusion instant (the
recorded `infusion_at`, else the infusion date's start): day 0 is the infusion day.

**Protocols.** A course names the care protocol its schedule follows; `check_protocol`
refuses an id that names no protocol at write time, so a typo can never reach the schedule
engine (where it used to stop the overdue-task checks of the whole ward).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from neurocart import monitor
from neurocart.pathway import shipped_protocol_ids
from neurocart.services.errors import NO_SUCH_PROTOCOL, InvalidInputError, Problem
from neurocart.store import repo
from neurocart.store.models import Patient, TreatmentCourse, User
from neurocart.studyday import study_day as study_day

__all__ = [
    "check_protocol",
    "context_of",
    "create_course",
    "current_course",
    "current_courses",
    "infusion_of",
    "load_contexts",
    "study_day",
    "study_day_of",
    "update_course",
]


def current_course(session: Session, patient_id: int) -> TreatmentCourse | None:
    """The patient's current treatment course (the most recently created), or None."""
    return current_courses(session, [patient_id]).get(patient_id)


def current_courses(
    session: Session, patient_ids: Iterable[int] | None = None
) -> dict[int, TreatmentCourse]:
    """Patient id → current course, for those of `patient_ids` (default: all) that have one."""
    out: dict[int, TreatmentCourse] = {}
    if patient_ids is None:
        for course in session.scalars(select(TreatmentCourse).order_by(TreatmentCourse.id)):
            out[course.patient_id] = course  # ordered by id: the latest wins
        return out
    for chunk in repo.id_chunks(patient_ids):
        query = (
            select(TreatmentCourse)
            .where(TreatmentCourse.patient_id.in_(chunk))
            .order_by(TreatmentCourse.id)
        )
        for course in session.scalars(query):
            out[course.patient_id] = course
    return out


def infusion_of(course: TreatmentCourse | None) -> datetime | None:
    """The infusion instant of a course (None when not infused or no course)."""
    return None if course is None else course.anchor_times()["infusion"]


def study_day_of(course: TreatmentCourse | None, at: datetime) -> int | None:
    """The study day of `at` in `course` (None when the course is not infused)."""
    return study_day(infusion_of(course), at)


def context_of(
    patient: Patient | tuple[str, str], course: TreatmentCourse | None
) -> monitor.PatientContext:
    """A patient's monitor context: the current course's anchors and the diagnosis."""
    if isinstance(patient, Patient):
        study_id, diagnosis = patient.study_id, patient.diagnosis.value
    else:
        study_id, diagnosis = patient
    anchors = course.anchor_times() if course is not None else {}
    return monitor.PatientContext(
        study_id,
        infusion_at=anchors.get("infusion"),
        ld_start_at=anchors.get("ld_start"),
        diagnosis=diagnosis,
    )


def load_contexts(
    session: Session, patient_ids: Iterable[int] | None = None
) -> dict[int, monitor.PatientContext]:
    """Patient id → monitor context, for `patient_ids` (default: every patient)."""
    patients = select(Patient.id, Patient.study_id, Patient.diagnosis)
    wanted = None if patient_ids is None else list(set(patient_ids))
    if wanted is not None:
        patients = patients.where(Patient.id.in_(wanted))
    courses = current_courses(session, wanted)
    return {
        pid: context_of((sid, diagnosis.value), courses.get(pid))
        for pid, sid, diagnosis in session.execute(patients)
    }


def check_protocol(protocol_id: str | None) -> None:
    """Refuse a protocol id that names no shipped protocol (422 naming ``protocol_id``)."""
    if protocol_id is None:
        return
    known = shipped_protocol_ids()
    if protocol_id not in known:
        message = NO_SUCH_PROTOCOL.format(known=", ".join(sorted(known)))
        raise InvalidInputError([Problem("protocol_id", message, protocol_id)])


def create_course(session: Session, actor: User | None, item: repo.CourseIn) -> TreatmentCourse:
    """Open a treatment course (audited); its protocol must exist."""
    check_protocol(item.protocol_id)
    return repo.create_course(session, actor, item)


def update_course(
    session: Session, actor: User | None, course_id: int, **changes: Any
) -> TreatmentCourse:
    """Change a course's fields (audited); a new protocol id must exist."""
    if "protocol_id" in changes:
        check_protocol(changes["protocol_id"])
    return repo.update_course(session, actor, course_id, **changes)
