"""Alerts as the faces read and act on them: views, listing, acknowledgement, resolution.

The monitor leader writes alerts (`neurocart.services.monitoring`); every other process only
reads them here and records acknowledgements. An acknowledgement is written straight to the
alert row and the audit journal in the user's own transaction, so it never waits for the
monitor; the leader reads the journal entry and stops the escalation from there (and the
action it emits is what `neurocart monitor replay` checks). A resolution (a treating
clinician closes the alert with a reason) takes the same path. Notes and hand-overs are in
`neurocart.services.alert_notes`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from neurocart.security.roles import Action, Resource, is_allowed, may_acknowledge
from neurocart.services.accounts import (
    SignatureIn,
    check_signature,
    is_critical,
    record_signature,
)
from neurocart.services.alert_notes import AlertNote, notes_for
from neurocart.services.errors import (
    AT_MOST_CHARACTERS,
    NO_DISCIPLINE,
    NOT_ALLOWED_TO_ACKNOWLEDGE,
    NOT_ALLOWED_TO_RESOLVE,
    RESOLVE_REASON_NEEDED,
    ServiceError,
)
from neurocart.services.journal import ACK_ENTITY, ALERT_ROW_ENTITY
from neurocart.store import audit
from neurocart.store.errors import (
    ALERT_ALREADY_CLOSED,
    ALERT_CLOSED,
    ConflictError,
    InvalidRecordError,
    NotFoundError,
)
from neurocart.store.models import Alert, User
from neurocart.store.pages import Page, keyset

SEVERITIES: tuple[str, ...] = ("info", "warning", "urgent", "critical")
"""Alert severities, least to most urgent (the monitor's rule files use the same words)."""
SEVERITY_RANK: dict[str, int] = {s: i for i, s in enumerate(SEVERITIES)}


@dataclass(frozen=True, slots=True)
class AlertView:
    """One alert as the pages and the API show it."""

    id: str
    study_id: str
    rule: str
    title: str
    severity: str
    disciplines: tuple[str, ...]
    text: str
    recommended: str
    opened_at: datetime
    study_day: int | None = None
    grade: float | None = None
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    tier: int = 1
    """Escalation tier: 1 when opened, +1 each time it went unacknowledged too long."""
    episode: str = ""
    """The engine's episode ("crs", "icans", ...): which grade `grade` is."""
    updated_at: datetime | None = None
    notes: tuple[AlertNote, ...] = ()
    """What the team wrote on it, to whom it was handed over, and notification deliveries."""

    @property
    def handed_to(self) -> str | None:
        """The discipline or person the alert was last handed over to, if any."""
        last = next((n for n in reversed(self.notes) if n.kind == "handover"), None)
        return last.to if last is not None else None

    @property
    def escalated(self) -> bool:
        return self.tier > 1

    @property
    def critical(self) -> bool:
        """Whether acknowledging it is signed (severity critical, or grade 3 or more)."""
        return is_critical(self)

    @property
    def rank(self) -> int:
        return SEVERITY_RANK.get(self.severity, 0)

    @property
    def findings(self) -> str:
        """What triggered it, without the patient/day prefix and the recommendation that the
        board shows apart ("temperature 39.4 °C; CRS grade (ASTCT) 1 ...")."""
        text = self.text
        head, sep, rest = text.partition(": ")
        if sep and head.startswith(self.study_id):
            text = rest
        text = text.split(" Recommended:", 1)[0].strip()
        if text.startswith(self.title):
            text = text[len(self.title) :].lstrip(" —-.(")
            text = text.split(". ", 1)[1] if text.startswith("grade") and ". " in text else text
        return text

    @property
    def source(self) -> str:
        _, sep, rest = self.text.partition(" Source: ")
        return rest.strip() if sep else ""


def alert_view(alert: Any, *, study_day: int | None = None) -> AlertView:
    """An AlertView of anything with an alert's attributes (a stored row, a monitor
    snapshot); the study day defaults to the one the alert text names."""
    return AlertView(
        id=alert.key,
        study_id=alert.study_id,
        rule=alert.rule_id,
        title=alert.title,
        severity=alert.severity,
        disciplines=tuple(alert.disciplines),
        text=alert.text,
        recommended=alert.recommended,
        opened_at=alert.opened_at,
        study_day=study_day if study_day is not None else day_from_text(alert.text),
        grade=alert.grade,
        acknowledged_by=alert.acknowledged_by,
        acknowledged_at=alert.acknowledged_at,
        tier=1 + int(_level(alert)),
        episode=str(getattr(alert, "episode", "") or ""),
        updated_at=getattr(alert, "updated_at", None),
    )


def _level(alert: Any) -> int:
    """The escalation level (0 when opened): a stored row's `tier`, a snapshot's `level`."""
    level = getattr(alert, "tier", None)
    if level is None:
        level = getattr(alert, "level", 0)
    return int(level or 0)


def day_from_text(text: str) -> int | None:
    """The study day an alert's text names ("NC-0001 · day 3: ..."); the engine wrote it
    with the study day of the moment the alert was raised."""
    head = text.split(":", 1)[0]
    if "· day " in head:
        try:
            return int(head.rsplit("· day ", 1)[1])
        except ValueError:
            return None
    return None


def by_discipline(alerts: Sequence[AlertView]) -> dict[str, list[AlertView]]:
    """Alerts grouped by each discipline they page (an alert may appear under several)."""
    out: dict[str, list[AlertView]] = {}
    for alert in sorted(alerts, key=lambda a: (-a.rank, a.opened_at)):
        for discipline in alert.disciplines or ("unrouted",):
            out.setdefault(discipline, []).append(alert)
    return dict(sorted(out.items()))


def open_alerts(session: Session) -> list[AlertView]:
    """Every open alert, oldest first (acknowledged ones included, until they close), with its
    notes (one query for all of them)."""
    rows = list(session.scalars(select(Alert).where(Alert.status == "open").order_by(Alert.id)))
    notes = notes_for(session, [r.id for r in rows])
    return [replace(alert_view(r), notes=tuple(notes.get(r.id, ()))) for r in rows]


def list_alerts(
    session: Session,
    *,
    status: str | None = None,
    discipline: str | None = None,
    study_id: str | None = None,
    page: Page | None = None,
) -> list[Alert]:
    """Alerts newest first (opened_at then id, descending: the page key), filtered by status,
    a discipline they page, or a patient's study ID.

    `disciplines` is a JSON list; matching its text for the quoted name works the same on
    SQLite and PostgreSQL and keeps the filter in the query, so a page is never short."""
    query = select(Alert)
    if status is not None:
        query = query.where(Alert.status == status)
    if study_id is not None:
        query = query.where(Alert.study_id == study_id)
    if discipline is not None:
        listed = cast(Alert.disciplines, String).contains(f'"{discipline}"', autoescape=True)
        query = query.where(listed)
    page = page or Page()
    keys = (Alert.opened_at, Alert.id)
    query = keyset(query, keys, after=page.after, limit=page.limit, descending=True)
    return list(session.scalars(query))


def get_alert(session: Session, key: str) -> Alert:
    """The stored alert, or NotFoundError naming `key`."""
    row = session.scalar(select(Alert).where(Alert.key == key))
    if row is None:
        raise NotFoundError("alert", key, "key")
    return row


def _ack_snapshot(row: Alert) -> dict[str, Any]:
    return {
        "alert_key": row.key,
        "study_id": row.study_id,
        "status": row.status,
        "acknowledged_by": row.acknowledged_by,
        "acknowledged_at": row.acknowledged_at.isoformat() if row.acknowledged_at else None,
    }


class NotAllowedError(ServiceError, PermissionError):
    """The user's role may not act on this alert (it does not page their discipline)."""


def may_act(user: User, alert: Alert) -> bool:
    """Whether `user` may acknowledge `alert`: the permission matrix's `ACK_DISCIPLINES`
    (a nurse for an alert that pages nursing, a treating physician for any)."""
    return may_acknowledge(user.role.value, alert.disciplines or ())


def acknowledge(
    session: Session,
    user: User,
    key: str,
    at: datetime,
    signature: SignatureIn | None = None,
    *,
    signed_at: datetime | None = None,
) -> Alert:
    """`user` acknowledged alert `key` at `at` for their discipline: recorded and audited in
    the caller's transaction; the monitor stops the escalation when it reads the journal
    entry. A critical alert (`is_critical`) is acknowledged only with the user's electronic
    signature, recorded with it (meaning, signer, `signed_at`: the real time).

    Raises NotFoundError (unknown key), NotAllowedError (the alert does not page the user's
    discipline), ConflictError (the alert is closed) or SignatureError (a critical alert
    without a valid signature). A second acknowledgement of the same alert changes nothing.
    """
    audit.lock_chain(session)
    row = get_alert(session, key)
    if not may_act(user, row):
        paged = ", ".join(row.disciplines or ()) or NO_DISCIPLINE
        raise NotAllowedError(
            NOT_ALLOWED_TO_ACKNOWLEDGE.format(role=user.role.value, disciplines=paged)
        )
    if row.status == "closed":
        raise ConflictError(ALERT_CLOSED.format(key=key), "key")
    if row.acknowledged_at is not None:
        return row
    meaning = check_signature(user, signature) if is_critical(row) else None
    old = _ack_snapshot(row)
    row.acknowledged_by, row.acknowledged_at = user.username, at
    session.flush()
    audit.append(
        session, actor=user.username, action="acknowledge", entity_type=ACK_ENTITY,
        entity_id=row.id, old=old, new=_ack_snapshot(row),
    )  # fmt: skip
    audit.append_states(session, actor=user.username, written={ALERT_ROW_ENTITY: [row.id]})
    if meaning is not None:
        record_signature(
            session, user, meaning, action="acknowledge", entity_type="alert", entity_id=row.id,
            now=signed_at,
        )  # fmt: skip
    return row


MAX_REASON = 500


def _resolve_snapshot(row: Alert, by: str | None, reason: str | None) -> dict[str, Any]:
    return {
        "alert_key": row.key,
        "study_id": row.study_id,
        "status": row.status,
        "resolved_by": by,
        "resolved_at": row.closed_at.isoformat() if by and row.closed_at else None,
        "reason": reason,
    }


def resolve(session: Session, user: User, key: str, at: datetime, reason: str) -> Alert:
    """A treating clinician closes alert `key` at `at` because it is dealt with (`reason`:
    "febrile after transfusion, cultures sent", "artefact: probe off"). Written to the row and
    the audit journal in the caller's transaction; the monitor ends the episode when it reads
    the entry. A condition that still holds opens a new alert on its next fact.

    Raises InvalidRecordError (reason blank or too long), NotFoundError (unknown key),
    NotAllowedError (role may not resolve alerts, or not this discipline's) or ConflictError
    (already closed).
    """
    reason = " ".join((reason or "").split())
    if not reason:
        raise InvalidRecordError("reason", RESOLVE_REASON_NEEDED)
    if len(reason) > MAX_REASON:
        raise InvalidRecordError("reason", AT_MOST_CHARACTERS.format(limit=MAX_REASON), len(reason))
    audit.lock_chain(session)
    row = get_alert(session, key)
    if not is_allowed(user.role, Resource.ALERTS, Action.CORRECT) or not may_act(user, row):
        raise NotAllowedError(NOT_ALLOWED_TO_RESOLVE.format(role=user.role.value))
    if row.status == "closed":
        raise ConflictError(ALERT_ALREADY_CLOSED.format(key=key), "key")
    old = _resolve_snapshot(row, None, None)
    row.status, row.closed_at, row.updated_at = "closed", at, at
    session.flush()
    audit.append(
        session, actor=user.username, action="resolve", entity_type=ACK_ENTITY,
        entity_id=row.id, old=old, new=_resolve_snapshot(row, user.username, reason),
    )  # fmt: skip
    audit.append_states(session, actor=user.username, written={ALERT_ROW_ENTITY: [row.id]})
    return row


class UnknownAlertError(LookupError):
    """No open alert with that id (already closed, or never existed)."""


class StoreAlerts:
    """The pages' alert provider over the stored alerts (`neurocart.web.alerts`)."""

    def __init__(self, version: Any) -> None:
        self._version = version

    def open_alerts(self, session: Session) -> list[AlertView]:
        return open_alerts(session)

    def acknowledge(
        self,
        session: Session,
        user: User,
        alert_id: str,
        at: datetime,
        signature: SignatureIn | None = None,
    ) -> AlertView:
        try:
            row = acknowledge(session, user, alert_id, at, signature)
        except (NotFoundError, ConflictError):
            raise UnknownAlertError(alert_id) from None
        return alert_view(row)

    def version(self) -> int:
        return int(self._version())
