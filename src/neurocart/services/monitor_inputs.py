"""The stored record as the monitor engine's inputs: contexts, facts, and the input journal.

The engine is deterministic for a given input stream (`neurocart.monitor.engine`), so what it
was fed live must be recoverable from the store, in the order it was fed:

- **facts** — every stored observation, assessment and event row, in acceptance order = the
  audit seq of the entry that wrote it (three tables, one chain; a batch entry,
  ``create_batch``, lists its rows' ids in order). Corrections are fed as the
  rows they are (an event correction supersedes the earlier version: it carries the id of the
  first version); a retracted event is fed as ended at its onset; retracted observations and
  assessments are not fed (the engine cannot unsee a value; the correction trail is in the
  record).
- **acknowledgements** — the audit entries ``alert``/``acknowledge`` the service writes;
- **timer inputs** — the audit entries ``monitor``/``overdue`` (a patient's overdue critical
  tasks changed) and ``monitor``/``tick`` (a tick that emitted actions), both written by the
  service in the same transaction as the actions they caused.

- **overdue critical tasks** — `OverdueTracker`: the ticker's input, kept per patient and
  recomputed only when the answer can have changed.

Contexts are today's (the current course's anchors and the diagnosis); baselines (ICE before
infusion, labs before lymphodepletion) the engine derives from the facts themselves, so a
live and a replayed engine see the same. Known limit: if a course's anchors changed after
facts were recorded, replay uses the new anchors throughout.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, or_, select, true
from sqlalchemy.orm import Session

from neurocart import monitor
from neurocart.pathway import Schedule, SlotState, overdue_critical
from neurocart.services.schedule import ANTI_HBC, patient_schedules
from neurocart.store.models import (
    Assessment,
    AuditEntry,
    ClinicalEvent,
    EventType,
    Observation,
    Patient,
    Specimen,
    TreatmentCourse,
)

BATCH_ACTION = "create_batch"
"""neurocart.store.audit's one entry for a batch of created rows (`new`: [[id, digest], ...])."""
FACT_TYPES: dict[str, type[Observation] | type[Assessment] | type[ClinicalEvent]] = {
    "observation": Observation,
    "assessment": Assessment,
    "event": ClinicalEvent,
}
ACK_ENTITY = "alert"
MONITOR_ENTITY = "monitor"
StoredFact = Observation | Assessment | ClinicalEvent


# --- contexts ------------------------------------------------------------------------------


def context_of(
    patient: Patient | tuple[str, str], course: TreatmentCourse | None
) -> monitor.PatientContext:
    """A patient's monitor context from the current course (the latest created)."""
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
    """Patient id → context, for `patient_ids` (default: every patient). Two queries."""
    patients = select(Patient.id, Patient.study_id, Patient.diagnosis)
    courses = select(TreatmentCourse).order_by(TreatmentCourse.id)
    if patient_ids is not None:
        wanted = list(set(patient_ids))
        patients = patients.where(Patient.id.in_(wanted))
        courses = courses.where(TreatmentCourse.patient_id.in_(wanted))
    latest: dict[int, TreatmentCourse] = {}
    for course in session.scalars(courses):
        latest[course.patient_id] = course  # ordered by id: the last one wins
    return {
        pid: context_of((sid, diagnosis.value), latest.get(pid))
        for pid, sid, diagnosis in session.execute(patients)
    }


# --- overdue critical tasks ----------------------------------------------------------------


@dataclass(frozen=True)
class _Picture:
    """One patient's overdue critical tasks as computed at `at`, and how long they hold."""

    token: tuple[Any, ...]
    """The patient's and current course's rows: master data is updated in place."""
    at: datetime
    tasks: list[monitor.OverdueTask]
    settled: datetime | None
    """Latest window end of an overdue task: a plain fact timed after it changes nothing."""
    until: datetime | None
    """Earliest critical window end (or pending death) at or after `at`: recompute then."""


def _special_observation() -> ColumnElement[bool]:
    """Rows that may change more than the slots containing them: corrections, retractions,
    and what `services.schedule.patient_attributes` reads (anti-HBc, any CSF value)."""
    return or_(
        Observation.supersedes_id.is_not(None),
        Observation.entered_in_error.is_(True),
        Observation.code == ANTI_HBC,
        Observation.specimen == Specimen.CSF,
    )


