"""Alerts as the faces read and act on them: views, listing, acknowledgement.

The monitor leader writes alerts (`neurocart.services.monitoring`); every other process only
reads them here and records acknowledgements. An acknowledgement is written straight to the
alert row and the audit journal in the user's own transaction, so it never waits for the
monitor; the leader reads the journal entry and stops the escalation from there (and the
action it emits is what `neurocart monitor replay` checks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from neurocart.security.roles import may_acknowledge
from neurocart.services.accounts import (
    SignatureIn,
    check_signature,
    is_critical,
    record_signature,
)
from neurocart.services.errors import ServiceError
from neurocart.services.journal import ACK_ENTITY
from neurocart.store import audit
from neurocart.store.errors import ConflictError, NotFoundError
from neurocart.store.models import Alert, User

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
    """Every open alert, oldest first (acknowledged ones included, until they close)."""
    rows = session.scalars(select(Alert).where(Alert.status == "open").order_by(Alert.id))
    return [alert_view(r) for r in rows]


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
        paged = ", ".join(row.disciplines or ()) or "no discipline"
        raise NotAllowedError(
            f"key: a {user.role.value} may not acknowledge an alert paging {paged}"
        )
    if row.status == "closed":
        raise ConflictError(f"alert {key} is closed", "key")
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
    if meaning is not None:
        record_signature(
            session, user, meaning, action="acknowledge", entity_type="alert", entity_id=row.id,
            now=signed_at,
        )  # fmt: skip
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
