"""The monitoring service: the rapid-response engine wired to the store and the live streams.

    service = MonitorService(database)          # one per app (create_app does it)
    service.start()                             # rebuild the engine from the store
    app.state.fact_listeners.append(service.on_facts)
    service.tick(now)                           # every Settings.monitor_tick_seconds
    service.acknowledge(session, user, key, at)

The engine is pure and not thread-safe; every call here holds `lock`, and every write holds
the audit chain's lock first (the store's single-writer rule), so the engine sees inputs in
the very order the store accepted them — which is what makes `neurocart monitor replay`
reproduce the live timeline (`monitor_inputs`). Actions are persisted (`alerts`,
`alert_actions`) in the caller's transaction and published to subscribers only after it
committed; if it rolls back the engine has seen something the store has not, so it is
rebuilt from the store before its next use.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, insert, select, update
from sqlalchemy.orm import Session

from neurocart import monitor
from neurocart.services.alert_bus import AlertBus
from neurocart.services.ingest import StoredObservations
from neurocart.services.monitor_inputs import (
    ACK_ENTITY,
    MONITOR_ENTITY,
    FactConverter,
    OverdueTracker,
    StoredFact,
    load_contexts,
    overdue_record,
    rebuild,
)
from neurocart.store import Database, audit
from neurocart.store.errors import ConflictError, NotFoundError
from neurocart.store.models import Alert, User
from neurocart.store.models import AlertAction as StoredAction

log = logging.getLogger(__name__)

SYSTEM = "system"
ACUTE_DAYS = (0, 14)
"""Study days whose overdue critical protocol tasks the ticker feeds to the engine."""


def _acute(context: monitor.PatientContext, now: datetime) -> bool:
    infusion = context.infusion_at
    day = None if infusion is None else (now - infusion) // timedelta(days=1)
    return day is not None and ACUTE_DAYS[0] <= day <= ACUTE_DAYS[1]


@dataclass
class _Outcome:
    """Actions of one transaction, published when (and only if) it commits."""

    actions: list[dict[str, Any]] = field(default_factory=list)


class MonitorService:
    """One engine per process, its persistence, its timer and its subscribers."""

    def __init__(
        self,
        database: Database,
        rules: monitor.RuleSet | None = None,
        *,
        enabled: bool = True,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.database = database
        self.rules = rules
        self.enabled = enabled
        self.clock = clock or (lambda: datetime.now(UTC))
        self.bus = AlertBus()
        self.lock = threading.RLock()
        self._engine: monitor.Engine | None = None
        self._converter = FactConverter()
        self._contexts: dict[int, monitor.PatientContext] = {}
        self._patient_ids: dict[str, int] = {}
        self._stale = True
        self._rebuilt: list[monitor.AlertAction] | None = None
        self._tracker = OverdueTracker()
        self._overdue_lock = threading.Lock()

    # --- state ---

    @property
    def engine(self) -> monitor.Engine:
        """The live engine (rebuilt from the store first if needed)."""
        with self.lock:
            return self._ready()

    def start(self) -> None:
        """Rebuild the engine from the store; persisted actions are not re-emitted.

        Facts stored while no engine watched (monitoring off, an import straight into the
        store) have actions no one persisted: when the persisted log is a prefix of the
        rebuilt timeline, the missing tail is persisted (and published) now, so the store's
        alerts match the engine's. A log that is not a prefix (the rules changed) is left as
        it is, with a warning.
        """
        if not self.enabled:
            return
        with self.database.transaction() as session:
            audit.lock_chain(session)  # no writer may commit between rebuild and catch-up
            with self.lock:
                self._stale = True
                self._ready()
                self._catch_up(session)
        try:  # the first tick now, before traffic: later ticks only see what changed
            self.tick(self.clock())
        except Exception:  # the ticker will raise it again, and log it
            log.exception("monitor: the first tick failed")

    def _catch_up(self, session: Session) -> None:
        assert self._rebuilt is not None
        rebuilt, self._rebuilt = self._rebuilt, None
        persisted = list(session.scalars(select(StoredAction.payload).order_by(StoredAction.id)))
        head = json.loads(json.dumps([a.to_dict() for a in rebuilt[: len(persisted)]]))
        if head != persisted:
            log.warning("monitor: the persisted alert log differs from the rebuilt timeline")
            return
        missing = rebuilt[len(persisted) :]
        if missing:
            outcome = _Outcome()
            self._track(session, outcome)
            self._persist(session, missing, outcome)

    def _ready(self) -> monitor.Engine:
        if self._engine is None or self._stale:
            with self.database.reading() as session:  # committed data only
                engine, self._rebuilt = rebuild(session, self.rules)
                self._contexts = load_contexts(session)
            self._engine = engine
            self._converter = FactConverter()
            self._converter.study_ids.update(
                {pid: c.study_id for pid, c in self._contexts.items()}
            )  # no query per patient on its first batch
            self._patient_ids = {c.study_id: pid for pid, c in self._contexts.items()}
            self._stale = False
        return self._engine

    def _track(self, session: Session, outcome: _Outcome) -> None:
        """Publish after commit; after a rollback, rebuild before the next use."""
        session.info.setdefault(_PENDING, []).append((self, outcome))

    def _settled(self, outcome: _Outcome, committed: bool) -> None:
        if committed:
            if outcome.actions:
                self.bus.publish(outcome.actions)
        else:
            with self.lock:
                self._stale = True

    # --- inputs ---

    @property
    def listener(self) -> FactListener:
        """What to append to ``app.state.fact_listeners``."""
        return FactListener(self)

    def on_facts(self, session: Session, rows: Sequence[StoredFact]) -> None:
        """The fact listener (neurocart.api.hooks): feed, persist, publish after commit."""
        if not self.enabled or not rows:
            return
        with self.lock:
            self._ready()
            self._feed(
                session, {r.patient_id for r in rows}, self._converter.convert(session, rows)
            )

    def on_observation_batch(self, session: Session, batch: StoredObservations) -> None:
        """A batch just stored for one patient, as written (no read back): the facts a
        rebuild reads from the store, in the same (id) order (-0.0 stored as 0.0)."""
        if not self.enabled or not batch.ids:
            return
        c = batch.columns
        with self.lock:
            self._ready()
            sid = self._converter.known(session, {batch.patient_id})[batch.patient_id]
            facts: list[monitor.Fact] = [
                monitor.Observation(sid, code, value + 0.0, at, unit, specimen.value, i)
                for i, code, value, at, unit, specimen in zip(
                    batch.ids, c.code, c.value, c.effective_at, c.unit, c.specimen, strict=True
                )
            ]
            self._feed(session, {batch.patient_id}, facts)

    def _feed(self, session: Session, patients: set[int], facts: Iterable[monitor.Fact]) -> None:
        engine = self._ready()
        outcome = _Outcome()
        self._track(session, outcome)
        actions: list[monitor.AlertAction] = []
        unknown = [p for p in patients if p not in self._contexts]
        if unknown:
            for pid, context in sorted(load_contexts(session, unknown).items()):
                self._remember(pid, context)
                actions.extend(engine.set_context(context))
        for fact in facts:
            actions.extend(engine.ingest(fact))
        if actions:
            self._persist(session, actions, outcome)

    def _remember(self, pid: int, context: monitor.PatientContext) -> None:
        self._contexts[pid] = context
        self._patient_ids[context.study_id] = pid
        self._converter.study_ids[pid] = context.study_id

    def tick(self, now: datetime | None = None, *, overdue: bool = True) -> list[dict[str, Any]]:
        """Let time pass: escalations and timed closes that fell due; with `overdue`, the
        critical protocol tasks overdue for patients in study days 0–14. Returns the actions
        (as dicts) it persisted."""
        if not self.enabled:
            return []
        now = now or self.clock()
        contexts, wanted = self._overdue(now, overdue)
        with self.database.transaction() as session:
            audit.lock_chain(session)
            with self.lock:
                engine = self._ready()
                outcome = _Outcome()
                self._track(session, outcome)
                actions: list[monitor.AlertAction] = []
                known = set(engine.study_ids())
                for pid, context in sorted(contexts.items()):
                    if self._contexts.get(pid) != context:  # a course added or changed
                        self._remember(pid, context)
                        if context.study_id in known:
                            actions.extend(engine.set_context(context))
                records: list[audit.Change] = []
                for sid, tasks in sorted(wanted.items()):
                    had = engine.state(sid).overdue if sid in known else ()
                    if [t.key for t in had] == sorted(t.key for t in tasks):
                        continue
                    known_pid = self._patient_ids.get(sid)
                    if sid not in known and known_pid is not None:
                        actions.extend(engine.set_context(self._contexts[known_pid]))
                    actions.extend(engine.set_overdue(sid, tasks, now))
                    records.append((known_pid or 0, None, overdue_record(sid, tasks, now)))
                if records:  # one entry per patient, appended together (replay reads them)
                    audit.append_many(
                        session, actor=SYSTEM, action="overdue", entity_type=MONITOR_ENTITY,
                        changes=records,
                    )  # fmt: skip
                timed = engine.tick(now)
                if timed:
                    audit.append(
                        session, actor=SYSTEM, action="tick", entity_type=MONITOR_ENTITY,
                        entity_id=0, old=None, new={"at": now.isoformat()},
                    )  # fmt: skip
                actions.extend(timed)
                self._persist(session, actions, outcome)
        return outcome.actions

    def _overdue(
        self, now: datetime, overdue: bool
    ) -> tuple[dict[int, monitor.PatientContext], dict[str, list[monitor.OverdueTask]]]:
        """Today's contexts, and study ID → overdue critical tasks for patients in days 0–14
        and for those the engine still holds overdue tasks for (an empty list clears them).

        Runs outside the write transaction and the engine lock (only a read of the engine's
        state takes it), and recomputes only the schedules whose answer can have changed
        (`OverdueTracker`)."""
        with self.lock:
            engine = self._ready()
            holding = {sid for sid in engine.study_ids() if engine.state(sid).overdue}
        out: dict[str, list[monitor.OverdueTask]] = {}
        with self._overdue_lock, self.database.reading() as session:
            contexts = load_contexts(session)
            if not overdue:
                return contexts, out
            acute = [pid for pid, c in contexts.items() if _acute(c, now)]
            tasks = self._tracker.overdue(session, acute, now)
            for pid, context in sorted(contexts.items()):
                if pid in tasks:
                    out[context.study_id] = tasks[pid]
                elif context.study_id in holding:
                    out[context.study_id] = []
        return contexts, out

    def acknowledge(self, session: Session, user: User, key: str, at: datetime) -> Alert:
        """`user` acknowledged alert `key` at `at`: recorded, audited, escalation stopped.

        Raises NotFoundError (unknown key) or ConflictError (the alert is closed). A second
        acknowledgement of the same alert changes nothing.
        """
        audit.lock_chain(session)
        row = session.scalar(select(Alert).where(Alert.key == key))
        if row is None:
            raise NotFoundError("alert", key, "key")
        if row.status == "closed":
            raise ConflictError(f"alert {key} is closed", "key")
        if row.acknowledged_at is not None:
            return row
        old = _ack_snapshot(row)
        with self.lock:
            outcome = _Outcome()
            self._track(session, outcome)
            actions: list[monitor.AlertAction] = []
            if self.enabled:
                try:
                    actions = self._ready().acknowledge(key, user.username, at)
                except monitor.UnknownAlertError:
                    actions = []
            self._persist(session, actions, outcome)
            session.refresh(row)
            if row.acknowledged_at is None:  # monitoring off, or the engine did not know it
                row.acknowledged_by, row.acknowledged_at = user.username, at
                session.flush()
            audit.append(
                session, actor=user.username, action="acknowledge", entity_type=ACK_ENTITY,
                entity_id=row.id, old=old, new=_ack_snapshot(row),
            )  # fmt: skip
        return row

    # --- persistence ---

    def _persist(
        self, session: Session, actions: Iterable[monitor.AlertAction], outcome: _Outcome
    ) -> None:
        log_rows: list[dict[str, Any]] = []
        for action in actions:
            payload = action.to_dict()
            outcome.actions.append(payload)
            log_rows.append(
                {"alert_key": action.alert_key, "kind": action.kind, "at": action.at,
                 "payload": payload}
            )  # fmt: skip
            self._apply(session, action, payload)
        if log_rows:
            session.execute(insert(StoredAction), log_rows)

    def _apply(self, session: Session, a: monitor.AlertAction, payload: dict[str, Any]) -> None:
        """Bring the alert row up to date with one action."""
        described = {
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
        where = Alert.key == a.alert_key
        if a.kind == "open":
            session.execute(
                insert(Alert).values(
                    key=a.alert_key, study_id=a.study_id,
                    patient_id=self._patient_ids.get(a.study_id), episode=a.episode,
                    status="open", tier=a.level, opened_at=a.at, **described,
                )
            )  # fmt: skip
        elif a.kind == "upgrade":
            values = described | {"acknowledged_by": None, "acknowledged_at": None}
            session.execute(update(Alert).where(where).values(**values))
        elif a.kind == "update":
            session.execute(update(Alert).where(where).values(**described))
        elif a.kind == "escalate":
            session.execute(update(Alert).where(where).values(tier=a.level, updated_at=a.at))
        elif a.kind == "close":
            session.execute(
                update(Alert).where(where).values(status="closed", closed_at=a.at, updated_at=a.at)
            )
        elif a.kind == "acknowledge":
            session.execute(
                update(Alert).where(where).values(acknowledged_by=a.user, acknowledged_at=a.at)
            )


_PENDING = "neurocart.monitoring.pending"
"""Session.info key: the (service, outcome) pairs of the session's open transaction, settled
by the two listeners below, registered once on every Session (registering a pair of
listeners per transaction cost more than the engine's work on a small batch)."""


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    for service, outcome in session.info.pop(_PENDING, ()):
        service._settled(outcome, committed=True)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    for service, outcome in session.info.pop(_PENDING, ()):
        service._settled(outcome, committed=False)


class FactListener:
    """The service as a fact listener; takes a stored batch of observations as written
    (cheaper than ORM rows)."""

    def __init__(self, service: MonitorService) -> None:
        self.service = service

    def __call__(self, session: Session, rows: Sequence[StoredFact], /) -> None:
        self.service.on_facts(session, rows)

    def observation_batch(self, session: Session, batch: StoredObservations) -> None:
        self.service.on_observation_batch(session, batch)


def _ack_snapshot(row: Alert) -> dict[str, Any]:
    return {
        "alert_key": row.key,
        "study_id": row.study_id,
        "status": row.status,
        "acknowledged_by": row.acknowledged_by,
        "acknowledged_at": row.acknowledged_at.isoformat() if row.acknowledged_at else None,
    }
