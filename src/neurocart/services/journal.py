"""The store's journal as the monitor engine's inputs, in the order they were committed.

Every write to the record appends an audit entry, and every writer holds the audit chain's
lock until it commits, so the audit `seq` is the commit order. The monitor reads that one
sequence, live and in replay alike; what it is fed, per entry:

- a **fact** — an observation, assessment or event row (a batch entry, ``create_batch``,
  lists its rows' ids in order). A correction is fed as the row it is (an event correction
  carries the id of the first version, so it supersedes it in the engine); a retracted event
  is fed as ended at its onset; retracted observations and assessments are not fed (the
  engine cannot unsee a value; the correction trail is in the record);
- a **context** — a patient or course written: the patient's current course (the most
  recently created, `neurocart.services.course`) taken from the entry's own snapshot, so the
  anchors in force at that point of the journal are the ones a replay uses too;
- an **acknowledgement** or a **resolution** — the entries ``alert``/``acknowledge`` and
  ``alert``/``resolve`` written by `neurocart.services.alerts`;
- **timer inputs** — ``monitor``/``overdue`` (a patient's overdue critical tasks changed) and
  ``monitor``/``tick`` (a tick that emitted actions), both written by the monitor leader in
  the same transaction as the actions they caused.

`Journal` keeps what the conversion needs across reads (study IDs, usernames, event lineage,
each patient's current course), so a live reader and a replay convert alike.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import Integer, Select, String, Table, bindparam, case, select, type_coerce
from sqlalchemy.orm import Session

from neurocart import monitor
from neurocart.services.schedule import ANTI_HBC
from neurocart.store import repo
from neurocart.store.audit import BATCH_ACTION
from neurocart.store.models import (
    Assessment,
    AuditEntry,
    ClinicalEvent,
    Observation,
    Patient,
    Specimen,
    TreatmentCourse,
    User,
)

FACT_TABLES: dict[str, Any] = {
    "observation": Observation,
    "assessment": Assessment,
    "event": ClinicalEvent,
}
ACK_ENTITY = "alert"
MONITOR_ENTITY = "monitor"
ALERT_ROW_ENTITY = "alert_row"
ACTION_ENTITY = "alert_action"
STATUS_ENTITY = "monitor_status"
CHECKPOINT_ENTITY = "monitor_checkpoint"
"""The audit entity types of the tables the leader writes (`neurocart.store.models.AUDITED`,
one batch entry per table and transaction for the rows it wrote, `write_batch`, and one
for those it created, `create_batch`); the journal does not read them, so the
leader's own entries never feed the engine."""
CONTEXT_ENTITIES = ("patient", "course")
JOURNAL_ENTITIES = (*FACT_TABLES, *CONTEXT_ENTITIES, ACK_ENTITY, MONITOR_ENTITY)


_AUDIT = cast(Table, AuditEntry.__table__).c
_OBSERVATION = cast(Table, Observation.__table__).c
_OBSERVATION_ROWS = select(
    _OBSERVATION.id, _OBSERVATION.patient_id, _OBSERVATION.code, _OBSERVATION.value,
    _OBSERVATION.effective_at, _OBSERVATION.unit,
    # the specimen as its stored text: the engine takes the text, not the enum
    type_coerce(_OBSERVATION.specimen, String), _OBSERVATION.entered_in_error,
    _OBSERVATION.supersedes_id, _OBSERVATION.code_system, _OBSERVATION.entered_by,
)  # fmt: skip
"""What the leader reads of each new observation (a table select built once: the leader
runs it on every step), in the order `Journal._fact_rows` unpacks it."""
_HEAD = select(_AUDIT.seq).order_by(_AUDIT.seq.desc()).limit(1)


@cache
def _entries_query(bounded: bool, limited: bool) -> Select[Any]:
    """The journal read, built once per shape: the leader runs it on every step, and a
    statement built anew is keyed and looked up in the compiled cache each time. Plain table
    columns, read in one round trip (the step's slice is bounded by `limit`)."""
    wanted_new = case(
        (_AUDIT.action == BATCH_ACTION, _AUDIT.new),
        (_AUDIT.entity_type.in_([*CONTEXT_ENTITIES, ACK_ENTITY, MONITOR_ENTITY]), _AUDIT.new),
        else_=None,
    )
    query = (
        select(_AUDIT.seq, _AUDIT.entity_type, _AUDIT.entity_id, _AUDIT.action, wanted_new)
        .where(_AUDIT.seq > bindparam("after"), _AUDIT.entity_type.in_(JOURNAL_ENTITIES))
        .order_by(_AUDIT.seq)
    )
    if bounded:
        query = query.where(_AUDIT.seq <= bindparam("upto"))
    if limited:
        query = query.limit(bindparam("limit", type_=Integer))
    return query


