"""The ward board's reads, in a fixed number of queries whatever the ward's size.

    facts = load(session, study_ids_with_alerts, now=now)

One query for the patients, one for their courses, one for deaths; the latest value of each
board vital, the latest CRS/ICANS/ICE assessment and the latest CRS/ICANS episode are each
read with one correlated "newest first, first row" subquery per code over the patients (the
(patient, code, time) indexes answer each in a seek). The schedule part — today's tasks and
overdue critical ones — comes from `neurocart.services.schedule.patient_schedules`, which
reads every fact of a patient: it is kept per process and recomputed only for the patients
whose facts changed since (new row ids in the clinical tables and the task table), and for
everybody every `SCHEDULE_REFRESH` as time moves tasks from upcoming to due.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from neurocart.i18n import site_zone
from neurocart.pathway import due_today, overdue_critical
from neurocart.services.schedule import deaths, patient_schedules
from neurocart.store import repo
from neurocart.store.models import (
    Assessment,
    ClinicalEvent,
    EventType,
    Observation,
    Patient,
    Task,
    TreatmentCourse,
    day_start,
)
from neurocart.studyday import study_day

ACUTE_DAYS = range(0, 15)
BOARD_CODES = ("8310-5", "8480-6", "8462-4", "59408-5", "8867-4")
BOARD_INSTRUMENTS = ("crs", "icans", "ice")
EPISODES = (EventType.CRS, EventType.ICANS)
SKEW = timedelta(minutes=5)
LOOKBACK = timedelta(days=2)
"""Vitals older than two days before the infusion are not shown as "latest"."""
SCHEDULE_REFRESH = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class BoardPatient:
    """A patient on the board, with the study day (`neurocart.studyday`) the board sorts and
    labels by."""

    id: int
    study_id: str
    diagnosis: str
    day: int | None
    infusion: datetime | None


@dataclass
class BoardFacts:
    """What the board reads for its patients in one pass: latest vitals, assessments, episodes and
    tasks per patient.
    """

    patients: list[BoardPatient]
    vitals: dict[int, dict[str, Any]] = field(default_factory=dict)
    assessments: dict[int, list[Any]] = field(default_factory=dict)
    episodes: dict[int, list[Any]] = field(default_factory=dict)
    tasks: dict[int, list[Any]] = field(default_factory=dict)


def load(session: Session, with_alerts: set[str], *, now: datetime) -> BoardFacts:
    """The board's patients (acute, alive — or with an open alert) and what their cards show."""
    people = session.execute(select(Patient.id, Patient.study_id, Patient.diagnosis)).all()
    ids = [p.id for p in people]
    infusions = _infusions(session)
    died = deaths(session, ids)
    zone = site_zone()
    chosen: list[BoardPatient] = []
    for pid, sid, diagnosis in people:
        infusion = infusions.get(pid)
        day = study_day(infusion, now, zone)  # the site's calendar day, as the chart counts
        acute = day is not None and day in ACUTE_DAYS and not (pid in died and died[pid] <= now)
        if acute or sid in with_alerts:
            chosen.append(BoardPatient(pid, sid, diagnosis.value, day, infusion))
    facts = BoardFacts(chosen)
    chosen_ids = [p.id for p in chosen]
    until = now + SKEW
    floor = {p.id: (p.infusion or now) - LOOKBACK for p in chosen}
    for pid, obs in _latest(session, Observation, Observation.code, BOARD_CODES, chosen_ids, until):
        if obs.effective_at >= floor[pid]:
            facts.vitals.setdefault(pid, {})[obs.code] = obs
    for pid, row in _latest(
        session, Assessment, Assessment.instrument, BOARD_INSTRUMENTS, chosen_ids, until
    ):
        facts.assessments.setdefault(pid, []).append(row)
    for pid, row in _latest(session, ClinicalEvent, ClinicalEvent.type, EPISODES, chosen_ids, None):
        facts.episodes.setdefault(pid, []).append(row)
    facts.tasks = schedule_cache(session).tasks(
        session, [p.id for p in chosen if p.day in ACUTE_DAYS], now
    )
    return facts