_CHANGES: dict[
    str, tuple[type[Observation] | type[Assessment] | type[ClinicalEvent], Any, ColumnElement[bool]]
] = {
    "observation": (Observation, Observation.effective_at, _special_observation()),
    "assessment": (
        Assessment,
        Assessment.effective_at,
        or_(Assessment.supersedes_id.is_not(None), Assessment.entered_in_error.is_(True)),
    ),
    "event": (ClinicalEvent, ClinicalEvent.onset_at, true()),  # rare; deaths end follow-up
}
"""Fact table → (model, time column, "recompute the patient whatever the time")."""


class OverdueTracker:
    """Patient id → overdue critical tasks (`pathway.overdue_critical` of `patient_schedule`),
    recomputing a patient's schedule only when the answer can have changed. Not thread-safe.

    A cached answer computed at `at` still holds at `now` unless: the patient's or current
    course's row changed (anchors, protocol, attributes); `now` reached a critical window end
    (a task may fall overdue) or a recorded death's onset (follow-up ends), or went back
    before `at`; or a fact arrived that is a correction, a retraction, an event or an input
    of the patient's attributes, or is timed at or before the latest overdue window end. The
    pathway's matching makes the last rule sound: a fact completes only a slot whose window
    contains it (later facts only later slots), and more facts never undo a done slot nor add
    an overdue one (tests/pathway/test_properties.py). New facts are found by id: the store
    has a single writer, so ids grow in commit order.
    """

    def __init__(self) -> None:
        self._pictures: dict[int, _Picture] = {}
        self._seen: dict[str, int] | None = None
        """Fact table → highest id whose row was accounted for."""
        self.computed = 0
        """Schedules computed so far (tests and diagnostics)."""

    def overdue(
        self, session: Session, patient_ids: Iterable[int], now: datetime
    ) -> dict[int, list[monitor.OverdueTask]]:
        """Overdue critical tasks of each of `patient_ids` as of `now` (tz-aware)."""
        self._forget_changed(session)
        tokens = _tokens(session)
        wanted = sorted(set(patient_ids))
        stale = [
            pid
            for pid in wanted
            if (picture := self._pictures.get(pid)) is None
            or picture.token != tokens.get(pid, ())
            or now < picture.at
            or (picture.until is not None and now >= picture.until)
        ]
        if stale:  # one bulk read for all of them: per-patient queries cost ~10× more
            deaths = _future_deaths(session, now)
            for pid, schedule in patient_schedules(session, stale, now=now).items():
                self.computed += 1
                self._pictures[pid] = _picture(schedule, tokens.get(pid, ()), now, deaths.get(pid))
        return {pid: self._pictures[pid].tasks for pid in wanted if pid in self._pictures}

    def _forget_changed(self, session: Session) -> None:
        """Drop the pictures that facts stored since the last call can have changed."""
        if self._seen is None:  # first call: every picture is computed afresh
            self._seen = {
                name: session.scalar(select(func.max(model.id))) or 0
                for name, (model, _, _) in _CHANGES.items()
            }
            self._pictures.clear()
            return
        for name, (model, time, special) in _CHANGES.items():
            rows = session.execute(
                select(
                    model.patient_id,
                    func.max(model.id),
                    func.min(time),
                    func.max(case((special, 1), else_=0)),
                )
                .where(model.id > self._seen[name])
                .group_by(model.patient_id)
            )
            for pid, top, earliest, any_special in rows:
                self._seen[name] = max(self._seen[name], top)
                picture = self._pictures.get(pid)
                if picture is None:
                    continue
                if any_special or (picture.settled is not None and earliest <= picture.settled):
                    del self._pictures[pid]


def _picture(
    schedule: Schedule, token: tuple[Any, ...], now: datetime, death: datetime | None
) -> _Picture:
    """What a schedule computed at `now` says about overdue critical tasks, and until when."""
    tasks = [monitor.OverdueTask.from_slot(s) for s in overdue_critical(schedule)]
    settled: datetime | None = None
    until = death
    for slot in schedule.slots:
        end = slot.window_end if slot.critical else None
        if end is None:
            continue
        if slot.state is SlotState.OVERDUE:
            settled = end if settled is None else max(settled, end)
        if end >= now:
            until = end if until is None else min(until, end)
    return _Picture(token, now, tasks, settled, until)


