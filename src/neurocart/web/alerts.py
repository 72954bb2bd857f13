"""The alerts the ward board shows, behind a small read/acknowledge interface.

The web pages never reach into the monitor or the alert store directly: they ask the
provider installed on the app (``app.state.web_alerts``; `create_app` installs the stored
alerts of `neurocart.services.alerts`) for the open alerts and hand it an acknowledgement;
`version` lets the board's event stream notice a change cheaply. Without a provider the
pages show no alerts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

from fastapi import FastAPI, Request
from sqlalchemy.orm import Session

from neurocart.services.accounts import SignatureIn
from neurocart.services.alerts import (
    SEVERITIES,
    SEVERITY_RANK,
    AlertView,
    UnknownAlertError,
    alert_view,
    by_discipline,
    day_from_text,
)
from neurocart.store.models import User

__all__ = [
    "SEVERITIES",
    "SEVERITY_RANK",
    "AlertProvider",
    "AlertView",
    "NoAlerts",
    "UnknownAlertError",
    "alert_view",
    "by_discipline",
    "day_from_text",
    "get_alert_provider",
    "set_alert_provider",
]


@runtime_checkable
class AlertProvider(Protocol):
    """Where the web pages read alerts from and send acknowledgements to."""

    def open_alerts(self, session: Session) -> list[AlertView]:
        """Every open alert (acknowledged ones included, until they close)."""
        ...

    def acknowledge(
        self,
        session: Session,
        user: User,
        alert_id: str,
        at: datetime,
        signature: SignatureIn | None = None,
    ) -> AlertView:
        """Record that `user` acknowledged the alert (a critical one with the user's
        `signature`); raises UnknownAlertError, or SignatureError for a critical alert
        without a valid signature."""
        ...

    def version(self) -> int:
        """A number that changes whenever an alert opens, changes or closes."""
        ...


class NoAlerts:
    """The provider until an alert source is installed: nothing to show."""

    def open_alerts(self, session: Session) -> list[AlertView]:
        return []

    def acknowledge(
        self,
        session: Session,
        user: User,
        alert_id: str,
        at: datetime,
        signature: SignatureIn | None = None,
    ) -> AlertView:
        raise UnknownAlertError(alert_id)

    def version(self) -> int:
        return 0


def set_alert_provider(app: FastAPI, provider: AlertProvider) -> None:
    """Point the web pages at `provider` (the integrator: the persisted alert store)."""
    app.state.web_alerts = provider


def get_alert_provider(request: Request) -> AlertProvider:
    """The alert source the app was given, or one with no alerts, so pages render even where
    monitoring is off."""
    provider = getattr(request.app.state, "web_alerts", None)
    return provider if provider is not None else NoAlerts()
