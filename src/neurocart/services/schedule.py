"""A patient's care-pathway schedule from the record: facts, anchors, attributes → Schedule.

    with db.reading() as session:
        plan = patient_schedule(session, patient_id, now=datetime.now(UTC))

The pathway engine is pure; this module is the one place the stored record is turned into
its inputs:

- **facts** (`facts_for_patient`): every current (not superseded, not retracted) observation
  as its code (``8310-5``, ``local:hbv_dna``), assessment as its instrument (``ice``), event as
  its type (``mri``); an event carrying a drug also as ``<type>:<drug>``
  (``drug_given:entecavir``), the drug name folded to the protocol spelling (lowercase, runs
  of other characters → ``_``: "Trimethoprim-Sulfamethoxazole" → ``trimethoprim_sulfamethoxazole``).
- **anchors** (`anchors_for_patient`): from the patient's current course (the latest one);
  dates become 00:00 UTC of that date and the infusion uses its recorded instant when there is
  one (`TreatmentCourse.anchor_times`, the one definition of that convention).
- **attributes** (`patient_attributes`): what protocol conditions test — see its docstring.
- **end of follow-up** (`died_at`): the onset of the patient's current death event; the
  engine then schedules nothing after it (the store records no other end of follow-up).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from neurocart.pathway import (
    DEFAULT_PROTOCOL,
    PATIENT_DIED,
    STANDARD_ANCHORS,
    Fact,
    Schedule,
    compute_schedule,
    load_shipped,
)
from neurocart.store import repo
from neurocart.store.errors import NotFoundError
from neurocart.store.models import (
    Assessment,
    ClinicalEvent,
    EventType,
    Observation,
    Patient,
    Specimen,
    TreatmentCourse,
)

ANTI_HBC = "16933-4"
"""Hepatitis B core antibody (qualitative, 0/1): decides `anti_hbc_positive`."""

ANTI_CD20 = frozenset(
    {"anti_cd20", "rituximab", "ocrelizumab", "ofatumumab", "ublituximab", "obinutuzumab"}
)
"""Prior therapies (folded names) that make `prior_anti_cd20` true."""

_NON_WORD = re.compile(r"[^a-z0-9]+")


def fold_name(name: str) -> str:
    """A drug or therapy name in protocol spelling: lowercase, other runs → ``_``."""
    return _NON_WORD.sub("_", name.casefold()).strip("_")


def _patient(session: Session, patient_id: int) -> Patient:
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise NotFoundError("patient", patient_id, "patient_id")
    return patient


def current_course(session: Session, patient_id: int) -> TreatmentCourse | None:
    """The patient's current treatment course: the most recently created one."""
    return session.scalar(
        select(TreatmentCourse)
        .where(TreatmentCourse.patient_id == patient_id)
        .order_by(TreatmentCourse.id.desc())
        .limit(1)
    )


def facts_for_patient(session: Session, patient_id: int) -> list[Fact]:
    """The patient's current recorded facts as the pathway engine matches them.

    `ref` is ``"<kind>:<id>"`` (``observation:42``) so a done slot names the row behind it.
    """
    facts: list[Fact] = []
    observations = session.execute(
        select(Observation.id, Observation.code, Observation.effective_at).where(
            Observation.patient_id == patient_id, repo.current(Observation)
        )
    )
    facts.extend(Fact("observation", code, at, f"observation:{i}") for i, code, at in observations)
    assessments = session.execute(
        select(Assessment.id, Assessment.instrument, Assessment.effective_at).where(
            Assessment.patient_id == patient_id, repo.current(Assessment)
        )
    )
    facts.extend(Fact("assessment", name, at, f"assessment:{i}") for i, name, at in assessments)
    events = session.execute(
        select(
            ClinicalEvent.id, ClinicalEvent.type, ClinicalEvent.drug, ClinicalEvent.onset_at
        ).where(ClinicalEvent.patient_id == patient_id, repo.current(ClinicalEvent))
    )
    for i, kind, drug, at in events:
        ref = f"event:{i}"
        facts.append(Fact("event", kind.value, at, ref))
        if drug:
            facts.append(Fact("event", f"{kind.value}:{fold_name(drug)}", at, ref))
    return facts


