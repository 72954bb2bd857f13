"""Reaching people outside the browser: e-mail, webhooks and the WeCom / DingTalk / Feishu
bots Chinese hospitals use, through apprise (one library, one URL per channel).

    notify_alert_event(action, settings=settings, database=database)

Call it after the transaction that persisted a monitor action committed, with the action as
a dict (`neurocart.monitor.AlertAction.to_dict()`, what the alert bus publishes). A new alert
of a severity in ``Settings.notify_severities`` (default: critical) and every escalation are
sent to the channels configured for the disciplines paged (``Settings.notify``: a key is a
discipline, ``discipline@tier`` for one escalation tier only, or ``*``). Sending happens on a
worker thread, never in the request; each channel is tried ``1 + Settings.notify_retries``
times with a growing pause, and every delivery or final failure is recorded on the alert:
an audit entry of type ``notification`` whose id is the alert's row id (who was reached,
through which channel — the URL without credentials — and when; the alert's timeline,
`neurocart.services.alert_notes.notes_for`, shows them).

Messages carry the pseudonymous study ID, the alert and what to do; never a name.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from neurocart.config import Settings
from neurocart.store import Database, audit
from neurocart.store.models import Alert

log = logging.getLogger(__name__)

ENTITY = "notification"
"""Audit entity type of delivery records (entity id = the alert's row id)."""
SENT, FAILED = "sent", "failed"

Sender = Callable[[str, str, str], bool]
"""``send(url, title, body) -> delivered``."""


def apprise_send(url: str, title: str, body: str) -> bool:
    """Deliver one message through apprise to one channel URL."""
    import apprise

    sender = apprise.Apprise()
    if not sender.add(url):
        raise ValueError(f"notify: not a usable channel URL: {redact(url)}")
    return bool(sender.notify(title=title, body=body))


def redact(url: str) -> str:
    """The channel without credentials or query (safe to store and show)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


@dataclass(frozen=True)
class Message:
    """One notification to send about an alert, with the link to open it."""

    alert_key: str
    kind: str
    url: str
    title: str
    body: str


def channels(settings: Settings, disciplines: Sequence[str], tier: int) -> list[str]:
    """The channel URLs for the paged `disciplines` at escalation `tier` (each once)."""
    out: dict[str, None] = {}
    for key, urls in settings.notify.items():
        name, _, at = key.partition("@")
        if at and (not at.isdigit() or int(at) != tier):
            continue
        if name == "*" or name in disciplines:
            out.update(dict.fromkeys(urls))
    return list(out)


def message_for(action: Mapping[str, Any]) -> tuple[str, str]:
    """Title and body of the notification of one alert action."""
    kind = action.get("kind", "")
    tier = action.get("level") or 1
    severity = str(action.get("severity") or "").upper()
    head = f"ESCALATED (tier {tier}) " if kind == "escalate" else "NEW "
    title = f"[neurocart] {head}{severity} {action.get('study_id')}: {action.get('title')}"
    paged = ", ".join(action.get("disciplines") or ())
    body = "\n".join(
        line
        for line in (
            str(action.get("text") or ""),
            f"Recommended: {action['recommended']}" if action.get("recommended") else "",
            f"Paged: {paged} · alert {action.get('alert_key')}",
        )
        if line
    )
    return title, body


def wanted(action: Mapping[str, Any], settings: Settings) -> bool:
    """Whether an alert action should notify: escalations always, openings and upgrades at
    configured severities.
    """
    kind = action.get("kind")
    if kind == "escalate":
        return True
    return kind in ("open", "upgrade") and action.get("severity") in settings.notify_severities


@dataclass
class Outbox:
    """A worker thread that sends queued messages with retries and records each outcome."""

    database: Database
    retries: int = 3
    backoff_seconds: float = 2.0
    send: Sender = apprise_send
    queue: queue.Queue[Message | None] = field(default_factory=queue.Queue)
    thread: threading.Thread | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def put(self, message: Message) -> None:
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="notify", daemon=True)
                self.thread.start()
        self.queue.put(message)

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until everything queued was sent or given up (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while self.queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.05)
        return not self.queue.unfinished_tasks

    def _run(self) -> None:
        while True:
            message = self.queue.get()
            try:
                if message is None:
                    return
                self._deliver(message)
            except Exception:  # never let one message stop the worker
                log.exception("notify: delivering %s failed", message.alert_key if message else "")
            finally:
                self.queue.task_done()

    def _deliver(self, message: Message) -> None:
        error = ""
        for attempt in range(1, self.retries + 2):
            try:
                if self.send(message.url, message.title, message.body):
                    self._record(message, SENT, attempt, "")
                    return
                error = "the channel refused the message"
            except Exception as exc:  # a network error, a bad URL: retried, then recorded
                error = f"{type(exc).__name__}: {exc}"[:300]
            if attempt <= self.retries:
                time.sleep(self.backoff_seconds * 2 ** (attempt - 1))
        self._record(message, FAILED, self.retries + 1, error)

    def _record(self, message: Message, outcome: str, attempts: int, error: str) -> None:
        with self.database.transaction() as session:
            audit.lock_chain(session)
            alert_id = session.scalar(select(Alert.id).where(Alert.key == message.alert_key))
            audit.append(
                session, actor="system", action=outcome, entity_type=ENTITY,
                entity_id=alert_id or 0, old=None,
                new={"alert_key": message.alert_key, "kind": message.kind,
                     "channel": redact(message.url), "attempts": attempts, "error": error,
                     "at": datetime.now(UTC).isoformat()},
            )  # fmt: skip


_OUTBOXES: dict[int, Outbox] = {}
_OUTBOX_LOCK = threading.Lock()


def outbox_for(database: Database, settings: Settings) -> Outbox:
    """The process's outbox for `database` (one worker per database)."""
    with _OUTBOX_LOCK:
        box = _OUTBOXES.get(id(database))
        if box is None or box.database is not database:
            box = _OUTBOXES[id(database)] = Outbox(database, retries=settings.notify_retries)
        return box


def notify_alert_event(
    action: Mapping[str, Any],
    *,
    settings: Settings,
    database: Database,
    outbox: Outbox | None = None,
) -> int:
    """Queue the notifications a committed alert action calls for; returns how many.

    Returns at once: sending, retries and recording happen on the outbox's worker thread.
    """
    if not settings.notify or not wanted(action, settings):
        return 0
    urls = channels(settings, list(action.get("disciplines") or ()), int(action.get("level") or 1))
    if not urls:
        return 0
    box = outbox or outbox_for(database, settings)
    title, body = message_for(action)
    for url in urls:
        box.put(Message(str(action["alert_key"]), str(action.get("kind")), url, title, body))
    return len(urls)
