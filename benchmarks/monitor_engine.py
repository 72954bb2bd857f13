"""Throughput of the monitoring engine alone (no HTTP, no database), against a baseline.

Builds a seeded synthetic stream: P patients in days 0–14, vitals (temperature, heart rate,
systolic BP, SpO₂, respiratory rate) every few minutes and daily labs (ANC, platelets,
hemoglobin, lymphocytes, CRP, ferritin, LDH, creatinine, IgG), with fevers, hypotension and
cytopenias in some patients so that rules fire. Then times, on the same facts in time order:

- baseline: appending each fact to a per-patient list (the cheapest possible "state");
- engine: `Engine.ingest(fact)` for every fact (state, calculators for what the fact touches,
  rules, episodes).

Prints facts/s of each and the ratio engine ÷ baseline, and the number of alert actions.

    .venv/bin/python benchmarks/monitor_engine.py [--patients 500] [--hours 24] [--every 5]

Target: ≥ 5,000 facts/s for the engine on one core.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from neurocart.monitor import Engine, Observation, PatientContext, chronological
from neurocart.monitor.facts import Fact

TARGET = 5_000
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=500)
    ap.add_argument("--hours", type=int, default=24)
    ap.add_argument("--every", type=int, default=5, help="minutes between vital-sign sets")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    contexts, facts = build(args.patients, args.hours, args.every, args.seed)

    t0 = time.perf_counter()
    store: dict[str, list[Fact]] = defaultdict(list)
    for fact in facts:
        store[fact.study_id].append(fact)
    baseline_s = time.perf_counter() - t0

    engine = Engine()
    for context in contexts:
        engine.set_context(context)
    t0 = time.perf_counter()
    actions = 0
    for fact in facts:
        actions += len(engine.ingest(fact))
    engine_s = time.perf_counter() - t0

    n = len(facts)
    engine_rate = n / engine_s
    print(f"facts: {n:,} ({args.patients} patients, {args.hours} h, vitals every {args.every} min)")
    print(f"baseline (append to per-patient lists): {n / baseline_s:,.0f} facts/s")
    print(f"engine (Engine.ingest):                 {engine_rate:,.0f} facts/s")
    print(f"ratio engine / baseline:                {baseline_s / engine_s:.3f}")
    print(f"alert actions emitted:                  {actions:,}")
    verdict = "meets" if engine_rate >= TARGET else "BELOW"
    print(f"target ≥ {TARGET:,} facts/s single core: {verdict}")


if __name__ == "__main__":
    main()