def _tokens(session: Session) -> dict[int, tuple[Any, ...]]:
    """Patient id → its row and its current (latest) course's row, every column."""
    courses: dict[int, tuple[Any, ...]] = {}
    for row in session.execute(select(*TreatmentCourse.__table__.c).order_by(TreatmentCourse.id)):
        courses[row.patient_id] = tuple(row)
    return {
        row.id: (tuple(row), courses.get(row.id))
        for row in session.execute(select(*Patient.__table__.c))
    }


def _future_deaths(session: Session, now: datetime) -> dict[int, datetime]:
    """Patient id → earliest recorded death onset after `now` (any version: a superset)."""
    rows = session.execute(
        select(ClinicalEvent.patient_id, func.min(ClinicalEvent.onset_at))
        .where(ClinicalEvent.type == EventType.DEATH, ClinicalEvent.onset_at > now)
        .group_by(ClinicalEvent.patient_id)
    )
    return {pid: at for pid, at in rows}  # noqa: C416


# --- facts ---------------------------------------------------------------------------------


class FactConverter:
    """Stored rows → monitor facts; caches study IDs and event lineage across calls."""

    def __init__(self) -> None:
        self.study_ids: dict[int, str] = {}
        self._event_roots: dict[int, int] = {}

    def study_id(self, session: Session, patient_id: int) -> str:
        sid = self.study_ids.get(patient_id)
        if sid is None:
            sid = session.scalar(select(Patient.study_id).where(Patient.id == patient_id))
            assert sid is not None, f"patient {patient_id} vanished"
            self.study_ids[patient_id] = sid
        return sid

    def known(self, session: Session, patient_ids: set[int]) -> dict[int, str]:
        """Patient id → study ID, loading the ones not seen yet (one query)."""
        missing = [p for p in patient_ids if p not in self.study_ids]
        if missing:
            rows = session.execute(
                select(Patient.id, Patient.study_id).where(Patient.id.in_(missing))
            )
            self.study_ids.update({pid: sid for pid, sid in rows})  # noqa: C416
        return self.study_ids

    def _event_root(self, session: Session, row: ClinicalEvent) -> int:
        if row.supersedes_id is None:
            self._event_roots[row.id] = row.id
            return row.id
        root = self._event_roots.get(row.supersedes_id)
        if root is None:
            root = row.supersedes_id
            while (up := session.get(ClinicalEvent, root)) is not None and up.supersedes_id:
                root = up.supersedes_id
        self._event_roots[row.id] = root
        return root

    def convert(self, session: Session, rows: Sequence[StoredFact]) -> list[monitor.Fact]:
        """The facts to feed for `rows` (in their order); see the module doc for retractions."""
        sids = self.known(session, {r.patient_id for r in rows})
        out: list[monitor.Fact] = []
        for row in rows:
            sid = sids[row.patient_id]
            if isinstance(row, Observation):
                if not row.entered_in_error:
                    out.append(
                        monitor.Observation(
                            sid, row.code, row.value, row.effective_at, row.unit,
                            row.specimen.value, row.id,
                        )
                    )  # fmt: skip
            elif isinstance(row, Assessment):
                if not row.entered_in_error:
                    out.append(
                        monitor.Assessment(
                            sid, row.instrument, row.effective_at, row.value,
                            dict(row.inputs), row.label, row.id,
                        )
                    )  # fmt: skip
            else:
                end = row.onset_at if row.entered_in_error else row.end_at
                out.append(
                    monitor.Event(
                        sid, row.type.value, row.onset_at, end, row.grade, row.ctcae_term,
                        row.drug, dict(row.details or {}), self._event_root(session, row),
                    )
                )  # fmt: skip
        return out


# --- the journal ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SetOverdue:
    """A journal entry: the patient's overdue critical tasks changed at `at`."""

    study_id: str
    tasks: tuple[monitor.OverdueTask, ...]
    at: datetime


Input = monitor.Fact | monitor.Ack | monitor.Tick | SetOverdue


def overdue_record(
    study_id: str, tasks: Sequence[monitor.OverdueTask], at: datetime
) -> dict[str, Any]:
    """The audit snapshot of a `SetOverdue` (what `history` reads back)."""
    return {
        "study_id": study_id,
        "at": at.isoformat(),
        "tasks": [
            {
                "task_id": t.task_id,
                "title": t.title,
                "discipline": t.discipline,
                "index": t.index,
                "window_end": t.window_end.isoformat() if t.window_end else None,
            }
            for t in tasks
        ],
    }


