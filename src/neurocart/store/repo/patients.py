"""Patients and their CAR-T courses: master data, updated in place and audited."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from itertools import pairwise
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from neurocart import studyday
from neurocart.store import audit
from neurocart.store.errors import (
    INFUSION_DATE,
    NOT_BEFORE_WHEN,
    NOT_EMPTY,
    POSITIVE,
    STUDY_ID_TAKEN,
    ConflictError,
    InvalidRecordError,
    NotFoundError,
)
from neurocart.store.models import (
    Diagnosis,
    Patient,
    Sex,
    TreatmentCourse,
    User,
)
from neurocart.store.pages import Page
from neurocart.store.repo._common import (
    KEEP,
    CourseIn,
    Keep,
    PatientIn,
    _actor_id,
    _aware,
    _changes,
    _choice,
    _created,
    _finite,
    _load,
    _require_patients,
    _rows,
    _updated,
)
from neurocart.store.types import utcnow


def create_patient(session: Session, actor: User | None, item: PatientIn) -> Patient:
    """Enrol a patient under a new study ID (audited); a study ID already in use is a conflict,
    never a second row."""
    audit.lock_chain(session)
    if not item.study_id.strip():
        raise InvalidRecordError("study_id", NOT_EMPTY, item.study_id)
    if session.scalar(select(Patient.id).where(Patient.study_id == item.study_id)) is not None:
        raise ConflictError(STUDY_ID_TAKEN.format(study_id=repr(item.study_id)), "study_id")
    patient = Patient(
        study_id=item.study_id,
        site=item.site,
        sex=_choice("sex", Sex, item.sex),
        birth_year=item.birth_year,
        diagnosis=_choice("diagnosis", Diagnosis, item.diagnosis),
        subtype=item.subtype,
        diagnosis_date=item.diagnosis_date,
        prior_therapies=list(item.prior_therapies),
        created_at=utcnow(),
        created_by=_actor_id(actor),
    )
    return _created(session, actor, patient)


def update_patient(
    session: Session,
    actor: User | None,
    patient_id: int,
    *,
    site: str | Keep = KEEP,
    sex: Sex | str | Keep = KEEP,
    birth_year: int | Keep | None = KEEP,
    diagnosis: Diagnosis | str | Keep = KEEP,
    subtype: str | Keep | None = KEEP,
    diagnosis_date: date | Keep | None = KEEP,
    prior_therapies: Sequence[str] | Keep = KEEP,
) -> Patient:
    """Change a patient's details (the study ID is the identity and never changes)."""
    audit.lock_chain(session)
    patient = _load(session, Patient, patient_id)
    changes = _changes(
        site=site,
        sex=sex,
        birth_year=birth_year,
        diagnosis=diagnosis,
        subtype=subtype,
        diagnosis_date=diagnosis_date,
        prior_therapies=prior_therapies,
    )
    if "sex" in changes:
        changes["sex"] = _choice("sex", Sex, changes["sex"])
    if "diagnosis" in changes:
        changes["diagnosis"] = _choice("diagnosis", Diagnosis, changes["diagnosis"])
    if "prior_therapies" in changes:
        changes["prior_therapies"] = list(changes["prior_therapies"])
    return _updated(session, actor, patient, changes)


def get_patient(session: Session, patient_id: int) -> Patient:
    """The patient with this row id, freshly read; NotFoundError names the id when there is none."""
    return _load(session, Patient, patient_id)


def find_patient(session: Session, study_id: str) -> Patient:
    """The patient with this study ID, or NotFoundError naming `study_id`."""
    patient = session.scalar(select(Patient).where(Patient.study_id == study_id))
    if patient is None:
        raise NotFoundError("patient", study_id, "study_id")
    return patient


def list_patients(
    session: Session, *, site: str | None = None, page: Page | None = None
) -> list[Patient]:
    """All patients by study ID (then id: the page key), optionally of one site."""
    query = select(Patient)
    if site is not None:
        query = query.where(Patient.site == site)
    return _rows(session, query, (Patient.study_id, Patient.id), page)


_COURSE_ORDER = ("enrolment_date", "apheresis_date", "ld_start_date", "infusion_date")


def _with_infusion_date(values: dict[str, Any]) -> dict[str, Any]:
    """Derive `infusion_date` from `infusion_at` or check that they agree.

    The date is the infusion's calendar date on the site's clock (`studyday.local_date`): the
    date the ward writes on the chart, and day 0 of the study day. An infusion at 07:00 in
    Beijing on 3 March is 23:00 UTC on 2 March; its date is 3 March.
    """
    at = values.get("infusion_at")
    _aware("infusion_at", at)
    if at is None:
        return values
    day = studyday.local_date(at)
    given = values.get("infusion_date")
    if given is None:
        return values | {"infusion_date": day}
    if given != day:
        zone = studyday.zone_name()
        raise InvalidRecordError(
            "infusion_date", INFUSION_DATE.format(zone=zone, day=day.isoformat()), given
        )
    return values


