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
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    Boolean,
    Integer,
    String,
    TextClause,
    bindparam,
    select,
    text,
)
from sqlalchemy.orm import Session

from neurocart.pathway import (
    DEFAULT_PROTOCOL,
    PATIENT_DIED,
    STANDARD_ANCHORS,
    Fact,
    Protocol,
    Schedule,
    compute_schedule,
    load_shipped,
)
from neurocart.pathway.schedule import FactKind, unmet_condition
from neurocart.services.course import check_protocol, current_course, current_courses
from neurocart.services.errors import NO_SUCH_TASK, NOT_A_SLOT_START, InvalidInputError, Problem
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
from neurocart.store.types import UTCDateTime

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


def facts_for_patient(session: Session, patient_id: int) -> list[Fact]:
    """The patient's current recorded facts as the pathway engine matches them.

    `ref` is ``"<kind>:<id>"`` (``observation:42``) so a done slot names the row behind it.
    """
    return facts_for_patients(session, [patient_id]).get(patient_id, [])


_MEASURED: tuple[tuple[FactKind, type[Observation] | type[Assessment], Any], ...] = (
    ("observation", Observation, Observation.code),
    ("assessment", Assessment, Assessment.instrument),
)
"""Fact kinds matched by one name column: (kind, model, the column naming the fact)."""


def facts_for_patients(
    session: Session, patient_ids: Iterable[int], *, observations: bool = True
) -> dict[int, list[Fact]]:
    """`facts_for_patient` of many patients in three queries per chunk of ids (patients
    without a recorded fact are absent); each list in the order the rows were stored.
    `observations=False` leaves observations out (read by window, `_observation_facts`)."""
    out: dict[int, list[Fact]] = {}
    measures = _MEASURED if observations else _MEASURED[1:]
    for chunk in repo.id_chunks(patient_ids):
        for measured, model, code in measures:
            rows = session.execute(
                select(model.patient_id, model.id, code, model.effective_at)
                .where(model.patient_id.in_(chunk), repo.current(model))
                .order_by(model.id)
            )
            for pid, i, name, at in rows:
                out.setdefault(pid, []).append(Fact(measured, name, at, f"{measured}:{i}"))
        events = session.execute(
            select(
                ClinicalEvent.patient_id,
                ClinicalEvent.id,
                ClinicalEvent.type,
                ClinicalEvent.drug,
                ClinicalEvent.onset_at,
            )
            .where(ClinicalEvent.patient_id.in_(chunk), repo.current(ClinicalEvent))
            .order_by(ClinicalEvent.id)
        )
        for pid, i, kind, drug, at in events:
            ref = f"event:{i}"
            facts = out.setdefault(pid, [])
            facts.append(Fact("event", kind.value, at, ref))
            if drug:
                facts.append(Fact("event", f"{kind.value}:{fold_name(drug)}", at, ref))
    return out


WINDOWED_READ_ABOVE = 5000
"""Observations of one patient above which their schedule reads observations window by
window (`_observation_facts`) instead of all of them: the cost then follows the protocol's
slots, not the length of the history."""
_WINDOWS_PER_QUERY = 200


@dataclass(frozen=True, slots=True)
class _Windows:
    """The observation windows a schedule can use: per code, [start, end] instants (clipped
    to `now`), and how many facts of one window can matter (`depth`)."""

    by_code: dict[str, list[tuple[datetime, datetime]]]
    depth: int


def _observation_windows(
    protocol: Protocol,
    anchors: Mapping[str, datetime | None],
    attributes: Mapping[str, Any],
    now: datetime,
) -> _Windows:
    """The windows of the slots of `protocol` that observations could complete.

    Why a few facts per window suffice: the engine gives each fact, in time order, to the
    earliest open slot of the task whose window holds it (`neurocart.pathway.schedule`), so
    the fact completing slot j is among the first d + 1 facts of slot j's window, d being the
    number of earlier slots whose windows reach into it (the only ones that can take facts
    of it first). A fact that is not among the first d + 1 of any window it falls in never
    completes a slot, and leaving it out changes no assignment: the schedule is the same."""
    by_code: dict[str, list[tuple[datetime, datetime]]] = {}
    depth = 0
    for task in protocol.tasks:
        codes = [code for kind, code in task.completed_by.keys if kind == "observation"]
        anchor = anchors.get(task.anchor)
        if not codes or anchor is None or unmet_condition(task, attributes):
            continue
        starts, ends = task.window_bounds
        for j, (start, end) in enumerate(zip(starts, ends, strict=True)):
            first, last = anchor + start, min(anchor + end, now)
            if first > last:
                continue
            depth = max(depth, j - bisect_left(ends, start))
            for code in codes:
                by_code.setdefault(code, []).append((first, last))
    return _Windows(by_code, depth)


