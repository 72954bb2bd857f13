"""Stored alert actions → this process's live subscribers (the SSE streams, the board).

The monitor leader stores every action in ``alert_actions`` (ids grow in commit order) and
announces it (in-process, and by PostgreSQL NOTIFY to the other processes); each process's
feed then reads the actions it has not published yet and hands them to its `AlertBus`. One
path for every process, leader or not: a browser connected to any server sees every alert.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import func, select

from neurocart.services.alert_bus import AlertBus
from neurocart.store import Database
from neurocart.store.models import AlertAction

PUMP_LIMIT = 5000


class AlertFeed:
    """Publishes newly stored actions to `bus`, each once, in id order."""

    def __init__(self, database: Database, bus: AlertBus) -> None:
        self.database = database
        self.bus = bus
        self.last_id: int | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Begin after what is stored now (a client reads the history from the API)."""
        with self.database.reading() as session:
            self.last_id = int(session.scalar(select(func.max(AlertAction.id))) or 0)

    def pump(self) -> int:
        """Publish what was stored since the last pump; returns how many actions."""
        with self._lock:
            if self.last_id is None:
                self.start()
            assert self.last_id is not None
            with self.database.reading() as session:
                rows = session.execute(
                    select(AlertAction.id, AlertAction.payload)
                    .where(AlertAction.id > self.last_id)
                    .order_by(AlertAction.id)
                    .limit(PUMP_LIMIT)
                ).all()
            if not rows:
                return 0
            self.last_id = rows[-1][0]
            payloads: list[dict[str, Any]] = [payload for _, payload in rows]
        self.bus.publish(payloads)
        return len(payloads)
