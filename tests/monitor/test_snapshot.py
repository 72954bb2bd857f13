"""Engine snapshots: the state restored from a stored snapshot plus a replay of the rest is
the state of a full replay, and acts alike on new facts; a snapshot edited outside neurocart,
or made with other rules, is refused and the whole journal replayed; the next leader uses the
snapshot its predecessor stored."""

from __future__ import annotations

import dataclasses
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from neurocart import monitor
from neurocart.monitor import snapshot
from neurocart.monitor.state import DerivationSettings
from neurocart.services import alerts as alert_service
from neurocart.services import monitoring, snapshots
from neurocart.services.assessments import add_assessment
from neurocart.services.monitoring import MonitorService
from neurocart.store import Database, Patient, User, repo
from neurocart.store.models import AlertAction, MonitorSnapshot
from tests.dbfixtures import database, db_url, pg_session_url
from tests.monitor.helpers import stored_world

__all__ = ["database", "db_url", "pg_session_url"]

DAY0 = datetime(2025, 3, 3, 8, tzinfo=UTC)
TEMP, SBP = "8310-5", "8480-6"
ICE_FULL = {"orientation": 4, "naming": 3, "commands": 1, "writing": 1, "attention": 1}


def _h(hours: float) -> datetime:
    return DAY0 + timedelta(hours=hours)


