"""Alert episodes: one alert per episode, upgrade, update, close, escalation, acknowledgement."""

from __future__ import annotations

from datetime import timedelta

import pytest

from neurocart.monitor import Engine, RuleSet, UnknownAlertError, load_rules
from neurocart.monitor.routing import RoutingPolicy
from tests.monitor.helpers import SBP, TEMP, Patient, at


def three_day_fever(p: Patient) -> None:
    """Fever from hour 24 to hour 96 (every 4 h), hypotension at hours 48–52, then afebrile."""
    for h in range(0, 150, 4):
        p.obs(TEMP, 38.6 if 24 <= h < 96 else 37.0, h)
        p.obs(SBP, 85 if 48 <= h <= 52 else 118, h + 0.5)


def test_three_day_fever_is_one_alert_upgraded_then_closed() -> None:
    engine = Engine()
    p = Patient(engine)
    three_day_fever(p)
    kinds = p.kinds("crs")
    assert kinds.count("open") == 1
    assert kinds.count("upgrade") == 1  # CRS grade 1 → 2 with the hypotension
    assert kinds.count("close") == 1
    notifying = [a for a in p.actions if a.episode == "crs" and a.notify]
    assert [a.kind for a in notifying if a.kind != "escalate"] == ["open", "upgrade"]
    upgrade = next(a for a in p.actions if a.kind == "upgrade")
    assert upgrade.at == at(48.5)
    assert upgrade.grade == 2
    assert upgrade.severity == "urgent"
    close = next(a for a in p.actions if a.kind == "close")
    # afebrile from hour 96; closed when afebrile 24 h and the 24-h CRS grade is back to 0
    assert close.at == at(120)
    assert "resolved" in close.text
    alerts = engine.alerts("NC-0001", open_only=False)
    crs = [a for a in alerts if a.episode == "crs"]
    assert len(crs) == 1
    assert crs[0].status == "closed"
    assert crs[0].grade == 2


def test_new_peak_temperature_updates_without_notifying() -> None:
    engine = Engine()
    p = Patient(engine)
    p.obs(TEMP, 38.2, 30)
    same = p.obs(TEMP, 38.1, 30.25)
    higher = p.obs(TEMP, 38.5, 30.5)
    assert same == []
    assert [a.kind for a in higher] == ["update"]
    assert not higher[0].notify
    assert "temperature 38.5 °C" in higher[0].text


def test_fever_after_close_opens_a_new_episode() -> None:
    engine = Engine()
    p = Patient(engine)
    p.obs(TEMP, 38.4, 10)
    for h in range(12, 40, 2):
        p.obs(TEMP, 37.0, h)
    p.obs(TEMP, 38.3, 60)
    keys = [a.alert_key for a in p.actions if a.kind == "open" and a.episode == "crs"]
    assert keys == ["NC-0001:crs:1", "NC-0001:crs:2"]


def test_escalation_after_configured_time_unless_acknowledged() -> None:
    engine = Engine()
    p = Patient(engine)
    q = Patient(engine, "NC-0002")
    opened_p = p.obs(TEMP, 38.4, 30)[0]
    opened_q = q.obs(TEMP, 38.4, 30)[0]
    assert engine.tick(at(30) + timedelta(minutes=59)) == []
    ack = engine.acknowledge(opened_q.alert_key, "dr.neuro", at(30) + timedelta(minutes=30))
    assert [a.kind for a in ack] == ["acknowledge"]
    assert ack[0].user == "dr.neuro"
    actions = engine.tick(at(30) + timedelta(minutes=61))
    assert [(a.kind, a.study_id, a.level) for a in actions] == [("escalate", "NC-0001", 1)]
    esc = actions[0]
    assert esc.at == at(31)  # when it fell due, not when the tick came
    assert esc.disciplines == ("hematology",)  # tier 1: the lead discipline
    assert esc.notify
    assert "ESCALATION level 1" in esc.text
    # a warning stops at tier 1 (max_tier); acknowledged q never escalates
    assert engine.tick(at(40)) == []
    assert engine.alert(opened_p.alert_key).level == 1
    assert engine.alert(opened_q.alert_key).acknowledged_by == "dr.neuro"