def _check_course(values: Mapping[str, Any]) -> None:
    dose = values.get("dose_cells_per_kg")
    _finite("dose_cells_per_kg", dose)
    if dose is not None and dose <= 0:
        raise InvalidRecordError("dose_cells_per_kg", POSITIVE, dose)
    dated = [(name, values[name]) for name in _COURSE_ORDER if values.get(name) is not None]
    for (before, earlier), (after, later) in pairwise(dated):
        if later < earlier:
            raise InvalidRecordError(
                after, NOT_BEFORE_WHEN.format(other=before, when=earlier), later
            )


def create_course(session: Session, actor: User | None, item: CourseIn) -> TreatmentCourse:
    """Store a treatment course for an existing patient (audited), with the infusion date derived
    from its instant when only that is given."""
    audit.lock_chain(session)
    _require_patients(session, [item.patient_id], "patient_id")
    values = {name: getattr(item, name) for name in CourseIn.__dataclass_fields__}
    values = _with_infusion_date(values)
    _check_course(values)
    course = TreatmentCourse(**values, created_at=utcnow(), created_by=_actor_id(actor))
    return _created(session, actor, course)


def update_course(
    session: Session,
    actor: User | None,
    course_id: int,
    *,
    product: str | Keep = KEEP,
    target: str | Keep | None = KEEP,
    dose_cells_per_kg: float | Keep | None = KEEP,
    lymphodepletion: str | Keep | None = KEEP,
    enrolment_date: date | Keep | None = KEEP,
    apheresis_date: date | Keep | None = KEEP,
    ld_start_date: date | Keep | None = KEEP,
    infusion_date: date | Keep | None = KEEP,
    protocol_id: str | Keep | None = KEEP,
    infusion_at: datetime | Keep | None = KEEP,
) -> TreatmentCourse:
    """Fill in or fix a course's details (dates are typically added as the course proceeds).

    Setting `infusion_at` alone also sets `infusion_date` to its date on the site's clock; an
    `infusion_date` that contradicts a recorded `infusion_at` is refused (clear `infusion_at`
    to move it).
    """
    audit.lock_chain(session)
    course = _load(session, TreatmentCourse, course_id)
    changes = _changes(
        product=product,
        target=target,
        dose_cells_per_kg=dose_cells_per_kg,
        lymphodepletion=lymphodepletion,
        enrolment_date=enrolment_date,
        apheresis_date=apheresis_date,
        ld_start_date=ld_start_date,
        infusion_date=infusion_date,
        protocol_id=protocol_id,
        infusion_at=infusion_at,
    )
    if changes.get("infusion_at") is not None and "infusion_date" not in changes:
        changes["infusion_date"] = None  # derived below from the new instant
    merged = {name: getattr(course, name) for name in CourseIn.__dataclass_fields__} | changes
    merged = _with_infusion_date(merged)
    changes = {k: merged[k] for k in changes}
    _check_course(merged)
    return _updated(session, actor, course, changes)


def get_course(session: Session, course_id: int) -> TreatmentCourse:
    """The course with this id, freshly read; NotFoundError when there is none."""
    return _load(session, TreatmentCourse, course_id)


def list_courses(session: Session, patient_id: int) -> list[TreatmentCourse]:
    """A patient's courses in the order they were created."""
    query = select(TreatmentCourse).where(TreatmentCourse.patient_id == patient_id)
    return list(session.scalars(query.order_by(TreatmentCourse.id)))


@dataclass(frozen=True)
class Redated:
    """A course whose `infusion_date` `redate_infusions` moved to its infusion's local date."""

    course_id: int
    study_id: str
    infusion_at: datetime
    old: date | None
    new: date


def infusions_to_redate(session: Session, zone: tzinfo | None = None) -> list[Redated]:
    """The courses whose `infusion_date` is not the date of `infusion_at` on the site's clock
    (default) or `zone`: what `redate_infusions` would change, read only."""
    query = (
        select(
            TreatmentCourse.id,
            Patient.study_id,
            TreatmentCourse.infusion_at,
            TreatmentCourse.infusion_date,
        )
        .join(Patient, Patient.id == TreatmentCourse.patient_id)
        .where(TreatmentCourse.infusion_at.is_not(None))
        .order_by(TreatmentCourse.id)
    )
    found = []
    for course_id, study_id, at, old in session.execute(query):
        assert at is not None  # selected so
        new = studyday.local_date(at, zone)
        if new != old:
            found.append(Redated(course_id, study_id, at, old, new))
    return found


def redate_infusions(
    session: Session, actor: User | str | None, zone: tzinfo | None = None
) -> list[Redated]:
    """Set every course's `infusion_date` to the date of its `infusion_at` on the site's clock
    (each change an audited update); returns the courses changed.

    `infusion_date` is derived when the course is written, on the clock the site had then.
    Databases written before dates were local (a course infused at 07:00 in Beijing dated the
    day before, its UTC date), and a site that changes `NEUROCART_TIMEZONE` after courses were
    recorded, hold dates of another clock; this puts them on the current one. The instants
    are untouched, so nothing the monitor or the pathway counts from them moves.
    `actor`: the user, or the name of the process (``migration:0015``) the audit records.
    """
    audit.lock_chain(session)
    changed = infusions_to_redate(session, zone)
    for item in changed:
        course = _load(session, TreatmentCourse, item.course_id)
        _updated(session, actor, course, {"infusion_date": item.new})
    return changed
