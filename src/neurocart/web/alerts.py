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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from fastapi import FastAPI, Request
from sqlalchemy.orm import Session

from neurocart.store.models import User

SEVERITIES: tuple[str, ...] = ("info", "warning", "urgent", "critical")
"""Alert severities, least to most urgent (the monitor's rule files use the same words)."""
SEVERITY_RANK: dict[str, int] = {s: i for i, s in enumerate(SEVERITIES)}


@dataclass(frozen=True, slots=True)
class AlertView:
    """One alert as the board shows it."""

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


class UnknownAlertError(LookupError):
    """No open alert with that id (already closed, or never existed)."""


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


def alert_view(alert: Any, *, study_day: int | None) -> AlertView:
    """An AlertView of anything with an alert's attributes (a monitor snapshot, a stored row)."""
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
        study_day=study_day,
        grade=alert.grade,
        acknowledged_by=alert.acknowledged_by,
        acknowledged_at=alert.acknowledged_at,
        tier=int(getattr(alert, "tier", None) or getattr(alert, "level", 1) or 1),
        episode=str(getattr(alert, "episode", "") or ""),
        updated_at=getattr(alert, "updated_at", None),
    )


def day_from_text(text: str) -> int | None:
    """The study day from an alert's text ("NC-0001 · day 3: ...")."""
    head = text.split(":", 1)[0]
    if "· day " in head:
        try:
            return int(head.rsplit("· day ", 1)[1])
        except ValueError:
            return None
    return None


def set_alert_provider(app: FastAPI, provider: AlertProvider) -> None:
    """Point the web pages at `provider` (the integrator: the persisted alert store)."""
    app.state.web_alerts = provider


def get_alert_provider(request: Request) -> AlertProvider:
    provider = getattr(request.app.state, "web_alerts", None)
    return provider if provider is not None else NoAlerts()


def by_discipline(alerts: Sequence[AlertView]) -> dict[str, list[AlertView]]:
    """Alerts grouped by each discipline they page (an alert may appear under several)."""
    out: dict[str, list[AlertView]] = {}
    for alert in sorted(alerts, key=lambda a: (-a.rank, a.opened_at)):
        for discipline in alert.disciplines or ("unrouted",):
            out.setdefault(discipline, []).append(alert)
    return dict(sorted(out.items()))
