"""Throughput of the monitoring engine alone (no HTTP, no database), against a baseline.

Builds a seeded synthetic stream: P patients in days 0–14, vitals (temperature, heart rate,
systolic BP, SpO₂, respiratory rate) every few minutes and daily labs (ANC, platelets,
hemoglobin, lymphocytes, CRP, ferritin, LDH, creatinine, IgG), with fevers, hypotension and
cytopenias in some patients so that rules fire. Then times, five times each on the same facts
in time order (CPU seconds: the engine runs on one thread):

- engine: `Engine.ingest(fact)` for every fact into a fresh engine (state, calculators for
  what the fact touches, rules, episodes);
- floor, beside it: a minimal monitor in plain Python — the latest value of each code per
  patient and a fever threshold — the least any monitor must do per fact.

Target, from what the engine is for: the monitor rebuilds its state by replaying the store's
facts when a server starts, so one day of a 500-patient acute census (vitals every 5 min,
daily labs: 724,500 facts) must replay in ≤ 10 s on one core: ≥ 72,450 facts/s, whatever
number of patients is measured (the state is per patient).

    .venv/bin/python benchmarks/monitor_engine.py [--patients 100] [--hours 24] [--every 5]
"""

from __future__ import annotations

import argparse
import random
from datetime import UTC, datetime, timedelta

import _harness as h
from neurocart.monitor import Engine, Observation, PatientContext, chronological
from neurocart.monitor.facts import Fact

CENSUS_FACTS = 724_500
"""One day of 500 acute patients at vitals every 5 min and daily labs (this stream's shape)."""
REPLAY_SECONDS = 10.0
TARGET = CENSUS_FACTS / REPLAY_SECONDS
VITALS = {
    "8310-5": (37.0, 0.3),
    "8867-4": (80.0, 8.0),
    "8480-6": (120.0, 10.0),
    "59408-5": (97.0, 1.0),
    "9279-1": (16.0, 2.0),
}
LABS = {
    "751-8": (2.0, 1.2),
    "777-3": (150.0, 60.0),
    "718-7": (110.0, 10.0),
    "731-0": (0.8, 0.3),
    "1988-5": (20.0, 15.0),
    "2276-4": (600.0, 300.0),
    "2532-0": (250.0, 50.0),
    "2160-0": (80.0, 15.0),
    "2465-3": (6.0, 2.0),
}


def build(
    patients: int, hours: int, every_min: int, seed: int
) -> tuple[list[PatientContext], list[Fact]]:
    rng = random.Random(seed)
    day0 = datetime(2025, 3, 3, 8, tzinfo=UTC)
    contexts, facts = [], []
    for i in range(patients):
        sid = f"NC-{i:04d}"
        infusion = day0 + timedelta(minutes=rng.randrange(0, 24 * 60))
        contexts.append(PatientContext(sid, infusion_at=infusion, baseline_ice=10))
        febrile = rng.random() < 0.3
        start = infusion + timedelta(days=rng.randrange(0, 10))
        t = start
        end = start + timedelta(hours=hours)
        while t < end:
            for code, (mu, sd) in VITALS.items():
                v = rng.gauss(mu, sd)
                if code == "8310-5" and febrile and (t - start) > timedelta(hours=hours / 3):
                    v += 1.4
                facts.append(Observation(sid, code, round(v, 1), t))
            t += timedelta(minutes=every_min)
        for d in range(max(1, hours // 24)):
            lab_t = start + timedelta(days=d, hours=6)
            for code, (mu, sd) in LABS.items():
                facts.append(Observation(sid, code, max(0.01, round(rng.gauss(mu, sd), 2)), lab_t))
    return contexts, chronological(facts)


def minimal_monitor(facts: list[Fact]) -> int:
    """Latest value per (patient, code) and a fever check: the floor of any monitor."""
    latest: dict[tuple[str, str], float] = {}
    fevers = 0
    for fact in facts:
        if isinstance(fact, Observation):
            latest[(fact.study_id, fact.code)] = fact.value
            if fact.code == "8310-5" and fact.value >= 38.0:
                fevers += 1
    return fevers


def replay(contexts: list[PatientContext], facts: list[Fact]) -> int:
    engine = Engine()
    for context in contexts:
        engine.set_context(context)
    actions = 0
    for fact in facts:
        actions += len(engine.ingest(fact))
    return actions


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=100)
    ap.add_argument("--hours", type=int, default=24)
    ap.add_argument("--every", type=int, default=5, help="minutes between vital-sign sets")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--runs", type=int, default=h.RUNS)
    args = ap.parse_args()
    contexts, facts = build(args.patients, args.hours, args.every, args.seed)
    n = len(facts)
    print(f"facts: {n:,} ({args.patients} patients, {args.hours} h, vitals every {args.every} min)")
    floor_s, _ = h.timed(lambda: minimal_monitor(facts), runs=args.runs, cpu=True)
    engine_s, actions = h.timed(lambda: replay(contexts, facts), runs=args.runs, cpu=True)
    print(f"alert actions emitted per replay: {actions:,}")
    floor = h.rates(n, floor_s).median
    h.at_least(
        "monitor_engine",
        f"Engine.ingest ≥ {TARGET:,.0f} facts/s one core (a 500-patient day replayed in "
        f"≤ {REPLAY_SECONDS:g} s)",
        h.rates(n, engine_s),
        TARGET,
        unit=" facts/s",
        baseline=f"minimal monitor {floor:,.0f} facts/s",
    )


if __name__ == "__main__":
    main()