def anchors_for_patient(session: Session, patient_id: int) -> dict[str, datetime | None]:
    """Anchor instants of the current course (all None when the patient has no course yet)."""
    _patient(session, patient_id)
    course = current_course(session, patient_id)
    if course is None:
        return dict.fromkeys(STANDARD_ANCHORS)
    return course.anchor_times()


def patient_attributes(session: Session, patient_id: int) -> dict[str, Any]:
    """The attributes protocol conditions test. None means "not recorded" (task not applicable).

    - ``diagnosis``, ``subtype``, ``sex``, ``birth_year`` — as stored;
    - ``prior_therapies`` — folded names; ``prior_anti_cd20`` — any of `ANTI_CD20` among them;
    - ``anti_hbc_positive`` — the latest current anti-HBc result (16933-4) is positive; None
      until one is recorded;
    - ``cns_compartment_studied`` — a lumbar puncture or any CSF observation is recorded.
    """
    patient = _patient(session, patient_id)
    therapies = [fold_name(t) for t in patient.prior_therapies]
    anti_hbc = session.scalar(
        select(Observation.value)
        .where(
            Observation.patient_id == patient_id,
            Observation.code == ANTI_HBC,
            repo.current(Observation),
        )
        .order_by(Observation.effective_at.desc(), Observation.id.desc())
        .limit(1)
    )
    csf = session.scalar(
        select(Observation.id)
        .where(
            Observation.patient_id == patient_id,
            Observation.specimen == Specimen.CSF,
            repo.current(Observation),
        )
        .limit(1)
    )
    puncture = session.scalar(
        select(ClinicalEvent.id)
        .where(
            ClinicalEvent.patient_id == patient_id,
            ClinicalEvent.type == EventType.LUMBAR_PUNCTURE,
            repo.current(ClinicalEvent),
        )
        .limit(1)
    )
    return {
        "diagnosis": patient.diagnosis.value,
        "subtype": patient.subtype,
        "sex": patient.sex.value,
        "birth_year": patient.birth_year,
        "prior_therapies": therapies,
        "prior_anti_cd20": any(t in ANTI_CD20 for t in therapies),
        "anti_hbc_positive": None if anti_hbc is None else anti_hbc >= 1,
        "cns_compartment_studied": csf is not None or puncture is not None,
    }


def died_at(session: Session, patient_id: int) -> datetime | None:
    """Onset of the patient's current (not superseded, not retracted) death event; the
    earliest if several were recorded; None for a patient not known to have died."""
    return session.scalar(
        select(ClinicalEvent.onset_at)
        .where(
            ClinicalEvent.patient_id == patient_id,
            ClinicalEvent.type == EventType.DEATH,
            repo.current(ClinicalEvent),
        )
        .order_by(ClinicalEvent.onset_at, ClinicalEvent.id)
        .limit(1)
    )


def patient_schedule(
    session: Session, patient_id: int, *, now: datetime, protocol_id: str | None = None
) -> Schedule:
    """The patient's schedule as of `now` (tz-aware).

    The protocol is `protocol_id` if given, else the current course's, else the default
    (nad-cart-2025). A recorded death (`died_at`) ends follow-up: nothing due or overdue after
    it (slots read "patient died on <date>"). Raises NotFoundError (``patient_id``) for an
    unknown patient and neurocart.pathway.UnknownProtocolError for a protocol id that is not
    shipped.
    """
    _patient(session, patient_id)
    course = current_course(session, patient_id)
    chosen = protocol_id or (course.protocol_id if course else None) or DEFAULT_PROTOCOL
    protocol = load_shipped(chosen)
    anchors = course.anchor_times() if course else dict.fromkeys(STANDARD_ANCHORS)
    death = died_at(session, patient_id)
    return compute_schedule(
        protocol,
        anchors,
        facts_for_patient(session, patient_id),
        now=now,
        patient=patient_attributes(session, patient_id),
        ended_at=death,
        end_reason=PATIENT_DIED if death else None,
    )
