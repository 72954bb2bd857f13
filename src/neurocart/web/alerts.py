"""The alerts the ward board shows, behind a small read/acknowledge interface.

The web pages never reach into the monitor or the alert store directly: they ask the
provider installed on the app (``app.state.web_alerts``) for the open alerts and hand it an
acknowledgement. Until the persisted alert store exists the default shows none; an app that
runs the monitor engine in-process can install `EngineAlerts(engine)`:

    from neurocart.web.alerts import EngineAlerts, set_alert_provider
    set_alert_provider(app, EngineAlerts(engine))

A provider for the persisted store implements the same two methods (plus `version`, which
lets the board's event stream notice a change cheaply) and audits the acknowledgement in the
session it is given.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from fastapi import FastAPI, Request
from sqlalchemy.orm import Session

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
    "EngineAlerts",
    "NoAlerts",
    "UnknownAlertError",
    "alert_view",
    "by_discipline",
    "day_from_text",
    "from_monitor_alert",
    "get_alert_provider",
    "set_alert_provider",
]


@runtime_checkable
class AlertProvider(Protocol):
    """Where the web pages read alerts from and send acknowledgements to."""

    def open_alerts(self, session: Session) -> list[AlertView]:
        """Every open alert (acknowledged ones included, until they close)."""
        ...

    def acknowledge(self, session: Session, user: User, alert_id: str, at: datetime) -> AlertView:
        """Record that `user` acknowledged the alert; raises UnknownAlertError."""
        ...

    def version(self) -> int:
        """A number that changes whenever an alert opens, changes or closes."""
        ...


class NoAlerts:
    """The provider until an alert source is installed: nothing to show."""

    def open_alerts(self, session: Session) -> list[AlertView]:
        return []

    def acknowledge(self, session: Session, user: User, alert_id: str, at: datetime) -> AlertView:
        raise UnknownAlertError(alert_id)

    def version(self) -> int:
        return 0


class EngineAlerts:
    """Alerts straight from an in-process `neurocart.monitor.Engine` (demo and tests).

    The engine is not thread-safe, so every call goes through `lock`; whoever feeds the
    engine facts must hold the same lock (`with provider.lock: engine.ingest(...)`) and call
    `touch()` afterwards so that open boards refresh.
    """

    def __init__(self, engine: Any, lock: threading.RLock | None = None) -> None:
        self.engine = engine
        self.lock = lock or threading.RLock()
        self._version = 0

    def touch(self) -> None:
        with self.lock:
            self._version += 1

    def version(self) -> int:
        return self._version

    def open_alerts(self, session: Session) -> list[AlertView]:
        with self.lock:
            return [from_monitor_alert(a) for a in self.engine.alerts(open_only=True)]

    def acknowledge(self, session: Session, user: User, alert_id: str, at: datetime) -> AlertView:
        from neurocart.monitor import UnknownAlertError as MonitorUnknown

        with self.lock:
            try:
                self.engine.acknowledge(alert_id, user.username, at)
                alert = self.engine.alert(alert_id)
            except MonitorUnknown:
                raise UnknownAlertError(alert_id) from None
            self._version += 1
        return from_monitor_alert(alert)


def from_monitor_alert(alert: Any) -> AlertView:
    """An AlertView of a `neurocart.monitor.Alert` snapshot."""
    day = dict(alert.values).get("study_day")
    return alert_view(alert, study_day=day if isinstance(day, int) else day_from_text(alert.text))


def set_alert_provider(app: FastAPI, provider: AlertProvider) -> None:
    """Point the web pages at `provider` (the integrator: the persisted alert store)."""
    app.state.web_alerts = provider


def get_alert_provider(request: Request) -> AlertProvider:
    provider = getattr(request.app.state, "web_alerts", None)
    return provider if provider is not None else NoAlerts()