def _overdue_from(record: dict[str, Any]) -> SetOverdue:
    tasks = tuple(
        monitor.OverdueTask(
            t["task_id"],
            t["title"],
            t["discipline"],
            int(t["index"]),
            datetime.fromisoformat(t["window_end"]) if t["window_end"] else None,
        )
        for t in record["tasks"]
    )
    return SetOverdue(record["study_id"], tasks, datetime.fromisoformat(record["at"]))


def history(session: Session, study_ids: Iterable[str] | None = None) -> list[Input]:
    """Everything the live engine was fed, in the order it was fed (optionally for some
    patients only: a tick then still applies, to them)."""
    wanted = None if study_ids is None else set(study_ids)
    patient_ids: list[int] | None = None
    if wanted is not None:
        patient_ids = list(
            session.scalars(select(Patient.id).where(Patient.study_id.in_(list(wanted))))
        )
    converter = FactConverter()
    rows: dict[tuple[str, int], StoredFact] = {}
    for name, model in FACT_TYPES.items():
        query = select(model)
        if patient_ids is not None:
            query = query.where(model.patient_id.in_(patient_ids))
        for row in session.scalars(query.execution_options(yield_per=5000)):
            rows[(name, row.id)] = row  # type: ignore[assignment,attr-defined]
    wanted_new = case(
        (AuditEntry.entity_type.in_([ACK_ENTITY, MONITOR_ENTITY]), AuditEntry.new),
        (AuditEntry.action == BATCH_ACTION, AuditEntry.new),
        else_=None,
    )
    entries = session.execute(
        select(
            AuditEntry.seq, AuditEntry.entity_type, AuditEntry.entity_id, AuditEntry.action,
            wanted_new,
        )
        .where(AuditEntry.entity_type.in_([*FACT_TYPES, ACK_ENTITY, MONITOR_ENTITY]))
        .order_by(AuditEntry.seq)
        .execution_options(yield_per=10000)
    )  # fmt: skip
    out: list[Input] = []
    pending: list[StoredFact] = []

    def flush() -> None:
        if pending:
            out.extend(converter.convert(session, pending))
            pending.clear()

    for _seq, entity_type, entity_id, action, new in entries:
        if entity_type in FACT_TYPES:
            ids = [pair[0] for pair in json.loads(new)] if action == BATCH_ACTION else [entity_id]
            for row_id in ids:
                stored = rows.get((entity_type, row_id))
                if stored is not None:
                    pending.append(stored)
            continue
        if not new:
            continue
        record = json.loads(new)
        if entity_type == ACK_ENTITY and action == "acknowledge":
            if wanted is None or record.get("study_id") in wanted:
                flush()
                out.append(
                    monitor.Ack(
                        record["alert_key"],
                        record["acknowledged_by"],
                        datetime.fromisoformat(record["acknowledged_at"]),
                    )
                )
        elif entity_type == MONITOR_ENTITY and action == "overdue":
            if wanted is None or record["study_id"] in wanted:
                flush()
                out.append(_overdue_from(record))
        elif entity_type == MONITOR_ENTITY and action == "tick":
            flush()
            out.append(monitor.Tick(datetime.fromisoformat(record["at"])))
    flush()
    return out


def feed(engine: monitor.Engine, items: Iterable[Input]) -> Iterator[monitor.AlertAction]:
    """Apply journal items to `engine`, yielding the actions in emission order."""
    for item in items:
        if isinstance(item, SetOverdue):
            yield from engine.set_overdue(item.study_id, item.tasks, item.at)
        elif isinstance(item, monitor.Ack):
            try:
                yield from engine.acknowledge(item.alert_key, item.user, item.at)
            except monitor.UnknownAlertError:
                continue  # a rule file that never raised this alert (replay with new rules)
        else:
            yield from engine.apply(item)


def rebuild(
    session: Session,
    rules: monitor.RuleSet | None = None,
    study_ids: Iterable[str] | None = None,
) -> tuple[monitor.Engine, list[monitor.AlertAction]]:
    """A fresh engine fed the stored contexts and journal; returns it and its actions."""
    wanted = None if study_ids is None else set(study_ids)
    engine = monitor.Engine(rules)
    actions: list[monitor.AlertAction] = []
    for context in load_contexts(session).values():
        if wanted is None or context.study_id in wanted:
            actions.extend(engine.set_context(context))
    actions.extend(feed(engine, history(session, wanted)))
    return engine, actions