@dataclass(frozen=True)
class SetOverdue:
    """A journal entry: the patient's overdue critical tasks changed at `at`."""

    study_id: str
    tasks: tuple[monitor.OverdueTask, ...]
    at: datetime


@dataclass(frozen=True)
class SetContext:
    """A journal entry: a patient's context (current course, diagnosis) changed."""

    patient_id: int
    context: monitor.PatientContext


Input = monitor.Fact | monitor.Ack | monitor.Resolve | monitor.Tick | SetOverdue | SetContext


@dataclass(frozen=True)
class Entry:
    """One audit entry the monitor reads (`new` only where it is needed)."""

    seq: int
    entity_type: str
    entity_id: int
    action: str
    new: str | None


@dataclass(frozen=True)
class Fed:
    """An input and the patient it concerns (0 for a tick, which concerns everyone)."""

    seq: int
    patient_id: int
    item: Input


def overdue_record(
    study_id: str, tasks: Sequence[monitor.OverdueTask], at: datetime
) -> dict[str, Any]:
    """The audit snapshot of a `SetOverdue` (what the journal reads back)."""
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


def _when(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _day(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


def _course_from_snapshot(snap: dict[str, Any]) -> TreatmentCourse:
    """A transient course from its audit snapshot, for `TreatmentCourse.anchor_times`."""
    return TreatmentCourse(
        id=snap["id"],
        patient_id=snap["patient_id"],
        enrolment_date=_day(snap.get("enrolment_date")),
        apheresis_date=_day(snap.get("apheresis_date")),
        ld_start_date=_day(snap.get("ld_start_date")),
        infusion_date=_day(snap.get("infusion_date")),
        infusion_at=_when(snap.get("infusion_at")),
    )


@dataclass
class _Person:
    study_id: str
    diagnosis: str | None
    course_id: int = 0
    anchors: dict[str, datetime | None] = field(default_factory=dict)

    def context(self) -> monitor.PatientContext:
        return monitor.PatientContext(
            self.study_id,
            infusion_at=self.anchors.get("infusion"),
            ld_start_at=self.anchors.get("ld_start"),
            diagnosis=self.diagnosis,
        )


class Journal:
    """Reads journal entries and turns them into engine inputs; keeps its caches.

    `watch`: (code system, code) of observations whose arrival, correction or retraction the
    reader wants to hear of beyond the engine (the leader derives facts from them, e.g. the
    CSF indices): `take_watched` hands over the patients concerned. With `anchors`, only
    the patients who have had an observation of one of those codes (e.g. a CSF value: a
    routine serum albumin alone pairs with nothing) — known from the journal itself, so the
    leader asks the database nothing to tell them apart."""

    def __init__(
        self,
        watch: frozenset[tuple[str, str]] = frozenset(),
        anchors: frozenset[tuple[str, str]] | None = None,
    ) -> None:
        self.watch = watch
        self.anchors = anchors
        self.anchored: set[int] = set()
        """The patients with an observation of one of `anchors` (ever, any version)."""
        self.watched: dict[int, tuple[int, int]] = {}
        """Patient id → (journal seq, entering user id) of the last watched observation read
        since the last `take_watched`."""
        self._watched_rows: dict[int, int] = {}
        self.people: dict[int, _Person] = {}
        self.touched: dict[int, tuple[datetime | None, bool]] = {}
        """Patient id → (earliest fact time, whether any fact or change may move more than
        the schedule slots containing it) since the last `take_touched` (the overdue-task
        tracker's invalidation input)."""
        self._usernames: dict[int, str] = {}
        self._event_roots: dict[int, int] = {}

    def take_watched(self) -> dict[int, tuple[int, int]]:
        watched, self.watched = self.watched, {}
        return watched

    def take_touched(self) -> dict[int, tuple[datetime | None, bool]]:
        touched, self.touched = self.touched, {}
        return touched

    def _touch(self, pid: int, at: datetime | None, special: bool) -> None:
        old = self.touched.get(pid)
        if old is None:
            self.touched[pid] = (at, special)
            return
        earliest = old[0] if at is None or (old[0] is not None and old[0] <= at) else at
        self.touched[pid] = (earliest, old[1] or special)

    # --- reading ---

    @staticmethod
    def head(session: Session) -> int:
        """The highest committed audit seq (0 for an empty journal)."""
        return int(session.scalar(_HEAD) or 0)

    @staticmethod
    def entries(
        session: Session, after: int, *, upto: int | None = None, limit: int | None = None
    ) -> list[Entry]:
        """Entries the monitor reads with seq in (after, upto], in seq order."""
        query = _entries_query(upto is not None, limit is not None)
        params = {"after": after, "upto": upto, "limit": limit}
        return [Entry(*row) for row in session.execute(query, params)]

    def convert(
        self, session: Session, entries: Sequence[Entry], study_ids: set[str] | None = None
    ) -> list[Fed]:
        """The engine inputs of `entries`, in order (optionally for some patients only: a
        tick then still applies, to them)."""
        wanted_ids: dict[str, list[int]] = {name: [] for name in FACT_TABLES}
        for e in entries:
            if e.entity_type in FACT_TABLES:
                if e.action == BATCH_ACTION:
                    wanted_ids[e.entity_type].extend(pair[0] for pair in json.loads(e.new or "[]"))
                else:
                    wanted_ids[e.entity_type].append(e.entity_id)
        self._watched_rows = {}
        rows = self._fact_rows(session, wanted_ids)
        self._ensure_people(session, {pid for pid, _ in rows.values()})
        out: list[Fed] = []
        for e in entries:
            kind = e.entity_type
            if kind in FACT_TABLES:
                ids = (
                    [pair[0] for pair in json.loads(e.new or "[]")]
                    if e.action == BATCH_ACTION
                    else [e.entity_id]
                )
                for row_id in ids:
                    found = rows.get((kind, row_id))
                    if found is None:
                        continue
                    pid, fact = found
                    if (
                        kind == "observation"
                        and row_id in self._watched_rows
                        and (self.anchors is None or pid in self.anchored)
                    ):
                        self.watched[pid] = (e.seq, self._watched_rows[row_id])
                    if fact is None:
                        continue
                    if study_ids is None or self.people[pid].study_id in study_ids:
                        out.append(Fed(e.seq, pid, fact))
            elif kind in CONTEXT_ENTITIES:
                changed = self._context_entry(session, e)
                if changed is not None:
                    pid, context = changed
                    self._touch(pid, None, True)
                    if study_ids is None or context.study_id in study_ids:
                        out.append(Fed(e.seq, pid, SetContext(pid, context)))
            elif e.new:
                record = json.loads(e.new)
                if kind == ACK_ENTITY and e.action in ("acknowledge", "resolve"):
                    if study_ids is None or record.get("study_id") in study_ids:
                        item = _alert_input(e.action, record)
                        out.append(Fed(e.seq, self._pid_of(record.get("study_id")), item))
                elif kind == MONITOR_ENTITY and e.action == "overdue":
                    if study_ids is None or record["study_id"] in study_ids:
                        out.append(Fed(e.seq, e.entity_id, _overdue_from(record)))
                elif kind == MONITOR_ENTITY and e.action == "tick":
                    out.append(Fed(e.seq, 0, monitor.Tick(datetime.fromisoformat(record["at"]))))
        return out

    def _pid_of(self, study_id: str | None) -> int:
        for pid, person in self.people.items():
            if person.study_id == study_id:
                return pid
        return 0

    # --- contexts ---

    def _context_entry(
        self, session: Session, e: Entry
    ) -> tuple[int, monitor.PatientContext] | None:
        if not e.new:
            return None
        snap = json.loads(e.new)
        if e.entity_type == "patient":
            pid = int(snap["id"])
            person = self.people.get(pid)
            if person is None:
                person = self.people[pid] = _Person(snap["study_id"], snap.get("diagnosis"))
            else:
                person.study_id, person.diagnosis = snap["study_id"], snap.get("diagnosis")
            return pid, person.context()
        pid = int(snap["patient_id"])
        self._ensure_people(session, {pid})
        person = self.people[pid]
        course_id = int(snap["id"])
        if course_id < person.course_id:
            return None  # an earlier course changed: not the current one
        person.course_id = course_id
        person.anchors = _course_from_snapshot(snap).anchor_times()
        return pid, person.context()

    def _ensure_people(self, session: Session, patient_ids: Iterable[int]) -> None:
        """Load patients first seen mid-journal (a reader that started after they were
        created) with their current course as stored now."""
        missing = [p for p in set(patient_ids) if p not in self.people]
        if not missing:
            return
        for chunk in repo.id_chunks(missing):
            for pid, sid, diagnosis in session.execute(
                select(Patient.id, Patient.study_id, Patient.diagnosis).where(Patient.id.in_(chunk))
            ):
                self.people[pid] = _Person(sid, diagnosis.value)
            courses = session.scalars(
                select(TreatmentCourse)
                .where(TreatmentCourse.patient_id.in_(chunk))
                .order_by(TreatmentCourse.id)
            )
            for course in courses:
                person = self.people[course.patient_id]
                person.course_id = course.id
                person.anchors = course.anchor_times()

    def dump_state(self) -> dict[str, Any]:
        """What this reader has learnt from the entries it read, as plain data
        (`neurocart.services.snapshots`): the people with their anchors, and the patients
        with a CSF value (`anchored`). A reader restored with `load_state` converts later
        entries as this one would (caches such as usernames refill on use)."""
        people = [
            [pid, p.study_id, p.diagnosis, p.course_id,
             {k: None if v is None else v.isoformat() for k, v in p.anchors.items()}]
            for pid, p in self.people.items()
        ]  # fmt: skip
        return {"people": people, "anchored": sorted(self.anchored)}

    def load_state(self, data: dict[str, Any]) -> None:
        """Restore what `dump_state` gave, all or nothing (a malformed `data` raises and
        leaves this reader as it was)."""
        people = {
            int(pid): _Person(
                str(sid), diagnosis, int(course_id),
                {k: _when(v) for k, v in anchors.items()},
            )
            for pid, sid, diagnosis, course_id, anchors in data["people"]
        }  # fmt: skip
        anchored = {int(pid) for pid in data["anchored"]}
        self.people, self.anchored = people, anchored

    def contexts(self) -> dict[int, monitor.PatientContext]:
        """Patient id → context, for every patient the journal has seen."""
        return {pid: p.context() for pid, p in self.people.items()}

    # --- facts ---

    def _username(self, session: Session, user_id: int | None) -> str | None:
        if user_id is None:
            return None
        name = self._usernames.get(user_id)
        if name is None:
            for uid, username in session.execute(select(User.id, User.username)):
                self._usernames[uid] = username
            name = self._usernames.get(user_id)
        return name

    def _fact_rows(
        self, session: Session, ids: dict[str, list[int]]
    ) -> dict[tuple[str, int], tuple[int, monitor.Fact | None]]:
        """(table, id) → (patient id, the fact to feed, None for one not fed)."""
        out: dict[tuple[str, int], tuple[int, monitor.Fact | None]] = {}
        people = self.people
        watch, anchors, touch = self.watch, self.anchors, self._touch
        for where in repo.ids_in(_OBSERVATION.id, ids["observation"]):
            rows = session.execute(_OBSERVATION_ROWS.where(where)).all()
            self._ensure_people(session, {r[1] for r in rows})
            for oid, pid, code, value, at, unit, specimen, error, supersedes, system, by in rows:
                if watch and (system, code) in watch:
                    self._watched_rows[oid] = by
                if anchors and (system, code) in anchors:
                    self.anchored.add(pid)
                # schedule attributes: anti-HBc, any CSF value
                csf = specimen == Specimen.CSF.value
                touch(pid, at, supersedes is not None or error or code == ANTI_HBC or csf)
                fact: monitor.Fact | None = None
                if not error:
                    fact = monitor.Observation(
                        people[pid].study_id, code, value + 0.0, at, unit, specimen, oid
                    )
                out[("observation", oid)] = (pid, fact)
        a = Assessment
        for where in repo.ids_in(a.id, ids["assessment"]):
            rows = session.execute(
                select(
                    a.id, a.patient_id, a.instrument, a.effective_at, a.value, a.inputs, a.label,
                    a.entered_in_error, a.entered_by, a.supersedes_id,
                ).where(where)
            ).all()  # fmt: skip
            self._ensure_people(session, {r.patient_id for r in rows})
            for row in rows:
                pid = row.patient_id
                self._touch(
                    pid, row.effective_at, row.supersedes_id is not None or row.entered_in_error
                )
                fact = None
                if not row.entered_in_error:
                    fact = monitor.Assessment(
                        people[pid].study_id, row.instrument, row.effective_at, row.value,
                        dict(row.inputs), row.label, row.id,
                        self._username(session, row.entered_by),
                    )  # fmt: skip
                out[("assessment", row.id)] = (pid, fact)
        ev = ClinicalEvent
        for chunk in repo.id_chunks(ids["event"]):
            rows = session.execute(
                select(
                    ev.id, ev.patient_id, ev.type, ev.onset_at, ev.end_at, ev.grade, ev.ctcae_term,
                    ev.drug, ev.details, ev.entered_in_error, ev.supersedes_id,
                ).where(ev.id.in_(chunk)).order_by(ev.id)
            ).all()  # fmt: skip
            self._ensure_people(session, {r.patient_id for r in rows})
            for row in rows:
                pid = row.patient_id
                self._touch(pid, row.onset_at, True)  # rare; a death ends follow-up
                end = row.onset_at if row.entered_in_error else row.end_at
                out[("event", row.id)] = (
                    pid,
                    monitor.Event(
                        people[pid].study_id, row.type.value, row.onset_at, end, row.grade,
                        row.ctcae_term, row.drug, dict(row.details or {}),
                        self._event_root(session, row.id, row.supersedes_id),
                    ),
                )  # fmt: skip
        return out

    def _event_root(self, session: Session, row_id: int, supersedes: int | None) -> int:
        if supersedes is None:
            self._event_roots[row_id] = row_id
            return row_id
        root = self._event_roots.get(supersedes)
        if root is None:
            root = supersedes
            while (
                up := session.scalar(
                    select(ClinicalEvent.supersedes_id).where(ClinicalEvent.id == root)
                )
            ) is not None:
                root = up
        self._event_roots[row_id] = root
        return root


def _alert_input(action: str, record: dict[str, Any]) -> monitor.Ack | monitor.Resolve:
    """A clinician's acknowledgement or resolution, from its audit entry's snapshot."""
    if action == "resolve":
        at = datetime.fromisoformat(record["resolved_at"])
        return monitor.Resolve(record["alert_key"], record["resolved_by"], at, record["reason"])
    at = datetime.fromisoformat(record["acknowledged_at"])
    return monitor.Ack(record["alert_key"], record["acknowledged_by"], at)


def history(session: Session, study_ids: Iterable[str] | None = None) -> list[Fed]:
    """Everything the journal holds for the engine, in commit order."""
    wanted = None if study_ids is None else set(study_ids)
    journal = Journal()
    return journal.convert(session, Journal.entries(session, 0), wanted)


def apply(engine: monitor.Engine, item: Input) -> list[monitor.AlertAction]:
    """One journal input applied to `engine`: the actions it caused."""
    if isinstance(item, SetContext):
        return engine.set_context(item.context)
    if isinstance(item, SetOverdue):
        return engine.set_overdue(item.study_id, item.tasks, item.at)
    if isinstance(item, monitor.Ack | monitor.Resolve):
        try:
            return engine.apply(item)
        except monitor.UnknownAlertError:
            return []  # a system alert, or a rule file that never raised it (replay)
    return engine.apply(item)


def rebuild(
    session: Session,
    rules: monitor.RuleSet | None = None,
    study_ids: Iterable[str] | None = None,
) -> tuple[monitor.Engine, list[monitor.AlertAction]]:
    """A fresh engine fed the whole journal; returns it and its actions (the timeline)."""
    engine = monitor.Engine(rules)
    actions: list[monitor.AlertAction] = []
    for fed in history(session, study_ids):
        try:
            actions.extend(apply(engine, fed.item))
        except Exception:  # the live leader skipped it too (and raised a system alert)
            continue
    return engine, actions
