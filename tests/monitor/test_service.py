"""The monitor leader over the store: one alert per episode, a rolled-back write never seen,
audited acknowledgement that stops escalation, take-over without duplicates, replay equal to
the stored log, one patient's failure beside a healthy one, a recorded CRS grade, fencing."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from neurocart.ingest import ObservationIn
from neurocart.services import alerts as alert_service
from neurocart.services.alert_bus import AlertBus
from neurocart.services.assessments import add_assessment
from neurocart.services.ingest import ingest_observation_batch
from neurocart.services.journal import rebuild
from neurocart.services.monitoring import FencedError, MonitorService
from neurocart.store import Database, Patient, User, repo
from neurocart.store.models import Alert, AlertAction, AuditEntry, MonitorStatus
from tests.dbfixtures import database, db_url, pg_session_url
from tests.monitor.helpers import stored_world

__all__ = ["database", "db_url", "pg_session_url"]

DAY0 = datetime(2025, 3, 3, 8, tzinfo=UTC)
TEMP = "8310-5"


def _leader(db: Database, **kwargs: object) -> MonitorService:
    svc = MonitorService(db, **kwargs)  # type: ignore[arg-type]
    svc.take_over()
    while svc.step():  # the backlog (patients and courses written before)
        pass
    return svc


def _temp(
    db: Database, svc: MonitorService | None, user: User, p: Patient, hours: float, c: float
) -> None:
    """Store a temperature (committed), then let the leader read the journal."""
    with db.transaction() as s:
        repo.add_observation(
            s, user, repo.ObservationIn(p.id, TEMP, c, "°C", DAY0 + timedelta(hours=hours))
        )
    if svc is not None:
        svc.step()


def _ack(db: Database, svc: MonitorService, user: User, key: str, at: datetime) -> Alert:
    with db.transaction() as s:
        row = alert_service.acknowledge(s, user, key, at)
    svc.step()
    return row


def _log(db: Database) -> list[dict[str, object]]:
    with db.reading() as s:
        return [a.payload for a in s.scalars(select(AlertAction).order_by(AlertAction.id))]


def _alerts(db: Database) -> list[Alert]:
    with db.reading() as s:
        return list(s.scalars(select(Alert).order_by(Alert.id)))


def test_one_alert_per_episode_across_many_fever_readings(database: Database) -> None:
    user, (p,) = stored_world(database)
    svc = _leader(database)
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
    user, (p,) = stored_world(database)
    svc = _leader(database)
    for h in range(40, 60, 2):
        _temp(database, svc, user, p, h, 36.8)
    assert _alerts(database) == []
    assert _log(database) == []


def test_a_rolled_back_write_is_never_seen_by_the_monitor(database: Database) -> None:
    user, (p,) = stored_world(database)
    svc = _leader(database)

    def failing_request() -> None:
        with database.transaction() as s:
            repo.add_observation(s, user, repo.ObservationIn(p.id, TEMP, 39.5, "°C", DAY0))
            raise RuntimeError("the request failed after storing")

    with pytest.raises(RuntimeError):
        failing_request()
    assert svc.step() == 0
    assert _alerts(database) == []
    assert svc.engine.alerts() == []


def test_acknowledgement_is_audited_and_stops_escalation(database: Database) -> None:
    user, (p, q) = stored_world(database, 2)
    svc = _leader(database, overdue_budget=0)
    _temp(database, svc, user, p, 40, 38.5)
    _temp(database, svc, user, q, 40, 38.5)
    at = DAY0 + timedelta(hours=40, minutes=10)
    row = _ack(database, svc, user, "NC-1:crs:1", at)
    assert row.acknowledged_by == "doc"
    svc.tick(DAY0 + timedelta(hours=43))
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
        alert_service.acknowledge(s, user, "NC-9:crs:1", at)


def test_restart_rebuilds_the_same_state_without_duplicate_alerts(database: Database) -> None:
    user, (p,) = stored_world(database)
    live = _leader(database)
    for h in (30, 34, 38):
        _temp(database, live, user, p, h, 38.6)
    _ack(database, live, user, "NC-1:crs:1", DAY0 + timedelta(hours=38, minutes=5))
    live.tick(DAY0 + timedelta(hours=40))
    before = _log(database)
    restarted = _leader(database)  # a new leader: rebuilt to the checkpoint
    assert restarted.engine.snapshot() == live.engine.snapshot()
    assert restarted.step() == 0
    assert _log(database) == before  # nothing re-emitted
    _temp(database, restarted, user, p, 41, 38.7)
    assert sum(1 for a in _alerts(database) if a.episode == "crs") == 1


def test_replay_equals_the_persisted_log(database: Database) -> None:
    user, patients = stored_world(database, 3)
    svc = _leader(database)
    for h in range(24, 100, 3):
        for i, p in enumerate(patients):
            _temp(database, svc, user, p, h + i / 10, 38.8 if i != 1 and h < 60 else 37.0)
        if h % 12 == 0:
            svc.tick(DAY0 + timedelta(hours=h, minutes=30))
        if h == 27:
            _ack(database, svc, user, "NC-1:crs:1", DAY0 + timedelta(hours=27, minutes=20))
    with database.transaction() as s:  # a batch as the API's batch route stores and hands it
        items = [
            ObservationIn(
                code=TEMP, value=38.0 + k / 10, unit="Cel", source="ward",
                effective_at=DAY0 + timedelta(hours=101 + k),
            )
            for k in range(8)
        ]  # fmt: skip
        ingest_observation_batch(s, user, patients[1].id, items)
    svc.step()
    with database.transaction() as s:  # the same, normalized on the way in
        east = timezone(timedelta(hours=2))  # over: normalized (°F → °C, local → UTC time)
        rows = [
            ObservationIn(
                code=TEMP, value=100.4 + k, unit="[degF]", source="ward",
                effective_at=(DAY0 + timedelta(hours=104 + k)).astimezone(east),
            )
            for k in range(6)
        ]  # fmt: skip
        ingest_observation_batch(s, user, patients[2].id, rows)
    svc.step()
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


def test_a_leader_stores_the_alerts_of_facts_stored_while_nothing_watched(
    database: Database,
) -> None:
    user, (p,) = stored_world(database)
    _temp(database, None, user, p, 40, 38.9)
    assert _alerts(database) == []
    _leader(database)
    assert [a.key for a in _alerts(database)] == ["NC-1:crs:1"]
    again = _leader(database)  # a second leader adds nothing
    assert again.step() == 0
    assert [a.key for a in _alerts(database)] == ["NC-1:crs:1"]
    with database.reading() as s:
        _, actions = rebuild(s)
    assert json.loads(json.dumps([a.to_dict() for a in actions])) == _log(database)


def test_a_deposed_leader_is_fenced(database: Database) -> None:
    user, (p,) = stored_world(database)
    old = _leader(database)
    _leader(database)  # another process took over
    with database.transaction() as s:
        repo.add_observation(s, user, repo.ObservationIn(p.id, TEMP, 39.0, "°C", DAY0))
    with pytest.raises(FencedError):
        old.step()
    assert _alerts(database) == []


def test_a_recorded_crs_grade_3_upgrades_the_crs_alert_and_shows_both_sources(
    database: Database,
) -> None:
    user, (p,) = stored_world(database)
    svc = _leader(database)
    with database.transaction() as s:
        repo.add_observation(
            s, user, repo.ObservationIn(p.id, TEMP, 38.9, "°C", DAY0 + timedelta(hours=30))
        )
        repo.add_observation(
            s, user, repo.ObservationIn(p.id, "8480-6", 85, "mm[Hg]", DAY0 + timedelta(hours=30))
        )
    svc.step()
    (crs,) = [a for a in _alerts(database) if a.episode == "crs"]
    assert crs.grade == 2  # fever + hypotension without pressors: derived grade 2
    inputs = {"temperature_c": 38.9, "hypotension": True, "vasopressors": 1}
    with database.transaction() as s:
        add_assessment(s, user, repo.AssessmentIn(p.id, "crs", inputs, DAY0 + timedelta(hours=31)))
    svc.step()
    (crs,) = [a for a in _alerts(database) if a.episode == "crs"]
    assert crs.grade == 3
    assert crs.severity == "critical"
    assert "recorded by doc" in crs.text
    assert "CRS grade derived from vitals and events 2" in crs.text
    kinds = [a["kind"] for a in _log(database) if a["alert_key"] == crs.key]
    assert (kinds[0], kinds[-1]) == ("open", "upgrade")  # escalated while at grade 2
    with database.reading() as s:
        status = s.get(MonitorStatus, p.id)
    assert status is not None
    assert (status.crs_grade, status.crs_source, status.crs_by) == (3, "recorded", "doc")


def test_a_failing_patient_never_stops_monitoring_for_another(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    user, (bad, good) = stored_world(database, 2)
    svc = _leader(database)
    real = svc.engine.apply

    def apply(item: object) -> object:
        if getattr(item, "study_id", None) == "NC-1":
            raise ZeroDivisionError("a bug no rule foresaw")
        return real(item)  # type: ignore[arg-type]

    monkeypatch.setattr(svc.engine, "apply", apply)
    _temp(database, None, user, bad, 40, 39.0)
    _temp(database, svc, user, good, 40, 39.0)
    keys = [a.key for a in _alerts(database)]
    assert "NC-2:crs:1" in keys
    assert not any(k.startswith("NC-1:") for k in keys)
    (system,) = [a for a in _alerts(database) if a.key.startswith("system:")]
    assert system.disciplines == ["admin"]
    assert "NC-1" not in system.text  # names the journal entry, never the patient
    assert svc.failures == 1


def test_every_row_the_leader_writes_is_recorded_as_stored(database: Database) -> None:
    """The leader's statements give back the rows they wrote (RETURNING) and the audit
    records those without reading them again: after alerts of every kind (open, update,
    upgrade, escalation, acknowledgement twice, a timed close) and grade rows rewritten,
    the chain verifies against every row as a read sees it."""
    from neurocart.store import audit

    user, (p, q) = stored_world(database, 2)
    svc = _leader(database, overdue_budget=0)
    _temp(database, svc, user, p, 30, 38.4)
    _temp(database, svc, user, q, 30, 38.6)
    _temp(database, svc, user, q, 31, 39.4)  # a worse peak: an update
    with database.transaction() as s:  # hypotension: grade 2, an upgrade
        bp = repo.ObservationIn(q.id, "8480-6", 82, "mm[Hg]", DAY0 + timedelta(hours=32))
        repo.add_observation(s, user, bp)
    svc.step()
    svc.tick(DAY0 + timedelta(hours=36))  # escalations
    _ack(database, svc, user, "NC-1:crs:1", DAY0 + timedelta(hours=36.5))
    for hours in range(37, 80, 4):  # defervescence: a timed close
        _temp(database, svc, user, p, hours, 36.8)
    svc.tick(DAY0 + timedelta(hours=90))
    kinds = {(a["alert_key"], a["kind"]) for a in _log(database)}
    assert {
        ("NC-1:crs:1", "open"), ("NC-2:crs:1", "update"), ("NC-2:crs:1", "upgrade"),
        ("NC-2:crs:1", "escalate"), ("NC-1:crs:1", "acknowledge"), ("NC-1:crs:1", "close"),
    } <= kinds  # fmt: skip
    with database.reading() as s:
        assert s.scalars(select(MonitorStatus.patient_id)).all()
        result = audit.verify(s)
    assert result.ok, [str(b) for b in result.problems]