def _infusions(session: Session) -> dict[int, datetime | None]:
    """Patient id → infusion instant of the current (latest) course, as `anchor_times` says."""
    rows = session.execute(
        select(
            TreatmentCourse.patient_id, TreatmentCourse.infusion_at, TreatmentCourse.infusion_date
        ).order_by(TreatmentCourse.id)
    )
    return {pid: at or day_start(day) for pid, at, day in rows}  # by id: the latest wins


_COLUMNS: dict[Any, tuple[str, ...]] = {
    Observation: ("id", "patient_id", "code", "value", "unit", "effective_at"),
    Assessment: ("id", "patient_id", "instrument", "value", "label", "effective_at"),
    ClinicalEvent: ("id", "patient_id", "type", "onset_at", "end_at", "grade"),
}
"""What the board reads of each row (plain columns: building ORM objects cost most)."""


def _latest(
    session: Session,
    model: Any,
    column: Any,
    values: Iterable[Any],
    patient_ids: list[int],
    until: datetime | None,
) -> list[tuple[int, Any]]:
    """(patient id, newest current row) for each of `values` of `column`, per patient."""
    time = model.onset_at if model is ClinicalEvent else model.effective_at
    wanted: list[int] = []
    for value in values:
        newest = select(model.id).where(
            model.patient_id == Patient.id, column == value, repo.current(model)
        )
        if until is not None:
            newest = newest.where(time <= until)
        first = newest.order_by(time.desc(), model.id.desc()).limit(1).scalar_subquery()
        for chunk in repo.id_chunks(patient_ids):
            found = session.scalars(select(first).where(Patient.id.in_(chunk)))
            wanted.extend(i for i in found if i is not None)
    out: list[tuple[int, Any]] = []
    for chunk in repo.id_chunks(wanted):
        columns = [getattr(model, name) for name in _COLUMNS[model]]
        for row in session.execute(select(*columns).where(model.id.in_(chunk))):
            out.append((row.patient_id, row))
    return out


@dataclass
class _Entry:
    tasks: list[Any]
    at: datetime


class ScheduleCache:
    """Board tasks per patient, recomputed when the patient's facts change or time has moved."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.marks: tuple[int, ...] | None = None
        self.entries: dict[int, _Entry] = {}

    def tasks(
        self, session: Session, patient_ids: list[int], now: datetime
    ) -> dict[int, list[Any]]:
        from neurocart.web.board import task_view

        marks = _marks(session)
        with self.lock:
            stale: set[int] = set()
            if self.marks is not None and marks != self.marks:
                stale = _changed(session, self.marks)
            self.marks = marks
            todo = [
                pid
                for pid in patient_ids
                if pid in stale
                or pid not in self.entries
                or abs(now - self.entries[pid].at) > SCHEDULE_REFRESH
            ]
            if todo:
                for pid, schedule in patient_schedules(session, todo, now=now).items():
                    views = [task_view(s) for s in due_today(schedule, site_zone())]
                    views += [task_view(s) for s in overdue_critical(schedule)]
                    self.entries[pid] = _Entry(views, now)
            return {pid: self.entries[pid].tasks for pid in patient_ids if pid in self.entries}


_TABLES: tuple[Any, ...] = (Observation, Assessment, ClinicalEvent, Task)


def _marks(session: Session) -> tuple[int, ...]:
    row = session.execute(
        select(*(select(func.max(m.id)).scalar_subquery() for m in _TABLES))
    ).one()
    return tuple(int(v or 0) for v in row)


def _changed(session: Session, marks: tuple[int, ...]) -> set[int]:
    """Patients with a row newer than `marks` in any of the tables (a few new rows: cheap)."""
    out: set[int] = set()
    for model, mark in zip(_TABLES, marks, strict=True):
        out.update(session.scalars(select(model.patient_id).where(model.id > mark).distinct()))
    return out


_CACHES: weakref.WeakKeyDictionary[Engine, ScheduleCache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def schedule_cache(session: Session) -> ScheduleCache:
    """The cache of the session's database (one per engine, dropped with it)."""
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    with _CACHES_LOCK:
        cache = _CACHES.get(engine)
        if cache is None:
            cache = _CACHES[engine] = ScheduleCache()
        return cache
