"""What a team does with an alert, once for every face: acknowledge it for a discipline.

    row = acknowledge(monitor, session, user, key, at)   # NotAllowedError, NotFoundError ...

The permission matrix (`neurocart.security.roles`) says which roles act on alerts at all and,
in `ACK_DISCIPLINES`, for which paged disciplines: a nurse acknowledges an alert that pages
nursing, a treating physician any. The monitoring service records, audits and stops the
escalation (`MonitorService.acknowledge`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from neurocart.security.roles import may_acknowledge
from neurocart.services.errors import ServiceError
from neurocart.services.monitoring import MonitorService
from neurocart.store.errors import NotFoundError
from neurocart.store.models import Alert, User


class NotAllowedError(ServiceError, PermissionError):
    """The user's role may not act on this alert (it does not page their discipline)."""


def may_act(user: User, alert: Alert) -> bool:
    return may_acknowledge(user.role.value, alert.disciplines or ())


def acknowledge(
    monitor: MonitorService, session: Session, user: User, key: str, at: datetime
) -> Alert:
    """`user` acknowledges alert `key` for their discipline (audited; idempotent)."""
    row = session.scalar(select(Alert).where(Alert.key == key))
    if row is None:
        raise NotFoundError("alert", key, "key")
    if not may_act(user, row):
        paged = ", ".join(row.disciplines or ()) or "no discipline"
        raise NotAllowedError(
            f"key: a {user.role.value} may not acknowledge an alert paging {paged}"
        )
    return monitor.acknowledge(session, user, key, at)
