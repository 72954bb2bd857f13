"""An engine snapshot taken in slices while the engine goes on: what it holds is the state at
its start, whatever the engine did to which patient meanwhile, and an engine loaded from it
acts as the live one on the inputs that came after the start."""

from __future__ import annotations

import json
from typing import Any

import pytest

from neurocart import monitor
from neurocart.monitor import snapshot
from neurocart.monitor.facts import OverdueTask
from tests.monitor.helpers import ANC, SBP, TEMP, Patient, at


def _inlined(data: dict[str, Any]) -> dict[str, Any]:
    """Snapshot data with each patient's calculator results written out (the shared
    table's order follows the order the patients were encoded in)."""
    data = json.loads(json.dumps(data))
    table = data.pop("results")
    for p in data["patients"].values():
        p["state"]["results"] = {k: table[i] for k, i in p["state"]["results"].items()}
    return data


def _ward() -> monitor.Engine:
    """Six patients: two CRS alerts open (one with hypotension), one resolved by a
    clinician, an ICANS alert not yet escalated, a neutropenia, one without facts."""
    engine = monitor.Engine()
    ward = [Patient(engine, f"NC-{i}", baseline_ice=10) for i in range(1, 7)]
    for hours, c in ((30, 38.6), (34, 38.9)):
        ward[0].obs(TEMP, c, hours)
        ward[1].obs(TEMP, c, hours)
        ward[2].obs(TEMP, c, hours)
    ward[1].obs(SBP, 85, 34)
    engine.resolve("NC-3:crs:1", "dr.li", at(35), "treated")
    ward[3].ice(7, 36)
    ward[4].obs(ANC, 0.3, 36)
    engine.tick(at(36))
    return engine


MEANWHILE: list[monitor.HistoryItem] = [
    monitor.Ack("NC-1:crs:1", "nurse", at(37)),
    monitor.Observation("NC-2", TEMP, 39.4, at(37)),
    monitor.PatientContext("NC-6", infusion_at=at(0), baseline_ice=9),
    monitor.Observation("NC-9", TEMP, 38.2, at(37.5)),  # a patient new since the start
    monitor.Resolve("NC-2:crs:1", "dr.wang", at(38), "tocilizumab given"),
    monitor.Observation("NC-3", TEMP, 38.8, at(38)),  # a new episode after the resolved one
    monitor.Tick(at(60)),  # escalations and timed closes of several patients
    monitor.Assessment("NC-4", "ice", at(61), value=3),
    *(monitor.Observation("NC-1", TEMP, 36.8, at(62 + k)) for k in range(0, 30, 4)),
    monitor.Tick(at(100)),
]
"""Inputs after the start: every way the engine changes a patient (a fact, a context, an
acknowledgement, a resolution, the timers), several of them to patients not yet encoded."""


def _capture_while(engine: monitor.Engine, items: list[monitor.HistoryItem]) -> str:
    """Start a capture, encode one patient, apply `items`, then finish it."""
    capture = snapshot.Capture(engine)
    assert not capture.advance(0.0)  # a deadline already passed: one patient per call
    for item in items:
        engine.apply(item)
    while not capture.advance(0.0):
        pass
    return "".join(capture.pieces())


def test_a_capture_without_changes_is_the_dump() -> None:
    engine = _ward()
    capture = snapshot.Capture(engine)
    while not capture.advance(0.0):
        pass
    text = "".join(capture.pieces())
    assert json.loads(text) == json.loads(json.dumps(snapshot.dump(engine)))
    assert engine.before_change is None  # no longer watching


def test_a_capture_holds_the_state_at_its_start_whatever_changed_meanwhile() -> None:
    engine = _ward()
    at_start = _inlined(snapshot.dump(engine))
    text = _capture_while(engine, MEANWHILE)
    captured = _inlined(json.loads(text))
    assert captured == at_start
    assert "NC-9" not in captured["patients"]
    now = _inlined(snapshot.dump(engine))
    assert now != at_start  # the inputs did change the patients, the capture kept them
    for sid in ("NC-1", "NC-2", "NC-3", "NC-4", "NC-6"):
        assert now["patients"][sid] != at_start["patients"][sid], sid
    levels = {a["key"]: a["level"] for a in now["alerts"]}
    assert levels["NC-4:icans:1"] > 0  # escalated by the timers, before the patient's turn


def test_an_engine_loaded_from_a_capture_acts_as_the_live_one() -> None:
    live = _ward()
    text = _capture_while(live, [])
    restored = snapshot.load(json.loads(text))
    again = _ward()
    actions = [a for item in MEANWHILE for a in again.apply(item)]
    assert [a for item in MEANWHILE for a in restored.apply(item)] == actions
    assert _inlined(snapshot.dump(restored)) == _inlined(snapshot.dump(again))
    kinds = {(a.alert_key, a.kind) for a in actions}
    assert {("NC-1:crs:1", "acknowledge"), ("NC-3:crs:2", "open")} <= kinds
    assert any(a.kind == "escalate" for a in actions)


def test_the_capture_loaded_then_fed_what_came_meanwhile_is_the_live_engine() -> None:
    live = _ward()
    text = _capture_while(live, MEANWHILE)
    restored = snapshot.load(json.loads(text))
    for item in MEANWHILE:
        restored.apply(item)
    assert _inlined(snapshot.dump(restored)) == _inlined(snapshot.dump(live))


def test_overdue_tasks_set_meanwhile_are_not_in_the_capture() -> None:
    engine = _ward()
    at_start = _inlined(snapshot.dump(engine))
    task = OverdueTask("t1", "ICE every 8 h", "nursing", 0, at(40))
    capture = snapshot.Capture(engine)
    engine.set_overdue("NC-5", [task], at(41))
    while not capture.advance(0.0):
        pass
    assert _inlined(json.loads("".join(capture.pieces()))) == at_start
    assert engine.state("NC-5").overdue == (task,)


def test_an_abandoned_capture_stops_watching_and_cannot_be_read() -> None:
    engine = _ward()
    capture = snapshot.Capture(engine)
    assert engine.before_change is not None
    capture.close()
    assert engine.before_change is None
    with pytest.raises(RuntimeError, match="not complete"):
        "".join(capture.pieces())