def _observation_facts(session: Session, patient_id: int, windows: _Windows) -> list[Fact]:
    """The patient's current observations that `windows` can use: the first depth + 1 of
    each window (by time, then id), one index seek each, at most `_WINDOWS_PER_QUERY`
    windows per statement."""
    pieces = sorted({(code, w) for code, ws in windows.by_code.items() for w in ws})
    limit = windows.depth + 1
    found: dict[int, Fact] = {}
    for start in range(0, len(pieces), _WINDOWS_PER_QUERY):
        chunk = pieces[start : start + _WINDOWS_PER_QUERY]
        params: dict[str, Any] = {"p": patient_id, "no": False}
        for k, (code, (first, last)) in enumerate(chunk):
            params[f"c{k}"], params[f"s{k}"], params[f"e{k}"] = code, first, last
        for i, code, at in session.execute(_windows_statement(len(chunk), limit), params):
            found[i] = Fact("observation", code, at, f"observation:{i}")
    return [found[i] for i in sorted(found)]


@cache
def _windows_statement(windows: int, limit: int) -> TextClause:
    """One statement reading the first `limit` current observations of each of `windows`
    (code, start, end) windows: a UNION ALL of index seeks, built once per shape (parsing
    the text costs more than running it)."""
    when = UTCDateTime()
    terms = [
        "SELECT * FROM (SELECT o.id, o.code, o.effective_at FROM observations o"
        f" WHERE o.patient_id = :p AND o.code = :c{k}"
        f" AND o.effective_at >= :s{k} AND o.effective_at <= :e{k}"
        " AND o.entered_in_error = :no AND NOT EXISTS (SELECT 1 FROM observations n"
        " WHERE n.supersedes_id = o.id)"
        f" ORDER BY o.effective_at, o.id LIMIT {limit}) AS w{k}"
        for k in range(windows)
    ]
    binds: list[BindParameter[Any]] = [
        bindparam("p", type_=Integer()),
        bindparam("no", type_=Boolean()),
    ]
    for k in range(windows):
        binds += [
            bindparam(f"c{k}", type_=String()),
            bindparam(f"s{k}", type_=when),
            bindparam(f"e{k}", type_=when),
        ]
    statement = text(" UNION ALL ".join(terms)).bindparams(*binds)
    return statement.columns(id=Integer, code=String, effective_at=when)  # type: ignore[return-value]


def _long_history(session: Session, patient_id: int) -> bool:
    """Whether the patient has more than `WINDOWED_READ_ABOVE` observation rows (counted no
    further than that: the question costs the threshold at most, not the history)."""
    beyond = (
        select(Observation.id)
        .where(Observation.patient_id == patient_id)
        .limit(1)
        .offset(WINDOWED_READ_ABOVE)
    )
    return session.scalar(beyond) is not None


def anchors_for_patient(session: Session, patient_id: int) -> dict[str, datetime | None]:
    """Anchor instants of the current course (all None when the patient has no course yet)."""
    _patient(session, patient_id)
    return _anchors(current_course(session, patient_id))


def _anchors(course: TreatmentCourse | None) -> dict[str, datetime | None]:
    return dict.fromkeys(STANDARD_ANCHORS) if course is None else course.anchor_times()


def patient_attributes(session: Session, patient_id: int) -> dict[str, Any]:
    """The attributes protocol conditions test. None means "not recorded" (task not applicable).

    - ``diagnosis``, ``subtype``, ``sex``, ``birth_year`` — as stored;
    - ``prior_therapies`` — folded names; ``prior_anti_cd20`` — any of `ANTI_CD20` among them;
    - ``anti_hbc_positive`` — the latest current anti-HBc result (16933-4) is positive; None
      until one is recorded;
    - ``cns_compartment_studied`` — a lumbar puncture or any CSF observation is recorded.
    """
    patient = _patient(session, patient_id)
    return patients_attributes(session, [patient])[patient_id]


def patients_attributes(session: Session, patients: Sequence[Patient]) -> dict[int, dict[str, Any]]:
    """`patient_attributes` of many patients, three queries per chunk of ids."""
    anti_hbc: dict[int, float] = {}
    cns: set[int] = set()
    for chunk in repo.id_chunks(p.id for p in patients):
        latest = session.execute(
            select(Observation.patient_id, Observation.value)
            .where(
                Observation.patient_id.in_(chunk),
                Observation.code == ANTI_HBC,
                repo.current(Observation),
            )
            .order_by(Observation.effective_at, Observation.id)
        )
        anti_hbc.update((pid, value) for pid, value in latest)  # ascending: latest wins
        csf = select(Observation.patient_id).where(
            Observation.patient_id.in_(chunk),
            Observation.specimen == Specimen.CSF,
            repo.current(Observation),
        )
        cns.update(session.scalars(csf.distinct()))
        puncture = select(ClinicalEvent.patient_id).where(
            ClinicalEvent.patient_id.in_(chunk),
            ClinicalEvent.type == EventType.LUMBAR_PUNCTURE,
            repo.current(ClinicalEvent),
        )
        cns.update(session.scalars(puncture.distinct()))
    out = {}
    for patient in patients:
        therapies = [fold_name(t) for t in patient.prior_therapies]
        hbc = anti_hbc.get(patient.id)
        out[patient.id] = {
            "diagnosis": patient.diagnosis.value,
            "subtype": patient.subtype,
            "sex": patient.sex.value,
            "birth_year": patient.birth_year,
            "prior_therapies": therapies,
            "prior_anti_cd20": any(t in ANTI_CD20 for t in therapies),
            "anti_hbc_positive": None if hbc is None else hbc >= 1,
            "cns_compartment_studied": patient.id in cns,
        }
    return out


