"""The composition root: settings, database, monitor, alert feed — built once, used by all.

    runtime = Runtime.build(settings)        # or Runtime.build(settings, database, clock=...)
    runtime.start()                          # the monitor loop and the alert feed, in threads
    ...                                      # the API, the pages, the demo, the CLI use it
    runtime.stop()

**From a stored fact to an alert**, in one paragraph: a face (REST, a web form, the demo,
an import) calls a service that stores the fact and appends its audit entry, and commits.
The database's commit hook wakes the monitor loop (on PostgreSQL the commit also NOTIFYs, so
the leader hears writes of every process). The leader reads the journal entries committed
since its checkpoint (`services.journal`), feeds them to the pure engine (`monitor`), and
stores the actions, the alerts, the current grades and the new checkpoint in one
transaction (`services.monitoring`). After that commit every process's alert feed
(`services.alert_feed`) reads the new actions and publishes them to its SSE subscribers.

Two threads, so that neither waits for the other: the **monitor loop** (lead or stand by;
step through the journal in slices of at most `STEP_SLICE_SECONDS`, so that the timers and
the lease are served under a sustained load too; between two steps, a hundredth of a second
of the engine snapshot being encoded, if one is) and the **relay** (the alert feed), woken
by the leader's commit in this process or by the leader's NOTIFY from another. An alert is
on the stream as soon as it is stored, however long the leader's backlog.

The monitor never runs inside a write: a write never waits for it and is never refused
because of it. `/health` reports the role of this process (``leader``, ``standby``,
``off``) and its state: ``starting`` until the loop has first tried to lead, then ``catching
up`` while the leader reads the journal's backlog, ``live``, or ``standby``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from neurocart.config import Settings, get_settings
from neurocart.monitor import RuleSet
from neurocart.services.alert_bus import AlertBus
from neurocart.services.alert_feed import AlertFeed
from neurocart.services.leadership import (
    RETRY_SECONDS,
    Lease,
    Listener,
    LocalLease,
    PgLease,
)
from neurocart.services.monitoring import ALERTS_CHANNEL, FencedError, MonitorService, wait_for
from neurocart.store import Database, audit
from neurocart.store.audit_keys import current_keyring
from neurocart.store.checkpoints import checkpoint_file, write_checkpoint
from neurocart.store.db import JOURNAL_CHANNEL

log = logging.getLogger(__name__)

Role = Literal["leader", "standby", "off"]

STEP_SLICE_SECONDS = 1.0
"""The leader steps through the journal for at most this long before it checks its lease
and its timers (escalations, overdue tasks): a journal that never drains under a sustained
ingest must not hold the timers back."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    """One process's services, wired once."""

    settings: Settings
    database: Database
    clock: Callable[[], datetime] = _utcnow
    rules: RuleSet | None = None
    owns_database: bool = False
    bus: AlertBus = field(default_factory=AlertBus)
    monitor: MonitorService = field(init=False)
    feed: AlertFeed = field(init=False)
    role: Role = "off"
    _lease: Lease = field(init=False)
    _wake: threading.Event = field(default_factory=threading.Event)
    _relay_wake: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _relay: threading.Thread | None = None
    _listener: Listener | None = None
    _last_tick: float = 0.0
    _last_checkpoint: float = 0.0
    _checkpointed: int | None = None

    def __post_init__(self) -> None:
        self.feed = AlertFeed(self.database, self.bus)
        self.monitor = MonitorService(
            self.database, self.rules, clock=lambda: self.clock(), on_stored=self._stored
        )
        postgres = self.database.engine.dialect.name == "postgresql"
        self._lease = PgLease(self.database.engine.url) if postgres else LocalLease()
        if postgres:
            self._listener = Listener(
                self.database.engine.url,
                {JOURNAL_CHANNEL: self._wake.set, ALERTS_CHANNEL: self._relay_wake.set},
            )

    def _stored(self, actions: list[dict[str, Any]]) -> None:
        """The leader stored alert actions: relay them now, and reach people outside the
        browser (only the leader calls this, so each notification is sent once)."""
        self._relay_wake.set()
        if not self.settings.notify:
            return
        from neurocart.services.notify import notify_alert_event

        for action in actions:
            try:
                notify_alert_event(action, settings=self.settings, database=self.database)
            except Exception:  # a notification problem never stops monitoring
                log.exception("notify: could not queue a notification")

    @classmethod
    def build(
        cls,
        settings: Settings | None = None,
        database: Database | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        rules: RuleSet | None = None,
    ) -> Runtime:
        """A runtime on `database` (default: one opened from the settings, then owned)."""
        settings = settings or get_settings()
        owned = database is None
        db = database or Database.from_url(settings.database_url)
        return cls(settings, db, clock=clock or _utcnow, rules=rules, owns_database=owned)

    # --- lifecycle ---

    @property
    def monitoring(self) -> bool:
        return self.settings.monitoring

    def start(self) -> None:
        """Start the monitor loop and the relay (returns at once: `/health` answers
        while the leader catches up)."""
        if self._thread is not None:
            return
        self._stop.clear()
        try:  # before the leader can store anything, so the relay misses nothing
            self.feed.start()
        except Exception:  # e.g. a schema not migrated yet: the first pump retries
            log.exception("alert feed: could not start")
        self.database.on_journal.append(self._wake.set)
        if self._listener is not None:
            self._listener.start()
        self._relay = threading.Thread(target=self._run_relay, name="neurocart-relay", daemon=True)
        self._relay.start()
        self._thread = threading.Thread(target=self._run, name="neurocart-monitor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the threads, checkpoint the chain (as leader), release the leadership, close
        the subscribers."""
        self._stop.set()
        self._wake.set()
        self._relay_wake.set()
        for thread in (self._thread, self._relay):
            if thread is not None:
                thread.join(timeout=10)
        self._thread = self._relay = None
        if self.role == "leader":
            self.checkpoint()
        if self._listener is not None:
            self._listener.stop()
        if self._wake.set in self.database.on_journal:
            self.database.on_journal.remove(self._wake.set)
        self._lease.release()
        self.role = "off"
        self.bus.close()
        if self.owns_database:
            self.database.dispose()

    def _run_relay(self) -> None:
        """Publish stored actions to this process's subscribers as soon as they are stored
        (woken by the commit or the NOTIFY; polled as a fallback)."""
        while not self._stop.is_set():
            self._relay_wake.wait(timeout=self.settings.monitor_poll_seconds)
            self._relay_wake.clear()
            if self._stop.is_set():
                break
            try:
                self.feed.pump()
            except Exception:
                log.exception("alert feed: pump failed")

    def _run(self) -> None:
        next_try = 0.0
        while not self._stop.is_set():
            self._wake.wait(timeout=self.settings.monitor_poll_seconds)
            self._wake.clear()
            if self._stop.is_set():
                break
            if self.monitoring and self.role != "leader" and time.monotonic() >= next_try:
                next_try = time.monotonic() + RETRY_SECONDS
                self._try_to_lead()
            if self.role == "leader":
                self._lead()

    def _try_to_lead(self) -> None:
        if not self._lease.acquire():
            self.role = "standby"
            return
        try:
            with self.monitor.lock:
                self.monitor.take_over()
            self.role = "leader"
        except Exception:
            log.exception("monitor: could not take over; retrying")
            self._lease.release()
            self.role = "standby"

    def _lead(self) -> None:
        try:
            if not self._lease.acquire():
                self.monitor.epoch = None
                self.role = "standby"
                return
            with self.monitor.lock:
                end = time.monotonic() + STEP_SLICE_SECONDS
                while not self._stop.is_set():
                    self.monitor.step()
                    encoding = self.monitor.encode_snapshot()  # a slice between two steps
                    # caught up with the head the step read: a commit since then has set
                    # `_wake`, so no step is spent finding the journal unchanged
                    if self.monitor.progress().caught_up and not encoding:
                        break
                    if time.monotonic() >= end:  # more to do: come back after the timers
                        self._wake.set()
                        break
                now = time.monotonic()
                warming = self.monitor.tracker.pending > 0  # schedules left after a start
                if warming or now - self._last_tick >= self.settings.monitor_tick_seconds:
                    self._last_tick = now
                    self.monitor.tick()
                    if self.monitor.tracker.pending:
                        self._wake.set()  # the next budget of schedules at once
            if now - self._last_checkpoint >= self.settings.audit_checkpoint_seconds:
                self.checkpoint()
        except FencedError:
            log.warning("monitor: another process took over; standing by")
            self._lease.release()
            self.role = "standby"
        except Exception:  # the state may be ahead of the store: rebuild, never stop
            log.exception("monitor: step failed; rebuilding from the journal")
            self.role = "standby"
            self._wake.set()

    def checkpoint(self) -> None:
        """Append the signed audit chain head to the checkpoint file when the head moved
        since the last one (the leader's loop calls it every `audit_checkpoint_seconds`,
        and once more on stop). A failure is logged; monitoring goes on."""
        directory = self.settings.audit_checkpoint_dir
        self._last_checkpoint = time.monotonic()
        if directory is None:
            return
        try:
            path = checkpoint_file(directory, self.database.engine.url)
            with self.database.reading() as session:
                seq, _ = audit.head(session)
                if seq != self._checkpointed:
                    write_checkpoint(session, path, current_keyring())
            self._checkpointed = seq
        except Exception:
            log.exception("audit: could not write the chain checkpoint; retried later")

    # --- reading ---

    def health(self) -> dict[str, Any]:
        """This process's monitor role and how far the leader is behind the journal."""
        progress = self.monitor.progress()
        state = "starting" if self._thread is not None else "off"  # before the first lease
        if self.role == "leader":
            state = "live" if progress.caught_up else "catching up"
        elif self.role == "standby":
            state = "standby"
        return {
            "role": self.role if self.monitoring else "off",
            "state": state if self.monitoring else "off",
            "journal_seq": progress.seq,
            "journal_head": progress.head,
            "failures": self.monitor.failures,
            "schedules_pending": self.monitor.tracker.pending,
        }

    def settle(self, timeout: float = 10.0) -> bool:
        """Wait until the monitor has consumed everything committed so far and the feed has
        published it (tests; a client that must see the alert of what it just posted)."""
        if not self.monitoring:
            return True
        with self.database.reading() as session:
            from neurocart.services.journal import Journal

            target = Journal.head(session)
        self._wake.set()
        ok = wait_for(lambda: self.role == "leader" and self.monitor.seq >= target, timeout)
        if ok:
            with self.monitor.lock:
                pass  # the step that reached `target` has stored its actions
            self.feed.pump()
        return ok
