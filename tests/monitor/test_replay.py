"""Determinism: replaying a history gives the live actions; state rebuilt equals live state."""

from __future__ import annotations

import random
from datetime import timedelta

from neurocart.monitor import (
    Ack,
    AlertAction,
    Engine,
    Event,
    Fact,
    HistoryItem,
    Observation,
    PatientContext,
    Tick,
    chronological,
)
from tests.monitor.helpers import ANC, DAY0, PLT, SBP, TEMP, at


def _history(seed: int = 3) -> tuple[list[PatientContext], list[Fact]]:
    rng = random.Random(seed)
    contexts = [
        PatientContext(f"NC-{i:04d}", infusion_at=DAY0 + timedelta(hours=i), baseline_ice=9)
        for i in range(4)
    ]
    facts: list[Fact] = []
    for i, ctx in enumerate(contexts):
        sid = ctx.study_id
        for h in range(0, 24 * 6, 2):
            febrile = i % 2 == 0 and 20 <= h <= 70
            facts.append(
                Observation(
                    sid, TEMP, round(rng.gauss(38.6 if febrile else 36.9, 0.2), 1), at(h + i)
                )
            )
            facts.append(
                Observation(sid, SBP, 84.0 if febrile and h % 24 == 0 else 120.0, at(h + i + 0.3))
            )
        for d in range(6):
            facts.append(Observation(sid, ANC, 0.3 if i == 1 else 2.0, at(24 * d + 6)))
            facts.append(Observation(sid, PLT, 15.0 if i == 3 and d > 2 else 120.0, at(24 * d + 6)))
        if i == 2:
            facts.append(Event(sid, "drug_given", at(40), drug="tocilizumab"))
    return contexts, chronological(facts)


def _live(
    contexts: list[PatientContext], stream: list[HistoryItem]
) -> tuple[Engine, list[AlertAction]]:
    engine = Engine()
    actions: list[AlertAction] = []
    for c in contexts:
        actions += engine.set_context(c)
    for item in stream:
        actions += engine.apply(item)
    return engine, actions


def _with_acks_and_ticks(contexts: list[PatientContext], facts: list[Fact]) -> list[HistoryItem]:
    """Live stream: facts, a tick every 6 h, and an acknowledgement of the first alert."""
    engine = Engine()
    for c in contexts:
        engine.set_context(c)
    stream: list[HistoryItem] = []
    next_tick = DAY0 + timedelta(hours=6)
    acked = False
    for fact in facts:
        while fact.time >= next_tick:
            stream.append(Tick(next_tick))
            engine.tick(next_tick)
            next_tick += timedelta(hours=6)
        stream.append(fact)
        out = engine.ingest(fact)
        if out and not acked:
            ack = Ack(out[0].alert_key, "dr.who", fact.time + timedelta(minutes=10))
            stream.append(ack)
            engine.apply(ack)
            acked = True
    stream.append(Tick(at(24 * 8)))
    return stream


def test_replay_gives_the_live_actions() -> None:
    contexts, facts = _history()
    stream = _with_acks_and_ticks(contexts, facts)
    _, live = _live(contexts, stream)
    assert {a.kind for a in live} >= {"open", "upgrade", "close", "escalate", "acknowledge"}
    assert Engine.replay(contexts, stream) == live
    assert Engine.replay(contexts, stream) == Engine.replay(contexts, stream)


def test_timeline_does_not_depend_on_how_often_the_caller_ticks() -> None:
    contexts, facts = _history()
    end = at(24 * 8)
    sparse = Engine.replay(contexts, facts, now=end)
    dense_stream: list[HistoryItem] = []
    hour = DAY0
    for fact in facts:
        while fact.time >= hour:
            dense_stream.append(Tick(hour))
            hour += timedelta(minutes=20)
        dense_stream.append(fact)
    dense = Engine.replay(contexts, dense_stream, now=end)

    def key(a: AlertAction) -> tuple[object, ...]:
        return (a.at, a.alert_key, a.kind, a.level)

    assert sorted(sparse, key=key) == sorted(dense, key=key)


def test_state_rebuilt_from_history_equals_live_state() -> None:
    contexts, facts = _history()
    stream = _with_acks_and_ticks(contexts, facts)
    live, _ = _live(contexts, stream)
    rebuilt = Engine.from_history(contexts, stream)
    assert rebuilt.snapshot() == live.snapshot()
    assert rebuilt.alerts() == live.alerts()


def test_rebuilt_engine_continues_like_the_live_one() -> None:
    contexts, facts = _history()
    head, tail = facts[: len(facts) // 2], facts[len(facts) // 2 :]
    live = Engine.from_history(contexts, head)
    rebuilt = Engine.from_history(contexts, head)
    assert [live.ingest(f) for f in tail] == [rebuilt.ingest(f) for f in tail]
