"""The monitor leader's work: read the journal, run the engine, store what it says.

    service = MonitorService(database)
    service.take_over()          # become the leader: rebuild from the journal to the checkpoint
    service.step()               # consume what was committed since; store the actions
    service.tick(now)            # timers: escalations, timed closes, overdue critical tasks

A write to the record never touches this service: a request stores its facts and commits,
and the leader reads them afterwards from the journal (`neurocart.services.journal`, the
audit seq order, which is the commit order). So a valid observation is never refused
because of the monitor's state, any number of processes can write, and a leader that takes
over after another died resumes at the checkpoint that was committed with the last actions
stored: nothing is missed and nothing is stored twice.

Only one process leads at a time (`neurocart.services.leadership`); `epoch` fences a deposed
leader: every write here requires the epoch it took over with. The service itself is not
thread-safe: the leader loop (`neurocart.runtime`) is its only caller.

**Snapshots.** Now and then the leader stores its engine's whole state with a checkpoint
(`neurocart.services.snapshots`); `take_over` starts from the newest one that verifies and
replays only the journal after it, or the whole journal when there is none.

**Failures.** A fact the engine cannot evaluate (a bug, data no rule foresaw) is logged
without patient identifiers, stored as a system alert for the admins, and skipped; every
other patient is monitored as before.

**Audit.** What the leader stores (alerts, alert actions, grades, the checkpoint) is
audited like any write: under the audit chain lock, one batch entry per table and step
recording the rows as committed (`neurocart.store.audit.append_states`; `create_batch` for
the rows it inserted, `write_batch` for the others), so a grade lowered or an alert closed
behind the application's back is found by `audit verify`. The journal does not read these
entries, so they never feed the engine. Only the leader writes those tables, so it writes
their rows first and takes the chain lock only for the entries and the commit.

**Derived facts.** Facts computed from other facts are stored by the leader too, on the same
path: when the journal brings an observation with one of `neurocart.services.csf_indices`'
`INPUT_CODES` (stored, corrected or retracted) for a patient who has had a CSF value or a
derived index (`ANCHOR_CODES`, which the journal tracks as it reads: a routine serum albumin
of anyone else costs nothing), the leader recomputes that patient's CSF
indices in the transaction that stores the checkpoint past the entry, so a retry or a new
leader never derives from the same entry twice; and the derivation is idempotent anyway (it
compares with what is stored). The derived rows are journal entries like any other and reach
the engine in a later step. A derivation that fails is rolled back to its savepoint, logged
and stored as a system alert; the other patients' derivations and the checkpoint go ahead.
The derived rows are entered in the name of the user who entered the value that caused them.

**Combined grades.** The engine's CRS grade is the higher of the grade derived from vitals
and events and a clinician's recorded grade of the last 24 h (`neurocart.monitor.state`);
the leader stores each patient's current CRS and ICANS grade with its source in
``monitor_status``, so the board, the chart and the alert show the same grade.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select, text, update
from sqlalchemy.orm import Session

from neurocart import monitor
from neurocart.services import csf_indices, snapshots
from neurocart.services.journal import (
    ACTION_ENTITY,
    ALERT_ROW_ENTITY,
    CHECKPOINT_ENTITY,
    MONITOR_ENTITY,
    STATUS_ENTITY,
    Fed,
    Journal,
    SetContext,
    apply,
    overdue_record,
)
from neurocart.services.overdue import OverdueTracker
from neurocart.store import Database, audit, bulk, repo
from neurocart.store.db import AFTER_COMMIT
from neurocart.store.models import Alert, MonitorCheckpoint, MonitorStatus
from neurocart.store.models import AlertAction as StoredAction
from neurocart.studyday import study_day

log = logging.getLogger(__name__)

SYSTEM = "system"
ACUTE_DAYS = (0, 14)
"""Study days whose overdue critical protocol tasks the ticker feeds to the engine."""
STEP_ENTRIES = 5000
"""Journal entries read per step (a long backlog is consumed in several transactions)."""
CHECKPOINT_SECONDS = 5.0
"""A step that stores nothing still writes the checkpoint at least this often, so a new
leader has little to read again."""
OVERDUE_BUDGET = 100
"""Schedules computed per tick at most (a restart with thousands of patients spreads them
over ticks that follow each other at once; each of them holds the chain lock only for its
share of the new overdue alerts, so writers are not held up for seconds)."""
ALERTS_CHANNEL = "neurocart_alerts"
"""PostgreSQL NOTIFY channel: alert actions were stored (every process relays them)."""
SYSTEM_DISCIPLINE = "admin"


class FencedError(RuntimeError):
    """Another process took over as monitor leader: this one must stop writing."""


@dataclass(frozen=True)
class Progress:
    """Where the leader stands: the journal head it has consumed and what is left."""

    seq: int
    head: int

    @property
    def caught_up(self) -> bool:
        return self.seq >= self.head


def _grade_row(pid: int, study_id: str, state: monitor.PatientState) -> tuple[Any, ...] | None:
    s = state.signals
    crs, icans = s.get("crs_grade"), s.get("icans_grade")
    if crs is None and icans is None:
        return None
    crs_source, crs_by = None, None
    if crs is not None:
        derived = s.get("crs_grade_derived")
        in_force = state.crs_in_force
        if in_force is not None and in_force[1] == crs and (derived is None or crs > derived):
            crs_source, crs_by = "recorded", in_force[2]
        else:
            crs_source = "derived"
    icans_source, icans_by = None, None
    if icans is not None:
        rec = state.icans_recorded
        ice_at = state.neuro.ice_at
        if rec is not None and (ice_at is None or rec[0] >= ice_at):
            icans_source, icans_by = "recorded", rec[1]
        else:
            icans_source = "derived"
    times = state.grade_times
    return (
        pid, study_id, crs, crs_source, times.get("crs_grade"), crs_by,
        icans, icans_source, times.get("icans_grade"), icans_by,
    )  # fmt: skip


_STATUS_COLUMNS = (
    "patient_id", "study_id", "crs_grade", "crs_source", "crs_at", "crs_by",
    "icans_grade", "icans_source", "icans_at", "icans_by",
)  # fmt: skip

# Every column of the tables the leader writes, in table order: what its statements return
# for the audit (`audit.append_states(returned=...)`), exactly as a read would give them.
_ALERT_COLUMNS = tuple(Alert.__table__.columns)
_ACTION_COLUMNS = tuple(StoredAction.__table__.columns)
_GRADE_TABLE = cast(Table, MonitorStatus.__table__)
_CHECKPOINT_COLUMNS = tuple(MonitorCheckpoint.__table__.columns)
_INSERT_ALERTS = insert(Alert).returning(*_ALERT_COLUMNS)


class MonitorService:
    """The engine, the journal position and the persistence of one leader."""

    def __init__(
        self,
        database: Database,
        rules: monitor.RuleSet | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        name: str = "neurocart",
        on_stored: Callable[[list[dict[str, Any]]], None] | None = None,
        overdue_budget: int | None = OVERDUE_BUDGET,
    ) -> None:
        self.database = database
        self.rules = rules
        self.clock = clock or (lambda: datetime.now(UTC))
        self.name = name
        self.on_stored = on_stored
        """Called with the stored actions after their transaction committed (the relay and
        the notifications outside the browser: once, by the leader)."""
        self.overdue_budget = overdue_budget
        self.engine = monitor.Engine(rules)
        self.journal = _journal()
        self.tracker = OverdueTracker()
        self.seq = 0
        self.head = 0
        self.epoch: int | None = None
        self.failures = 0
        self._persisted_at = 0.0
        self.replayed_from = 0
        """The journal seq the last `take_over` replayed from (a snapshot's; 0: all)."""
        self._snapshot_seq = 0
        self._snapshot_at = 0.0
        self._encoding: snapshots.Encoding | None = None
        self._acute: set[int] = set()
        self._due: datetime | None = None
        self._due_stale = True
        self._status: dict[int, tuple[Any, ...] | None] = {}
        self._dirty: set[int] = set()
        self._failed: list[int] = []
        self.lock = threading.Lock()
        """Held for every call that reads or changes the engine (the loop and `settle`)."""

    # --- leadership ---

    def take_over(self) -> None:
        """Become the leader: a new epoch, then the engine rebuilt up to the checkpoint from
        the newest usable snapshot and the journal after it (or the whole journal); those
        actions were stored when they first happened. What was committed
        after the checkpoint is consumed by the next `step`s, live."""
        with self.database.transaction() as session:
            # the checkpoint row before the chain lock, in the order every leader
            # transaction takes them (`_persist`), so a deposed leader still storing its last
            # step and this take-over queue instead of deadlocking
            row = session.get(MonitorCheckpoint, 1, with_for_update=True)
            audit.lock_chain(session)
            first = row is None
            if row is None:
                row = MonitorCheckpoint(id=1, epoch=0, seq=0, leader=self.name)
                row.updated_at = datetime.now(UTC)
                session.add(row)
                session.flush()
            row.epoch += 1
            row.leader = self.name
            row.updated_at = datetime.now(UTC)
            self.epoch, checkpoint = row.epoch, row.seq
            ids = {CHECKPOINT_ENTITY: [1]}
            audit.append_states(
                session, actor=SYSTEM, written={} if first else ids, created=ids if first else {}
            )
        self._cancel_snapshot()
        self.engine = monitor.Engine(self.rules)
        self.journal = _journal()
        self.tracker = OverdueTracker()
        self._status = {}
        self._acute = set()
        self._failed = []
        self._due_stale = True
        with self.database.reading() as session:
            self._load_status(session)
            after = self.replayed_from = self._restore(session, checkpoint)
            self._snapshot_seq, self._snapshot_at = after, time.monotonic()
            while after < checkpoint:
                entries = Journal.entries(session, after, upto=checkpoint, limit=50_000)
                if not entries:
                    break
                for fed in self.journal.convert(session, entries):
                    self._apply(fed)
                after = entries[-1].seq
            self.head = Journal.head(session)
        self.journal.take_touched()
        self.journal.take_watched()  # derived when first read, with the checkpoint
        self.seq = checkpoint
        log.info("monitor: leader (epoch %s) from journal seq %s", self.epoch, checkpoint)

    def _restore(self, session: Session, checkpoint: int) -> int:
        """The engine and the journal's people from the newest usable snapshot at or below
        the checkpoint (`neurocart.services.snapshots`); returns its seq, the journal seq to
        replay from (0 without one: the whole journal)."""
        try:
            found = snapshots.load(session, checkpoint, self.journal, self.engine.rules)
        except Exception as exc:  # a snapshot only ever saves time: never fail over it
            log.warning("monitor: snapshot not loaded (%s); replaying the journal", exc)
            found = None
        if found is None:
            self.journal = _journal()
            return 0
        seq, self.engine = found
        self._dirty.update(self.journal.people)  # grades compared as after a full replay
        log.info("monitor: engine restored from the snapshot at journal seq %s", seq)
        return seq

    def _snapshot_due(self, seq: int) -> bool:
        if self._encoding is not None:
            return False
        advanced = seq - self._snapshot_seq
        return advanced >= snapshots.SNAPSHOT_ENTRIES or (
            advanced > 0 and time.monotonic() - self._snapshot_at >= snapshots.SNAPSHOT_SECONDS
        )

    def _start_snapshot(self, seq: int) -> None:
        """Begin a snapshot of the engine as it is now, at journal seq `seq` (what the engine
        has consumed); `encode_snapshot` works on it between steps."""
        self._snapshot_seq, self._snapshot_at = seq, time.monotonic()
        try:
            self._encoding = snapshots.Encoding(self.engine, self.journal, seq)
        except Exception as exc:  # a bug here must never stop monitoring
            log.error("monitor: could not start the engine snapshot (%s); skipped", exc)

    def _cancel_snapshot(self) -> None:
        if self._encoding is not None:
            self._encoding.cancel()
            self._encoding = None

    def encode_snapshot(self, seconds: float = snapshots.SLICE_SECONDS) -> bool:
        """Encode about `seconds` more of the snapshot in progress and store it once it is
        complete, with a checkpoint at the journal position reached by then (the leader's
        loop calls it between steps); True while more remains."""
        encoding = self._encoding
        if encoding is None:
            return False
        self._require_leader()
        try:
            encoded = encoding.advance(seconds)
        except Exception as exc:  # a bug here must never stop monitoring
            log.error("monitor: could not encode the engine snapshot (%s); skipped", exc)
            self._cancel_snapshot()
            return False
        if encoded is None:
            return True
        self._encoding = None
        with self.database.transaction() as session:
            self._persist(session, [], [], seq=self.seq, grades=self._grade_changes())
            self._store_snapshot(session, encoding.seq, encoded)
        return False

    def _load_status(self, session: Session) -> None:
        for row in session.execute(select(*(getattr(MonitorStatus, c) for c in _STATUS_COLUMNS))):
            self._status[row[0]] = tuple(row)

    def progress(self) -> Progress:
        return Progress(self.seq, max(self.head, self.seq))

    # --- consuming the journal ---

    def step(self) -> int:
        """Consume journal entries committed since the last step (up to `STEP_ENTRIES`),
        store the actions and the new checkpoint together; returns the entries consumed."""
        self._require_leader()
        with self.database.reading() as session:
            self.head = head = Journal.head(session)
            if head <= self.seq:
                return 0
            entries = Journal.entries(session, self.seq, upto=head, limit=STEP_ENTRIES)
            if not entries:  # only entries the monitor does not read (users, tasks)
                self.seq = head
                if self._snapshot_due(head):  # the backlog's end
                    self._start_snapshot(head)
                return 0
            fed = self.journal.convert(session, entries)
        self.tracker.forget(self.journal.take_touched())
        derive = self.journal.take_watched()
        actions: list[monitor.AlertAction] = []
        failures: list[Fed] = []
        for item in fed:
            done = self._apply(item)
            if done is None:
                failures.append(item)
            else:
                actions.extend(done)
        last = entries[-1].seq if len(entries) == STEP_ENTRIES else head
        grades = self._grade_changes()
        due = time.monotonic() - self._persisted_at >= CHECKPOINT_SECONDS
        if last >= head and self._snapshot_due(last):  # a long backlog is not slowed
            self._start_snapshot(last)
        if actions or failures or grades or due or derive:
            with self.database.transaction() as session:
                if derive:  # derived facts take the chain lock: the checkpoint row first
                    self._fence(session)
                failed = self._derive(session, derive)
                self._persist(session, actions, failures, seq=last, grades=grades, failed=failed)
        else:  # nothing to store: a leader resuming before here re-reads entries that
            self.seq = last  # cause nothing, so the checkpoint may lag a little
        return len(entries)

    def _apply(self, fed: Fed) -> list[monitor.AlertAction] | None:
        """One input into the engine; None when the engine failed on it (logged, counted)."""
        self._due_stale = True
        try:
            actions = apply(self.engine, fed.item)
        except Exception as exc:  # one patient's bad data never stops the others
            self.failures += 1
            log.error(
                "monitor: could not evaluate journal entry %s (%s: %s); skipped",
                fed.seq, type(fed.item).__name__, type(exc).__name__,
            )  # fmt: skip
            return None
        if fed.patient_id:
            self._dirty.add(fed.patient_id)
        return actions

    def _derive(self, session: Session, watched: dict[int, tuple[int, int]]) -> list[int]:
        """Recompute the derived CSF indices of the patients in `watched` (patient id →
        journal seq, entering user id), each in its own savepoint of the caller's
        transaction; returns the seqs whose derivation failed (rolled back, logged)."""
        failed = []
        for pid, (seq, user_id) in sorted(watched.items()):
            savepoint = session.begin_nested()
            try:
                actor = repo.get_user(session, user_id)
                if actor is None:  # accounts are never deleted; a foreign key guarantees it
                    raise LookupError(f"user {user_id}")
                csf_indices.update_csf_indices(session, actor, pid)
            except Exception as exc:  # one patient's derivation never stops the others
                savepoint.rollback()
                self.failures += 1
                log.error(
                    "monitor: could not derive the CSF indices of journal entry %s (%s); "
                    "skipped", seq, type(exc).__name__,
                )  # fmt: skip
                failed.append(seq)
            else:
                savepoint.commit()
        return failed

    def _fence(self, session: Session) -> None:
        """Lock the checkpoint row for this transaction, as `_persist` will (first, before
        the chain lock), and stop if another process took over meanwhile."""
        epoch = session.scalar(
            select(MonitorCheckpoint.epoch).where(MonitorCheckpoint.id == 1).with_for_update()
        )
        if epoch != self.epoch:
            raise self._deposed()

    def _deposed(self) -> FencedError:
        """This process is no longer the leader (the checkpoint names a later epoch): forget
        the epoch, so nothing more is written, and say so."""
        self.epoch = None
        return FencedError("another process took over as monitor leader")

    def _require_leader(self) -> None:
        if self.epoch is None:
            raise FencedError("not the monitor leader (take_over first)")

    # --- timers ---

    def tick(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Let time pass: escalations and timed closes that fell due, and the overdue
        critical tasks of patients in study days 0–14. Returns the actions it stored.

        The schedules are computed outside any write transaction; only when something
        changed does the leader take the chain lock, consume what was committed meanwhile
        (so the timer input lands in the journal exactly where it was applied) and store the
        inputs and their actions together."""
        self._require_leader()
        now = now or self.clock()
        wanted = self._overdue_changes(now)
        due = self._next_due()
        if not wanted and (due is None or due > now):
            return []
        self._due_stale = True
        self._catch_up()
        # the journal's overdue inputs in canonical text before the lock: serializing them is
        # most of the cost when a start finds hundreds of patients with overdue tasks (only
        # a tick changes what the engine holds as overdue, so `wanted` stays true meanwhile)
        records = [
            (pid, None, audit.canonical(overdue_record(sid, tasks, now)))
            for pid, sid, tasks in wanted
        ]
        stored: list[dict[str, Any]] = []
        with self.database.transaction() as session:
            self._fence(session)
            audit.lock_chain(session)
            actions, failures = self._consume_locked(session)
            for pid, sid, tasks in wanted:
                actions.extend(self.engine.set_overdue(sid, tasks, now))
                self._dirty.add(pid)
            if records:  # one entry per patient, appended together (the journal reads them)
                audit.append_texts(
                    session, actor=SYSTEM, action="overdue", entity_type=MONITOR_ENTITY,
                    changes=records,
                )  # fmt: skip
            timed = self.engine.tick(now)
            if timed:
                audit.append(
                    session, actor=SYSTEM, action="tick", entity_type=MONITOR_ENTITY,
                    entity_id=0, old=None, new={"at": now.isoformat()},
                )  # fmt: skip
            actions.extend(timed)
            seq, _ = audit.head(session)
            failed, self._failed = self._failed, []
            stored = self._persist(
                session, actions, failures, seq=seq, grades=self._grade_changes(), failed=failed
            )
        return stored

    def _catch_up(self) -> None:
        """Step up to the journal's head as it is now, outside the chain lock, so that what
        `_consume_locked` still reads under the lock (every other writer waiting) is only
        what was committed in the last moments — not a backlog of seconds. Bounded by
        the head read first: a journal that keeps growing does not keep the timers waiting."""
        with self.database.reading() as session:
            target = Journal.head(session)
        while self.seq < target and self.step():
            pass

    def _consume_locked(self, session: Session) -> tuple[list[monitor.AlertAction], list[Fed]]:
        """Under the chain lock: consume everything committed since the last step."""
        actions: list[monitor.AlertAction] = []
        failures: list[Fed] = []
        while True:
            entries = Journal.entries(session, self.seq, limit=STEP_ENTRIES)
            if not entries:
                break
            for item in self.journal.convert(session, entries):
                done = self._apply(item)
                if done is None:
                    failures.append(item)
                else:
                    actions.extend(done)
            self.seq = entries[-1].seq
            # derived rows are appended here, so the next round reads them into the engine
            self._failed.extend(self._derive(session, self.journal.take_watched()))
        self.tracker.forget(self.journal.take_touched())
        return actions, failures

    def _overdue_changes(self, now: datetime) -> list[tuple[int, str, list[monitor.OverdueTask]]]:
        """(patient id, study ID, tasks) whose overdue critical tasks differ from what the
        engine holds: patients in days 0–14, and those still holding tasks (an empty list
        clears them)."""
        acute = set()
        for pid, person in self.journal.people.items():
            day = study_day(person.anchors.get("infusion"), now)
            if day is not None and ACUTE_DAYS[0] <= day <= ACUTE_DAYS[1]:
                acute.add(pid)
        try:
            with self.database.reading() as session:
                self.tracker.refresh(session, acute, now, budget=self.overdue_budget)
        except Exception as exc:  # e.g. a protocol file that no longer loads
            log.error("monitor: overdue-task check failed (%s); retried next tick", exc)
            self.tracker.fresh = set()
        # only answers computed afresh can differ from what the engine was given last time,
        # and patients who left days 0–14 lose theirs
        candidates = self.tracker.fresh | (self._acute - acute)
        self._acute = acute
        out = []
        for pid in sorted(candidates):
            found = self.journal.people.get(pid)
            if found is None:
                continue
            sid = found.study_id
            held = self.engine.state(sid).overdue if self.engine.knows(sid) else ()
            new = (self.tracker.answer(pid) or []) if pid in acute else []
            if [t.key for t in held] != sorted(t.key for t in new):
                out.append((pid, sid, new))
        return out

    def _next_due(self) -> datetime | None:
        """`Engine.next_due`, recomputed only after the engine changed."""
        if self._due_stale:
            self._due = self.engine.next_due()
            self._due_stale = False
        return self._due

    # --- persistence ---

    def _persist(
        self,
        session: Session,
        actions: Sequence[monitor.AlertAction],
        failures: Sequence[Fed],
        *,
        seq: int,
        grades: Sequence[tuple[int, tuple[Any, ...] | None]],
        failed: Sequence[int] = (),
    ) -> list[dict[str, Any]]:
        """Store actions, failures (engine inputs skipped; journal seqs whose derivation
        failed), grades and the checkpoint in the caller's transaction, fenced by the epoch,
        under the audit chain lock, with one batch audit entry per table written (alerts, alert
        actions, grades, the checkpoint) and one per table of rows inserted (alerts opened,
        alert actions); published after the commit.

        Only the leader writes these four tables, so their rows are written before the chain
        lock is taken (by `audit.append_states`, for the entries): the lock is held for the
        audit entries and the commit only, not for every statement of the step. Every
        leader transaction locks the checkpoint row (here, or `_fence`) before the chain."""
        fenced = session.execute(
            update(MonitorCheckpoint)
            .where(MonitorCheckpoint.id == 1, MonitorCheckpoint.epoch == self.epoch)
            .values(seq=seq, updated_at=datetime.now(UTC))
            .returning(*_CHECKPOINT_COLUMNS)
        ).first()
        if fenced is None:
            raise self._deposed()
        # every row written here comes back from its own statement (RETURNING), so the
        # audit records it without reading it again: the chain lock is held for fewer trips
        returned: dict[str, dict[int, Any]] = {CHECKPOINT_ENTITY: {1: fenced}}
        payloads: list[dict[str, Any]] = []
        log_rows: list[dict[str, Any]] = []
        touched: set[str] = set()
        opened: set[str] = set()
        # the patient row id only an opened alert's new row needs: not a map of the whole
        # ward built under the lock on every step
        opening = {a.study_id for a in actions if a.kind == "open"}
        patients = (
            {p.study_id: pid for pid, p in self.journal.people.items() if p.study_id in opening}
            if opening
            else {}
        )
        applied = []
        for action in actions:
            touched.add(action.alert_key)
            if action.kind == "open":
                opened.add(action.alert_key)
            payload = action.to_dict()
            payloads.append(payload)
            log_rows.append(
                {"alert_key": action.alert_key, "kind": action.kind, "at": action.at,
                 "payload": payload}
            )  # fmt: skip
            applied.append((action, payload, patients.get(action.study_id)))
        alert_rows = _apply_actions(session, applied)
        skipped = [(f.seq, type(f.item).__name__) for f in failures]
        for seq_, what in [*skipped, *((s, DERIVED) for s in failed)]:
            payload, at, inserted = _system_alert(session, seq_, what)
            touched.add(payload["alert_key"])
            if inserted:
                opened.add(payload["alert_key"])
            payloads.append(payload)
            log_rows.append(
                {"alert_key": payload["alert_key"], "kind": "open", "at": at, "payload": payload}
            )
        written: dict[str, list[int]] = {CHECKPOINT_ENTITY: [1]}
        created: dict[str, list[int]] = {}
        if log_rows:
            added = session.execute(insert(StoredAction).returning(*_ACTION_COLUMNS), log_rows)
            returned[ACTION_ENTITY] = {row.id: row for row in added}
            created[ACTION_ENTITY] = list(returned[ACTION_ENTITY])
        if touched:
            returned[ALERT_ROW_ENTITY] = {row.id: row for row in alert_rows.values()}
            ids = [(row.id, key) for key, row in alert_rows.items()]
            unseen = sorted(touched - set(alert_rows))  # system alerts, a repeated ack
            for start in range(0, len(unseen), 500):
                chunk = unseen[start : start + 500]
                ids.extend(session.execute(select(Alert.id, Alert.key).where(Alert.key.in_(chunk))))
            written[ALERT_ROW_ENTITY] = [i for i, key in ids if key not in opened]
            created[ALERT_ROW_ENTITY] = [i for i, key in ids if key in opened]
        returned[STATUS_ENTITY] = self._store_grades(session, grades)
        written[STATUS_ENTITY] = [pid for pid, _ in grades]
        audit.append_states(
            session, actor=SYSTEM, written=written, created=created, returned=returned
        )
        if payloads and session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_notify(:c, '')"), {"c": ALERTS_CHANNEL})
        session.flush()
        self.seq = seq
        self._persisted_at = time.monotonic()
        if payloads and self.on_stored is not None:
            session.info.setdefault(AFTER_COMMIT, []).append(partial(self.on_stored, payloads))
        return payloads

    def _store_snapshot(self, session: Session, seq: int, encoded: snapshots.Encoded) -> None:
        """Store the snapshot of journal seq `seq` with the checkpoint, in a savepoint: a
        failure is logged and the checkpoint goes ahead."""
        savepoint = session.begin_nested()
        try:
            snapshots.store(session, seq, encoded)
        except Exception as exc:
            savepoint.rollback()
            log.error("monitor: could not store the engine snapshot (%s); skipped", exc)
        else:
            savepoint.commit()
            log.info(
                "monitor: engine snapshot at journal seq %s (%s bytes)", seq, len(encoded.data)
            )

    def _grade_changes(self) -> list[tuple[int, tuple[Any, ...] | None]]:
        """(patient id, status row) of the patients whose current grades changed."""
        dirty, self._dirty = self._dirty, set()
        rows = []
        for pid in sorted(dirty):
            person = self.journal.people.get(pid)
            if person is None or not self.engine.knows(person.study_id):
                continue
            row = _grade_row(pid, person.study_id, self.engine.state(person.study_id))
            if row != self._status.get(pid):
                rows.append((pid, row))
        return rows

    def _store_grades(
        self, session: Session, rows: Sequence[tuple[int, tuple[Any, ...] | None]]
    ) -> dict[int, Any]:
        """Bring the grade rows of these patients up to date in place (a patient without a
        grade any more loses the row); returns each patient's row as stored (None: deleted)."""
        if not rows:
            return {}
        stored: dict[int, Any] = {pid: None for pid, _ in rows}
        now = datetime.now(UTC)
        values = [dict(zip(_STATUS_COLUMNS, r, strict=True)) | {"updated_at": now}
                  for _, r in rows if r is not None]  # fmt: skip
        for new in bulk.upsert_returning(session, _GRADE_TABLE, values):
            stored[new.patient_id] = new
        gone = [pid for pid, r in rows if r is None]
        if gone:
            session.execute(delete(MonitorStatus).where(MonitorStatus.patient_id.in_(gone)))
        for pid, row in rows:
            self._status[pid] = row
        return stored

    # --- waiting (tests, CLI) ---

    def run_until_caught_up(self, *, now: datetime | None = None, tick: bool = True) -> None:
        """Consume the whole journal (and tick once): for a CLI or a test without a loop."""
        with self.lock:
            if self.epoch is None:
                self.take_over()
            while self.step():
                pass
            while self.encode_snapshot(3600.0):
                pass
            if tick:
                self.tick(now)


def _journal() -> Journal:
    """A journal reader that also hands over the patients whose CSF indices a new value may
    change (the leader derives them)."""
    return Journal(csf_indices.INPUT_CODES, csf_indices.ANCHOR_CODES)


def _apply_actions(
    session: Session,
    actions: Sequence[tuple[monitor.AlertAction, dict[str, Any], int | None]],
) -> dict[str, Any]:
    """Bring the alert rows up to date with (action, payload, patient id), in order; the
    alerts opened one after another are inserted together (a start that finds a hundred
    patients with overdue tasks opens a hundred alerts under the chain lock). Returns each
    alert's row as the last statement left it, by key (an acknowledgement of an alert
    already acknowledged changes no row and returns none)."""
    rows: dict[str, Any] = {}
    opened: list[dict[str, Any]] = []
    for action, payload, patient_id in actions:
        if action.kind == "open":
            opened.append(_opened_row(action, payload, patient_id))
            continue
        if opened:  # the later action may change an alert opened just before it
            rows.update((r.key, r) for r in session.execute(_INSERT_ALERTS, opened))
            opened = []
        row = _apply_change(session, action, payload)
        if row is not None:
            rows[row.key] = row
    if opened:
        rows.update((r.key, r) for r in session.execute(_INSERT_ALERTS, opened))
    return rows


def _described(a: monitor.AlertAction, payload: dict[str, Any]) -> dict[str, Any]:
    """The alert columns an action (re)states."""
    return {
        "rule_id": a.rule_id,
        "severity": a.severity,
        "grade": a.grade,
        "disciplines": list(a.disciplines),
        "title": a.title,
        "text": a.text,
        "recommended": a.recommended,
        "source": a.source,
        "values": payload["values"],
        "updated_at": a.at,
    }


def _opened_row(
    a: monitor.AlertAction, payload: dict[str, Any], patient_id: int | None
) -> dict[str, Any]:
    """The new alert row of an ``open`` action."""
    return {
        "key": a.alert_key, "study_id": a.study_id, "patient_id": patient_id,
        "episode": a.episode, "status": "open", "tier": a.level, "opened_at": a.at,
        "acknowledged_by": None, "acknowledged_at": None, "closed_at": None,
        **_described(a, payload),
    }  # fmt: skip


def _apply_change(session: Session, a: monitor.AlertAction, payload: dict[str, Any]) -> Any:
    """Bring an existing alert row up to date with an action other than ``open``; the row
    as stored (None when nothing changed)."""
    described = _described(a, payload)
    where = Alert.key == a.alert_key
    if a.kind == "upgrade":
        values = described | {"acknowledged_by": None, "acknowledged_at": None}
        change = update(Alert).where(where).values(**values)
    elif a.kind == "update":
        change = update(Alert).where(where).values(**described)
    elif a.kind == "escalate":
        change = update(Alert).where(where).values(tier=a.level, updated_at=a.at)
    elif a.kind == "close":
        change = update(Alert).where(where).values(status="closed", closed_at=a.at, updated_at=a.at)
    elif a.kind == "acknowledge":
        change = (
            update(Alert)
            .where(where, Alert.acknowledged_at.is_(None))
            .values(acknowledged_by=a.user, acknowledged_at=a.at)
        )
    else:
        return None
    return session.execute(change.returning(*_ALERT_COLUMNS)).first()


SYSTEM_RULE = "monitor_failure"
DERIVED = "CSF indices"
"""What a system alert names when the derivation from a journal entry failed."""


def _system_alert(session: Session, seq: int, what: str) -> tuple[dict[str, Any], datetime, bool]:
    """A system alert for the admins: the monitor skipped a journal entry it could not
    evaluate (`what`: the input's kind, or the derivation that failed). It names the entry,
    never the patient (the admin looks it up if needed). Also returns whether its row was
    inserted now (it is not when the alert for that entry exists already)."""
    key = f"system:{SYSTEM_RULE}:{seq}" + (":derived" if what == DERIVED else "")
    now = datetime.now(UTC)
    text_ = (
        f"The monitor could not evaluate journal entry {seq} ({what}) "
        "and skipped it; every other fact and patient is monitored as usual. See the server "
        "log and report the entry to the neurocart maintainers."
    )
    values: dict[str, Any] = {
        "key": key, "study_id": "", "patient_id": None, "episode": SYSTEM_RULE,
        "rule_id": SYSTEM_RULE, "severity": "warning", "grade": None, "status": "open",
        "disciplines": [SYSTEM_DISCIPLINE], "tier": 0,
        "title": "Monitoring skipped a fact it could not evaluate", "text": text_,
        "recommended": "Check the server log; acknowledge once the cause is understood.",
        "source": "neurocart monitor", "values": {"journal_seq": seq},
        "opened_at": now, "updated_at": now,
    }  # fmt: skip
    inserted = session.scalar(select(Alert.id).where(Alert.key == key)) is None
    if inserted:
        session.execute(insert(Alert).values(**values))
    return {
        "kind": "open", "alert_key": key, "study_id": "", "episode": SYSTEM_RULE,
        "rule_id": SYSTEM_RULE, "at": now.isoformat(), "study_day": None, "severity": "warning",
        "grade": None, "title": values["title"], "text": text_,
        "recommended": values["recommended"], "source": values["source"], "values": [],
        "disciplines": [SYSTEM_DISCIPLINE], "level": 0, "user": None, "reasons": [],
        "notify": True,
    }, now, inserted  # fmt: skip


def wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    """Poll `predicate` until true or `timeout` seconds passed (tests and the CLI)."""
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= end:
            return False
        time.sleep(0.01)
    return True


__all__ = [
    "ALERTS_CHANNEL",
    "FencedError",
    "MonitorService",
    "Progress",
    "SetContext",
    "wait_for",
]
