"""The monitoring service over the store: one alert per episode, rollback safety, audited
acknowledgement that stops escalation, rebuild on restart, replay equal to the persisted log."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from neurocart.ingest import ObservationIn
from neurocart.services.alert_bus import AlertBus
from neurocart.services.ingest import ingest_observation_batch
from neurocart.services.monitor_inputs import rebuild
from neurocart.services.monitoring import MonitorService
from neurocart.store import Database, Patient, User, repo
from neurocart.store.models import Alert, AlertAction, AuditEntry
from tests.dbfixtures import database, db_url, pg_session_url

__all__ = ["database", "db_url", "pg_session_url"]

DAY0 = datetime(2025, 3, 3, 8, tzinfo=UTC)
TEMP = "8310-5"


def _world(db: Database, n: int = 1) -> tuple[User, list[Patient]]:
    with db.transaction() as s:
        user = repo.create_user(s, None, username="doc", password_hash="x", role="neurologist")
        patients = []
        for i in range(n):
            p = repo.create_patient(s, None, repo.PatientIn(f"NC-{i + 1}", "HD", "female", "nmosd"))
            repo.create_course(s, None, repo.CourseIn(p.id, "x", infusion_at=DAY0))
            patients.append(p)
    return user, patients


def _temp(
    db: Database, svc: MonitorService, user: User, p: Patient, hours: float, c: float
) -> None:
    with db.transaction() as s:
        row = repo.add_observation(
            s, user, repo.ObservationIn(p.id, TEMP, c, "°C", DAY0 + timedelta(hours=hours))
        )
        svc.on_facts(s, [row])


def _log(db: Database) -> list[dict[str, object]]:
    with db.reading() as s:
        return [a.payload for a in s.scalars(select(AlertAction).order_by(AlertAction.id))]


def _alerts(db: Database) -> list[Alert]:
    with db.reading() as s:
        return list(s.scalars(select(Alert).order_by(Alert.id)))


def test_one_alert_per_episode_across_many_fever_readings(database: Database) -> None:
    user, (p,) = _world(database)
    svc = MonitorService(database)
    for h in range(40, 60, 2):
        _temp(database, svc, user, p, h, 38.2 + (h - 40) / 100)
    alerts = _alerts(database)
    assert [(a.episode, a.status) for a in alerts] == [("crs", "open")]
    crs = alerts[0]
    assert crs.key == "NC-1:crs:1"
    assert crs.disciplines == ["nursing", "hematology"]
    assert "NC-1 · day 2" in crs.text
    assert "CRS grade" in crs.text
    assert "Recommended:" in crs.text
    kinds = [a["kind"] for a in _log(database)]
    assert kinds.count("open") == 1


def test_afebrile_patient_gets_no_alert(database: Database) -> None:
    user, (p,) = _world(database)
    svc = MonitorService(database)
    for h in range(40, 60, 2):
        _temp(database, svc, user, p, h, 36.8)
    assert _alerts(database) == []
    assert _log(database) == []


def test_rolled_back_request_leaves_no_alert_and_the_engine_forgets_it(database: Database) -> None:
    user, (p,) = _world(database)
    svc = MonitorService(database)
    seen = []

    def failing_request() -> None:
        with database.transaction() as s:
            row = repo.add_observation(
                s, user, repo.ObservationIn(p.id, TEMP, 39.0, "°C", DAY0 + timedelta(hours=40))
            )
            svc.on_facts(s, [row])
            seen.extend(svc.engine.alerts())  # seen before the commit...
            raise RuntimeError("a later listener failed")

    with pytest.raises(RuntimeError):
        failing_request()
    assert seen
    assert _alerts(database) == []
    assert svc.engine.alerts() == []  # ...and forgotten after the rollback


def test_acknowledgement_is_audited_and_stops_escalation(database: Database) -> None:
    user, (p, q) = _world(database, 2)
    svc = MonitorService(database)
    _temp(database, svc, user, p, 40, 38.5)
    _temp(database, svc, user, q, 40, 38.5)
    at = DAY0 + timedelta(hours=40, minutes=10)
    with database.transaction() as s:
        row = svc.acknowledge(s, user, "NC-1:crs:1", at)
        assert row.acknowledged_by == "doc"
    svc.tick(DAY0 + timedelta(hours=43), overdue=False)
    escalated = {a["alert_key"] for a in _log(database) if a["kind"] == "escalate"}
    assert escalated == {"NC-2:crs:1"}
    with database.reading() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.entity_type == "alert"))
    assert entry is not None
    assert entry.actor == "doc"
    assert entry.action == "acknowledge"
    assert entry.old_values["acknowledged_by"] is None  # type: ignore[index]
    assert entry.new_values["acknowledged_at"] == at.isoformat()  # type: ignore[index]
    with database.transaction() as s, pytest.raises(LookupError):
        svc.acknowledge(s, user, "NC-9:crs:1", at)


def test_restart_rebuilds_the_same_state_without_duplicate_alerts(database: Database) -> None:
    user, (p,) = _world(database)
    live = MonitorService(database)
    for h in (30, 34, 38):
        _temp(database, live, user, p, h, 38.6)
    with database.transaction() as s:
        live.acknowledge(s, user, "NC-1:crs:1", DAY0 + timedelta(hours=38, minutes=5))
    live.tick(DAY0 + timedelta(hours=40))
    before = _log(database)
    # start() ticks once before traffic: restarted at the instant of the last tick, nothing
    # new falls due
    restarted = MonitorService(database, clock=lambda: DAY0 + timedelta(hours=40))
    restarted.start()
    assert restarted.engine.snapshot() == live.engine.snapshot()
    assert _log(database) == before  # nothing re-emitted
    _temp(database, restarted, user, p, 41, 38.7)
    assert sum(1 for a in _alerts(database) if a.episode == "crs") == 1


def test_replay_equals_the_persisted_log(database: Database) -> None:
    user, patients = _world(database, 3)
    svc = MonitorService(database)
    for h in range(24, 100, 3):
        for i, p in enumerate(patients):
            _temp(database, svc, user, p, h + i / 10, 38.8 if i != 1 and h < 60 else 37.0)
        if h % 12 == 0:
            svc.tick(DAY0 + timedelta(hours=h, minutes=30))
        if h == 27:
            with database.transaction() as s:
                svc.acknowledge(s, user, "NC-1:crs:1", DAY0 + timedelta(hours=27, minutes=20))
    with database.transaction() as s:  # a batch as the API's batch route stores and hands it
        items = [
            ObservationIn(
                code=TEMP, value=38.0 + k / 10, unit="Cel", source="ward",
                effective_at=DAY0 + timedelta(hours=101 + k),
            )
            for k in range(8)
        ]  # fmt: skip
        svc.listener.observation_batch(s, ingest_observation_batch(s, user, patients[1].id, items))
    with database.transaction() as s:  # the same, normalized on the way in
        east = timezone(timedelta(hours=2))  # over: normalized (°F → °C, local → UTC time)
        rows = [
            ObservationIn(
                code=TEMP, value=100.4 + k, unit="[degF]", source="ward",
                effective_at=(DAY0 + timedelta(hours=104 + k)).astimezone(east),
            )
            for k in range(6)
        ]  # fmt: skip
        svc.listener.observation_batch(s, ingest_observation_batch(s, user, patients[2].id, rows))
    svc.tick(DAY0 + timedelta(hours=120))
    with database.reading() as s:
        _, actions = rebuild(s)
    replayed = json.loads(json.dumps([a.to_dict() for a in actions]))
    persisted = _log(database)
    assert {a["kind"] for a in persisted} >= {"open", "close", "escalate", "acknowledge"}
    assert any(a["alert_key"] == "NC-2:crs:1" for a in persisted)  # from the batch
    opened = {(a["kind"], a["alert_key"], a["at"]) for a in persisted}
    assert ("open", "NC-3:crs:2", "2025-03-07T16:00:00+00:00") in opened  # 100.4 °F at 18:00+02
    assert replayed == persisted


def test_monitoring_off_stores_facts_and_raises_nothing(database: Database) -> None:
    user, (p,) = _world(database)
    svc = MonitorService(database, enabled=False)
    _temp(database, svc, user, p, 40, 39.5)
    assert svc.tick(DAY0 + timedelta(hours=50)) == []
    assert _alerts(database) == []
    with database.reading() as s:
        assert s.scalar(select(func.count()).select_from(AlertAction)) == 0


def test_bus_filters_by_discipline_and_closes() -> None:
    async def run() -> tuple[list[object], list[object]]:
        bus = AlertBus()
        icu, everyone = bus.subscribe("icu"), bus.subscribe()
        bus.publish([{"kind": "open", "disciplines": ["nursing"]}])
        bus.publish([{"kind": "escalate", "disciplines": ["icu"]}])
        bus.close()
        await asyncio.sleep(0)
        drain = []
        for sub in (icu, everyone):
            got = []
            while (item := await sub.queue.get()) is not None:
                got.append(item["kind"])
            drain.append(got)
        return drain[0], drain[1]

    icu, everyone = asyncio.run(run())
    assert icu == ["escalate"]
    assert everyone == ["open", "escalate"]


def test_start_persists_the_alerts_of_facts_stored_while_nothing_watched(
    database: Database,
) -> None:
    user, (p,) = _world(database)
    off = MonitorService(database, enabled=False)
    _temp(database, off, user, p, 40, 38.9)
    assert _alerts(database) == []
    svc = MonitorService(database)
    svc.start()
    assert [a.key for a in _alerts(database)] == ["NC-1:crs:1"]
    MonitorService(database).start()  # a second start adds nothing
    assert [a.key for a in _alerts(database)] == ["NC-1:crs:1"]
    with database.reading() as s:
        _, actions = rebuild(s)
    assert json.loads(json.dumps([a.to_dict() for a in actions])) == _log(database)
