"""What the team says on an alert and to whom it passes it: notes and hand-overs.

    add_note(session, user, "NC-0003:crs:1", at, "Cultures sent, paracetamol given")
    add_note(session, user, key, at, "ICU bed requested", kind="handover", to="icu")

A note is a statement one person made at one time and never edits, so it is kept where such
statements belong: an audit entry (type ``alert_note``, entity id = the alert's row id),
append-only and hash-chained with the rest of the record. Notification deliveries
(`neurocart.services.notify`) and resolutions (`neurocart.services.alerts.resolve`) are
audit entries on the alert too; `notes_for` reads all three as one timeline per alert, in
one query for any number of alerts. The monitor never reads notes: a note changes no alert
state, and a hand-over does not stop the escalation (only an acknowledgement does).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from neurocart.monitor.routing import DISCIPLINES
from neurocart.security.roles import Action, Resource, is_allowed, may_acknowledge
from neurocart.services.errors import (
    AT_MOST_CHARACTERS,
    HANDOVER_TO_NEEDED,
    NO_DISCIPLINE,
    NOT_A_HANDOVER_TARGET,
    NOT_ALLOWED_TO_HAND_OVER,
    NOT_ALLOWED_TO_WRITE,
    NOT_BLANK,
    ONE_OF_KINDS,
)
from neurocart.services.journal import ACK_ENTITY
from neurocart.services.notify import ENTITY as DELIVERY_ENTITY
from neurocart.store import audit
from neurocart.store.errors import (
    ALERT_CLOSED,
    ConflictError,
    InvalidRecordError,
    NotFoundError,
)
from neurocart.store.models import Alert, AuditEntry, User

NOTE_ENTITY = "alert_note"
"""Audit entity type of notes and hand-overs (entity id = the alert's row id)."""
NoteKind = Literal["note", "handover"]
KINDS: tuple[str, ...] = ("note", "handover")
MAX_TEXT = 1000


@dataclass(frozen=True, slots=True)
class AlertNote:
    """One line of an alert's timeline besides the monitor's own actions.

    `kind` is ``note``, ``handover`` (`to`: a discipline or a username), ``resolve`` (`text`:
    the reason) or ``delivery`` (`text`: the channel and outcome, `ok`: whether it arrived).
    """

    kind: str
    by: str
    at: datetime
    text: str
    to: str | None = None
    ok: bool = True


class NoteNotAllowedError(PermissionError):
    """The user's role may not write on this alert."""


def _clean(text: str | None, field: str, limit: int) -> str:
    cleaned = " ".join((text or "").split())
    if not cleaned:
        raise InvalidRecordError(field, NOT_BLANK)
    if len(cleaned) > limit:
        raise InvalidRecordError(field, AT_MOST_CHARACTERS.format(limit=limit), len(cleaned))
    return cleaned


def _handover_target(session: Session, to: str | None) -> str:
    """A discipline of the routing policy, or the username of an active user."""
    target = (to or "").strip()
    if not target:
        raise InvalidRecordError("to", HANDOVER_TO_NEEDED)
    if target in DISCIPLINES:
        return target
    user = session.scalar(select(User).where(User.username == target))
    if user is None or not user.active:
        raise InvalidRecordError(
            "to", NOT_A_HANDOVER_TARGET.format(disciplines=", ".join(DISCIPLINES)), target
        )
    return target


def add_note(
    session: Session,
    user: User,
    key: str,
    at: datetime,
    text: str,
    *,
    kind: str = "note",
    to: str | None = None,
) -> AlertNote:
    """Write a note (anyone who may act on alerts) or a hand-over (whoever may acknowledge
    this alert) on alert `key`, audited in the caller's transaction.

    Raises InvalidRecordError naming ``kind``, ``text`` or ``to``; NotFoundError (``key``);
    NoteNotAllowedError; ConflictError for a hand-over of a closed alert.
    """
    if kind not in KINDS:
        raise InvalidRecordError("kind", ONE_OF_KINDS.format(kinds=", ".join(KINDS)), kind)
    text = _clean(text, "text", MAX_TEXT)
    audit.lock_chain(session)
    row = session.scalar(select(Alert).where(Alert.key == key))
    if row is None:
        raise NotFoundError("alert", key, "key")
    if not is_allowed(user.role, Resource.ALERTS, Action.WRITE):
        raise NoteNotAllowedError(NOT_ALLOWED_TO_WRITE.format(role=user.role.value))
    target = None
    if kind == "handover":
        if not may_acknowledge(user.role, row.disciplines or ()):
            paged = ", ".join(row.disciplines or ()) or NO_DISCIPLINE
            raise NoteNotAllowedError(
                NOT_ALLOWED_TO_HAND_OVER.format(role=user.role.value, disciplines=paged)
            )
        if row.status == "closed":
            raise ConflictError(ALERT_CLOSED.format(key=key), "key")
        target = _handover_target(session, to)
    record = {"alert_key": key, "kind": kind, "text": text, "to": target, "at": at.isoformat()}
    audit.append(
        session, actor=user.username, action=kind, entity_type=NOTE_ENTITY,
        entity_id=row.id, old=None, new=record,
    )  # fmt: skip
    return AlertNote(kind, user.username, at, text, target)


def _note(entry: AuditEntry) -> AlertNote | None:
    record: dict[str, Any] = entry.new_values or {}
    if entry.entity_type == NOTE_ENTITY:
        at = datetime.fromisoformat(record["at"])
        return AlertNote(entry.action, entry.actor, at, record["text"], record.get("to"))
    if entry.entity_type == ACK_ENTITY:
        at = datetime.fromisoformat(record["resolved_at"])
        return AlertNote("resolve", entry.actor, at, record["reason"])
    if entry.entity_type == DELIVERY_ENTITY:
        ok = entry.action == "sent"
        outcome = "delivered" if ok else f"failed after {record.get('attempts')} attempt(s)"
        text = f"{record.get('kind')} notification via {record.get('channel')}: {outcome}"
        if not ok and record.get("error"):
            text += f" ({record['error']})"
        return AlertNote("delivery", entry.actor, datetime.fromisoformat(record["at"]), text,
                         ok=ok)  # fmt: skip
    return None


def notes_for(session: Session, alert_ids: Sequence[int]) -> dict[int, list[AlertNote]]:
    """Each alert's notes, hand-overs, resolution and deliveries, oldest first."""
    if not alert_ids:
        return {}
    query = (
        select(AuditEntry)
        .where(
            AuditEntry.entity_id.in_(list(alert_ids)),
            or_(
                AuditEntry.entity_type.in_((NOTE_ENTITY, DELIVERY_ENTITY)),
                (AuditEntry.entity_type == ACK_ENTITY) & (AuditEntry.action == "resolve"),
            ),
        )
        .order_by(AuditEntry.seq)
    )
    out: dict[int, list[AlertNote]] = {}
    for entry in session.scalars(query):
        note = _note(entry)
        if note is not None:
            out.setdefault(entry.entity_id, []).append(note)
    return out
