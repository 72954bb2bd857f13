"""The runtime's two threads: the relay publishes stored actions while the leader is busy,
the leader serves its timers under a journal that never drains, and `/health` says
``starting`` until the loop has first tried to lead."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert

from neurocart import runtime as runtime_module
from neurocart.config import Settings
from neurocart.runtime import Runtime
from neurocart.services.monitoring import wait_for
from neurocart.store import Database, migrate
from neurocart.store.models import AlertAction


@pytest.fixture
def database(tmp_path):  # type: ignore[no-untyped-def]
    db = Database.from_url(f"sqlite:///{tmp_path / 'loop.db'}")
    migrate.upgrade(db.engine)
    yield db
    db.dispose()


def _runtime(database: Database, **settings: object) -> Runtime:
    return Runtime.build(
        Settings(database_url=str(database.engine.url), monitor_poll_seconds=0.05, **settings),
        database,
    )


def _store_action(database: Database, key: str) -> None:
    """An action as the leader (of this or another process) stores it."""
    payload = {"kind": "open", "alert_key": key, "study_id": "NC-1", "disciplines": ["icu"]}
    with database.transaction() as session:
        session.execute(
            insert(AlertAction).values(
                alert_key=key, kind="open", at=datetime.now(UTC), payload=payload
            )
        )


def test_the_relay_publishes_while_the_leader_is_busy(database: Database) -> None:
    """Held monitor lock = a leader in the middle of a long step: the stored action still
    reaches the subscriber (it used to wait until the leader's backlog drained)."""
    rt = _runtime(database)
    rt.start()
    received: list[dict[str, object]] = []

    async def listen() -> None:
        sub = rt.bus.subscribe("icu")
        ready.set()
        item = await asyncio.wait_for(sub.queue.get(), timeout=3)
        assert item is not None
        received.append(item)

    ready = threading.Event()
    listener = threading.Thread(target=lambda: asyncio.run(listen()))
    try:
        assert wait_for(lambda: rt.role == "leader", 5)
        with rt.monitor.lock:  # the leader is stepping and will not come back for a while
            rt._wake.set()
            time.sleep(0.3)  # the loop is now waiting for the lock, as behind a long step
            listener.start()
            assert ready.wait(5)
            _store_action(database, "NC-1:crs:1")
            listener.join(5)
        assert [a["alert_key"] for a in received] == ["NC-1:crs:1"]
    finally:
        rt.stop()


def test_the_leader_ticks_under_a_journal_that_never_drains(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sustained ingest keeps `step` returning entries; the timers (escalations, overdue
    tasks) must run anyway, every slice."""
    monkeypatch.setattr(runtime_module, "STEP_SLICE_SECONDS", 0.01)
    rt = _runtime(database, monitor_tick_seconds=0.05)
    ticks: list[float] = []
    rt.start()
    try:
        assert wait_for(lambda: rt.role == "leader", 5)
        monkeypatch.setattr(rt.monitor, "step", lambda: (time.sleep(0.002), 1)[1])
        monkeypatch.setattr(rt.monitor, "tick", lambda now=None: ticks.append(time.monotonic()))
        rt._wake.set()
        assert wait_for(lambda: len(ticks) >= 3, 5), "no tick while the journal kept growing"
    finally:
        monkeypatch.undo()
        rt.stop()


def test_health_says_starting_before_the_loop_first_tried_to_lead(database: Database) -> None:
    rt = _runtime(database)
    assert rt.health()["state"] == "off"  # not started
    gate = threading.Event()
    real = rt._try_to_lead

    def slow() -> None:
        gate.wait(5)
        real()

    rt._try_to_lead = slow  # type: ignore[method-assign]
    rt.start()
    try:
        assert rt.health()["state"] == "starting"
        gate.set()
        assert wait_for(lambda: rt.health()["state"] == "live", 5)
    finally:
        gate.set()
        rt.stop()
    assert rt.health()["state"] == "off"
