"""Wiring the monitoring service into an app: listener, ticker, the board's alert provider.

    service = install(app, settings, database)    # in create_app
    async with running(app): ...                  # in the lifespan: rebuild + ticker

With ``Settings.monitoring = False`` (the benchmark's baseline) the service is installed but
disabled: no listener, no ticker; the alert routes still read the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select
from sqlalchemy.orm import Session

from neurocart.config import Settings
from neurocart.services.monitoring import MonitorService
from neurocart.store import Database
from neurocart.store.errors import ConflictError, NotFoundError
from neurocart.store.models import Alert, User
from neurocart.web.alerts import (
    AlertView,
    UnknownAlertError,
    day_from_text,
    set_alert_provider,
)
from neurocart.web.alerts import alert_view as shared_alert_view

log = logging.getLogger(__name__)


def install(app: FastAPI, settings: Settings, database: Database) -> MonitorService:
    service = MonitorService(database, enabled=settings.monitoring)
    app.state.monitor = service
    if settings.monitoring:
        app.state.fact_listeners.append(service.listener)
    set_alert_provider(app, StoreAlerts(service))
    return service


def service_of(request: Request) -> MonitorService:
    service: MonitorService = request.app.state.monitor
    return service


@contextlib.asynccontextmanager
async def running(app: FastAPI, settings: Settings) -> AsyncIterator[None]:
    """Rebuild the engine from the store, then tick every `monitor_tick_seconds`."""
    service: MonitorService = app.state.monitor
    task: asyncio.Task[None] | None = None
    if service.enabled:
        try:
            await run_in_threadpool(service.start)
        except Exception:  # e.g. a database not migrated yet: rebuild on first use instead
            log.exception("monitor: rebuild at start failed; will retry on first use")
        task = asyncio.create_task(_ticker(service, settings.monitor_tick_seconds))
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        service.bus.close()


async def _ticker(service: MonitorService, seconds: float) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            await run_in_threadpool(service.tick)
        except Exception:  # the next tick tries again; never stop monitoring
            log.exception("monitor: tick failed")


class StoreAlerts:
    """The web board's alert provider over the persisted alerts (neurocart.web.alerts)."""

    def __init__(self, service: MonitorService) -> None:
        self.service = service

    def open_alerts(self, session: Session) -> list[AlertView]:
        rows = session.scalars(select(Alert).where(Alert.status == "open").order_by(Alert.id))
        return [alert_view(r) for r in rows]

    def acknowledge(self, session: Session, user: User, alert_id: str, at: datetime) -> AlertView:
        try:
            row = self.service.acknowledge(session, user, alert_id, at)
        except (NotFoundError, ConflictError):
            raise UnknownAlertError(alert_id) from None
        return alert_view(row)

    def version(self) -> int:
        return self.service.bus.version


def alert_view(row: Alert) -> AlertView:
    return shared_alert_view(row, study_day=study_day_of(row))


def study_day_of(row: Alert) -> int | None:
    """The study day the alert text names ("NC-0001 · day 3: ...")."""
    return day_from_text(row.text)