def died_at(session: Session, patient_id: int) -> datetime | None:
    """Onset of the patient's current (not superseded, not retracted) death event; the
    earliest if several were recorded; None for a patient not known to have died."""
    return deaths(session, [patient_id]).get(patient_id)


def deaths(session: Session, patient_ids: Iterable[int]) -> dict[int, datetime]:
    """`died_at` of many patients (those not known to have died are absent)."""
    out: dict[int, datetime] = {}
    for chunk in repo.id_chunks(patient_ids):
        rows = session.execute(
            select(ClinicalEvent.patient_id, ClinicalEvent.onset_at)
            .where(
                ClinicalEvent.patient_id.in_(chunk),
                ClinicalEvent.type == EventType.DEATH,
                repo.current(ClinicalEvent),
            )
            .order_by(ClinicalEvent.onset_at.desc(), ClinicalEvent.id.desc())
        )
        out.update((pid, at) for pid, at in rows)  # descending: the earliest wins
    return out


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
    if not _long_history(session, patient_id):
        schedules = patient_schedules(session, [patient_id], now=now, protocol_id=protocol_id)
        if patient_id not in schedules:
            raise NotFoundError("patient", patient_id, "patient_id")
        return schedules[patient_id]
    patient = _patient(session, patient_id)
    course = current_courses(session, [patient_id]).get(patient_id)
    protocol = load_shipped(_protocol_id(protocol_id, course))
    anchors = _anchors(course)
    attributes = patients_attributes(session, [patient])[patient_id]
    windows = _observation_windows(protocol, anchors, attributes, now)
    facts = facts_for_patients(session, [patient_id], observations=False).get(patient_id, [])
    facts += _observation_facts(session, patient_id, windows)
    death = deaths(session, [patient_id]).get(patient_id)
    return compute_schedule(
        protocol,
        anchors,
        facts,
        now=now,
        patient=attributes,
        ended_at=death,
        end_reason=PATIENT_DIED if death else None,
    )


def _protocol_id(given: str | None, course: TreatmentCourse | None) -> str:
    """The protocol of a schedule: the one asked for, else the course's, else the default."""
    return given or (course.protocol_id if course else None) or DEFAULT_PROTOCOL


def patient_schedules(
    session: Session,
    patient_ids: Iterable[int],
    *,
    now: datetime,
    protocol_id: str | None = None,
) -> dict[int, Schedule]:
    """`patient_schedule` of many patients, reading the store in a few queries per chunk of
    ids rather than several per patient (the monitor recomputes hundreds at a time). Unknown
    ids are absent from the answer.
    """
    patients: list[Patient] = []
    for chunk in repo.id_chunks(patient_ids):
        patients.extend(session.scalars(select(Patient).where(Patient.id.in_(chunk))))
    ids = [p.id for p in patients]
    courses = current_courses(session, ids)
    ended = deaths(session, ids)
    facts = facts_for_patients(session, ids)
    attributes = patients_attributes(session, patients)
    out = {}
    for pid in ids:
        course = courses.get(pid)
        death = ended.get(pid)
        out[pid] = compute_schedule(
            load_shipped(_protocol_id(protocol_id, course)),
            _anchors(course),
            facts.get(pid, []),
            now=now,
            patient=attributes[pid],
            ended_at=death,
            end_reason=PATIENT_DIED if death else None,
        )
    return out


def check_task_slot(
    session: Session,
    patient_id: int,
    *,
    protocol_id: str,
    task_id: str,
    slot_start: datetime,
    now: datetime,
) -> None:
    """Refuse a mark for a slot that is not in the patient's schedule (422 naming the field).

    A mark on a task the protocol does not have, or at a time no slot of that task starts,
    would be stored but never shown against a slot: a "done" nobody can find. `slot_start`
    must be a slot's window start as the schedule answers it (GET .../schedule).
    """
    check_protocol(protocol_id)
    schedule = patient_schedule(session, patient_id, now=now, protocol_id=protocol_id)
    starts = [s.window_start for s in schedule.slots if s.task_id == task_id]
    if not starts:
        message = NO_SUCH_TASK.format(protocol_id=protocol_id)
        raise InvalidInputError([Problem("task_id", message, task_id)])
    if slot_start not in starts:
        message = NOT_A_SLOT_START
        raise InvalidInputError([Problem("slot_start", message, slot_start.isoformat())])