@pytest.fixture
def every_step(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A snapshot at every step that reaches the journal head."""
    monkeypatch.setattr(snapshots, "SNAPSHOT_ENTRIES", 1)
    return monkeypatch


def _obs(db: Database, user: User, p: Patient, code: str, value: float, hours: float) -> None:
    with db.transaction() as s:
        unit = "°C" if code == TEMP else "mm[Hg]"
        repo.add_observation(s, user, repo.ObservationIn(p.id, code, value, unit, _h(hours)))


def _assess(db: Database, user: User, p: Patient, name: str, inputs: Any, hours: float) -> None:
    with db.transaction() as s:
        add_assessment(s, user, repo.AssessmentIn(p.id, name, inputs, _h(hours)))


def _drain(svc: MonitorService) -> None:
    """Step to the journal head and finish the snapshot in progress, as the leader's loop."""
    while svc.step() or svc.encode_snapshot():
        pass


def _scenario(db: Database, monkeypatch: pytest.MonkeyPatch) -> tuple[User, list[Patient]]:
    """A leader that stored a snapshot mid-way and went on without storing another: fever →
    a CRS alert open and escalating (timers pending), ICE assessments, a recorded CRS grade,
    a resolved (closed) episode; then more facts after the snapshot."""
    user, (p, q, r) = stored_world(db, 3)
    monkeypatch.setattr(snapshots, "SNAPSHOT_ENTRIES", 1)
    live = MonitorService(db, overdue_budget=0)
    live.take_over()
    _drain(live)
    _assess(db, user, p, "ice", ICE_FULL, 2)
    for hours, c in ((30, 38.6), (34, 38.9)):
        _obs(db, user, p, TEMP, c, hours)
        _obs(db, user, q, TEMP, c, hours)
    _obs(db, user, q, SBP, 85, 34)
    _drain(live)
    live.tick(_h(35))  # both CRS alerts escalate once; further levels pending
    with db.transaction() as s:
        alert_service.resolve(s, user, "NC-2:crs:1", _h(35.5), "treated, reviewed")
    _assess(db, user, p, "ice", {**ICE_FULL, "writing": 0, "naming": 2}, 36)
    inputs = {"temperature_c": 38.9, "hypotension": True, "vasopressors": 0}
    _assess(db, user, p, "crs", inputs, 36.5)
    _obs(db, user, r, TEMP, 36.8, 36)
    with db.transaction() as s:  # a CSF value: r's later serum values may pair with it
        repo.add_observation(s, user, repo.ObservationIn(r.id, "1746-7", 25, "mg/dL", _h(36),
                                                         specimen="csf"))  # fmt: skip
    _drain(live)  # the snapshot is stored at this step
    monkeypatch.setattr(snapshots, "SNAPSHOT_ENTRIES", 10**9)
    _obs(db, user, p, TEMP, 39.2, 37)
    _assess(db, user, r, "ice", {**ICE_FULL, "orientation": 2}, 37)
    _obs(db, user, q, TEMP, 37.0, 37)
    _drain(live)
    live.tick(_h(37.5))
    with db.reading() as s:
        assert s.scalars(select(MonitorSnapshot.seq)).all()  # one was stored
    return user, [p, q, r]


def _full_replay(db: Database, monkeypatch: pytest.MonkeyPatch) -> MonitorService:
    with monkeypatch.context() as m:
        m.setattr(snapshots, "load", lambda *args, **kwargs: None)
        svc = MonitorService(db, overdue_budget=0)
        svc.take_over()
    assert svc.replayed_from == 0
    return svc


def _comparable(engine: monitor.Engine) -> Any:
    """The engine's whole state as plain data, results inlined (their sharing differs)."""
    data = json.loads(json.dumps(snapshot.dump(engine)))
    table = data.pop("results")
    for p in data["patients"].values():
        p["state"]["results"] = {k: table[i] for k, i in p["state"]["results"].items()}
    return data


NEW_FACTS: list[monitor.HistoryItem] = [
    monitor.Observation("NC-1", TEMP, 39.6, _h(38)),
    monitor.Ack("NC-1:crs:1", "nurse", _h(38.1)),
    monitor.Observation("NC-2", TEMP, 38.8, _h(39)),  # a new episode: NC-2:crs:2
    monitor.Assessment("NC-3", "ice", _h(39), value=4),
    monitor.Observation("NC-3", SBP, 82, _h(39.5)),
    monitor.Tick(_h(44)),
    *(monitor.Observation("NC-1", TEMP, 36.9, _h(45 + k)) for k in range(0, 30, 4)),
    monitor.Tick(_h(80)),
]
"""Inputs after the checkpoint: an update, an acknowledgement, a new episode after the
resolved one, an ICANS alert, escalations and the timed close of a defervesced CRS alert."""


def _feed(engine: monitor.Engine) -> list[monitor.AlertAction]:
    return [a for item in NEW_FACTS for a in engine.apply(item)]


def test_snapshot_plus_the_rest_equals_a_full_replay_and_acts_alike(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, patients = _scenario(database, monkeypatch)
    restored = MonitorService(database, overdue_budget=0)
    restored.take_over()
    with database.reading() as s:
        stored = s.scalars(select(MonitorSnapshot.seq)).all()
    assert 0 < restored.replayed_from == max(stored) < restored.seq  # the rest was replayed
    full = _full_replay(database, monkeypatch)
    assert restored.seq == full.seq
    assert _comparable(restored.engine) == _comparable(full.engine)
    assert restored.engine.snapshot() == full.engine.snapshot()
    assert restored.journal.contexts() == full.journal.contexts()
    assert restored.journal.anchored == full.journal.anchored == {patients[2].id}
    open_alerts = {a.key: a.level for a in full.engine.alerts()}
    assert open_alerts["NC-1:crs:1"] >= 1  # escalated, unacknowledged
    assert full.engine.alert("NC-2:crs:1").status == "closed"  # resolved by a clinician
    assert full.engine.state("NC-1").crs_recorded is not None
    assert full.engine.state("NC-1").neuro.ice is not None
    actions = _feed(restored.engine)
    assert actions == _feed(full.engine)
    kinds = {(a.alert_key, a.kind) for a in actions}
    assert {("NC-1:crs:1", "acknowledge"), ("NC-2:crs:2", "open"), ("NC-1:crs:1", "close")} <= kinds
    assert any(a.episode == "icans" and a.kind == "open" for a in actions)
    assert any(a.kind == "escalate" for a in actions)  # timers pending at the checkpoint


def test_the_next_leader_takes_over_from_the_snapshot(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    user, (_, q, _) = _scenario(database, monkeypatch)
    with database.reading() as s:
        before = s.scalars(select(AlertAction.payload).order_by(AlertAction.id)).all()
    nxt = MonitorService(database, overdue_budget=0)
    nxt.take_over()
    assert nxt.replayed_from > 0
    nxt.step()  # the leader's own entries only: nothing to act on
    with database.reading() as s:
        assert s.scalars(select(AlertAction.payload).order_by(AlertAction.id)).all() == before
    _obs(database, user, q, TEMP, 38.8, 39)  # fever again after the resolved episode
    nxt.step()
    with database.reading() as s:
        after = s.scalars(select(AlertAction.payload).order_by(AlertAction.id)).all()
    assert after[: len(before)] == before
    new = [(a["alert_key"], a["kind"]) for a in after[len(before) :]]
    assert ("NC-2:crs:2", "open") in new  # the episode counter came with the snapshot
    assert all(key.startswith("NC-2:") for key, _ in new)


def _tamper(db: Database, **values: Any) -> None:
    with db.transaction() as s:
        s.execute(update(MonitorSnapshot).values(**values))


@pytest.mark.parametrize(
    "attack",
    ["data", "mac", "seq", "fingerprint", "undecodable"],
)
def test_a_tampered_snapshot_is_refused_and_the_journal_replayed(
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    attack: str,
) -> None:
    _scenario(database, monkeypatch)
    with database.reading() as s:
        row = s.scalars(select(MonitorSnapshot).order_by(MonitorSnapshot.seq.desc())).first()
        assert row is not None
        data, mac, seq = bytes(row.data), row.mac, row.seq
    if attack == "data":
        _tamper(database, data=data[:100] + bytes([data[100] ^ 1]) + data[101:])
    elif attack == "mac":
        _tamper(database, mac=("0" if mac[0] != "0" else "1") + mac[1:])
    elif attack == "seq":
        _tamper(database, seq=seq - 1)
    elif attack == "fingerprint":
        _tamper(database, fingerprint="0" * 64)
    else:  # a row re-signed with the key over data that is not a snapshot: still no crash
        keyring = snapshots.current_keyring()
        body = {"engine": {"format": snapshot.FORMAT}, "journal": {"people": [], "anchored": []}}
        junk = snapshots.zlib.compress(json.dumps(body).encode())
        with database.reading() as s:
            chain = snapshots._chain_hash(s, seq)
        assert chain is not None
        fp = snapshot.fingerprint(monitor.load_rules())
        _tamper(database, data=junk, mac=snapshots._mac(keyring.secret, seq, chain, fp, junk))
    full = _full_replay(database, monkeypatch)
    caplog.set_level(logging.WARNING)
    svc = MonitorService(database, overdue_budget=0)
    svc.take_over()
    assert svc.replayed_from == 0
    assert _comparable(svc.engine) == _comparable(full.engine)
    assert any("monitor snapshot" in r.getMessage() for r in caplog.records)


def test_a_snapshot_of_other_rules_is_not_used(
    database: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _scenario(database, monkeypatch)
    default = monitor.load_rules()
    other = dataclasses.replace(default, settings=DerivationSettings(fever_c=38.5))
    assert snapshot.fingerprint(other) != snapshot.fingerprint(default)
    assert snapshot.fingerprint(monitor.load_rules()) == snapshot.fingerprint(default)
    caplog.set_level(logging.INFO)
    svc = MonitorService(database, other, overdue_budget=0)
    svc.take_over()
    assert svc.replayed_from == 0
    assert any("other rules" in r.getMessage() for r in caplog.records)


def test_only_the_newest_snapshots_are_kept(database: Database, every_step: Any) -> None:
    user, (p,) = stored_world(database, 1)
    svc = MonitorService(database, overdue_budget=0)
    svc.take_over()
    _drain(svc)
    for hours in range(20, 30):
        _obs(database, user, p, TEMP, 37.0, hours)
        _drain(svc)
    with database.reading() as s:
        seqs = s.scalars(select(MonitorSnapshot.seq)).all()
    assert len(seqs) == snapshots.KEEP
    assert max(seqs) == svc.seq


def test_a_backlog_read_in_full_steps_gets_its_snapshot_at_its_end(
    database: Database, every_step: pytest.MonkeyPatch
) -> None:
    """Every step full (no step reaches the head by itself): the snapshot comes with the
    step that finds only the leader's own entries left."""
    every_step.setattr(monitoring, "STEP_ENTRIES", 1)
    user, (p,) = stored_world(database, 1)
    for hours in (20, 30, 31):
        _obs(database, user, p, TEMP, 38.7, hours)
    svc = MonitorService(database, overdue_budget=0)
    svc.take_over()
    _drain(svc)
    with database.reading() as s:
        seqs = s.scalars(select(MonitorSnapshot.seq)).all()
    assert seqs
    nxt = MonitorService(database, overdue_budget=0)
    nxt.take_over()
    assert nxt.replayed_from == max(seqs) > 0
    assert _comparable(nxt.engine) == _comparable(svc.engine)


def test_facts_stepped_while_a_snapshot_is_encoded_alert_at_once_and_it_keeps_its_seq(
    database: Database, every_step: Any
) -> None:
    """The leader encodes a snapshot in slices between steps: a fever stepped meanwhile is
    alerted at its own step, and the snapshot stored is the state where it started."""
    user, (p, q) = stored_world(database, 2)
    svc = MonitorService(database, overdue_budget=0)
    svc.take_over()
    _drain(svc)
    _obs(database, user, p, TEMP, 37.0, 20)
    svc.step()  # reaches the head: a snapshot starts here
    start = svc.seq
    _obs(database, user, q, TEMP, 38.9, 21)
    svc.step()
    with database.reading() as s:
        keys = s.scalars(select(AlertAction.alert_key)).all()
        assert max(s.scalars(select(MonitorSnapshot.seq)).all()) < start  # not complete yet
    assert "NC-2:crs:1" in keys
    while svc.encode_snapshot(0.0):  # one patient per slice
        pass
    with database.reading() as s:
        assert max(s.scalars(select(MonitorSnapshot.seq)).all()) == start
    assert svc.seq > start
    nxt = MonitorService(database, overdue_budget=0)
    nxt.take_over()
    assert nxt.replayed_from == start
    assert _comparable(nxt.engine) == _comparable(svc.engine)
    assert nxt.engine.alert("NC-2:crs:1").status == "open"