def test_urgent_alert_escalates_through_every_tier_and_upgrade_clears_ack() -> None:
    engine = Engine()
    p = Patient(engine)
    opened = p.obs(TEMP, 38.4, 30)[0]
    engine.acknowledge(opened.alert_key, "nurse", at(30.1))
    up = p.obs(SBP, 80, 30.5)  # CRS 2: urgent, re-notified, acknowledgement cleared
    assert [a.kind for a in up] == ["upgrade"]
    assert engine.alert(opened.alert_key).acknowledged_at is None
    actions = engine.tick(at(32))
    assert [(a.kind, a.level, a.disciplines) for a in actions] == [
        ("escalate", 1, ("hematology",)),
        ("escalate", 2, ("icu",)),
    ]
    assert [a.at for a in actions] == [at(30.75), at(31)]


def test_acknowledge_returns_escalations_that_fell_due_before_it() -> None:
    engine = Engine()
    p = Patient(engine)
    opened = p.obs(TEMP, 38.4, 30)[0]
    actions = engine.acknowledge(opened.alert_key, "dr.hem", at(32))
    assert [a.kind for a in actions] == ["escalate", "acknowledge"]
    assert engine.acknowledge(opened.alert_key, "dr.hem", at(33)) == []  # once


def test_unknown_alert_key() -> None:
    with pytest.raises(UnknownAlertError):
        Engine().acknowledge("NC-9:crs:1", "x", at(0))


def test_custom_routing_tiers() -> None:
    rules = load_rules()
    policy = RoutingPolicy(
        escalation_tiers=(("nursing",), ("@rule",)),
        escalate_after_minutes=(("warning", 10),),
        max_tier=(),
    )
    engine = Engine(RuleSet(rules.rules, settings=rules.settings, routing=policy, source="custom"))
    p = Patient(engine)
    p.obs(TEMP, 38.4, 30)
    actions = engine.tick(at(31))
    assert [a.disciplines for a in actions] == [("nursing",), ("nursing", "hematology")]


def test_resolved_by_a_clinician_closes_once_and_a_persisting_fever_reopens() -> None:
    engine = Engine()
    p = Patient(engine)
    (opened,) = p.obs(TEMP, 38.6, 30)
    closed = engine.resolve(opened.alert_key, "dr.heme", at(30.5), "drug fever, cultures sent")
    assert [(a.kind, a.user) for a in closed] == [("close", "dr.heme")]
    assert "resolved by dr.heme: drug fever, cultures sent" in closed[0].text
    assert engine.alert(opened.alert_key).status == "closed"
    assert engine.resolve(opened.alert_key, "dr.heme", at(32), "again") == []
    reopened = p.obs(TEMP, 38.7, 33)
    assert [a.kind for a in reopened] == ["open"]
    assert reopened[0].alert_key != opened.alert_key
    with pytest.raises(UnknownAlertError):
        engine.resolve("NC-0001:nope:1", "dr.heme", at(34), "x")


def test_resolution_replays_to_the_same_timeline() -> None:
    from neurocart.monitor import Observation, PatientContext, Resolve
    from tests.monitor.helpers import DAY0

    context = PatientContext("NC-0001", infusion_at=DAY0)
    fever = Observation("NC-0001", TEMP, 38.6, at(30))
    first = Engine.replay([context], [fever])
    resolve = Resolve(first[-1].alert_key, "dr.heme", at(30.5), "artefact")
    history = [fever, resolve, Observation("NC-0001", TEMP, 38.8, at(32))]
    engine = Engine()
    live = [*engine.set_context(context), *(a for item in history for a in engine.apply(item))]
    replayed = Engine.replay([context], history)
    assert [a.to_dict() for a in replayed] == [a.to_dict() for a in live]
    assert [a.kind for a in replayed if a.episode == "crs"] == ["open", "close", "open"]
