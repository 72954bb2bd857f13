"""Throughput of the cohort simulator (`neurocart.simulate.simulate`), in patients/s.

Baseline: materializing the same output in pandas — the same numbers of observation,
assessment and event rows, built into DataFrames of the contract's dtypes from ready-made
numpy columns (and one input dict per assessment). That is the floor any generator of these
frames must pay; the ratio simulate ÷ baseline says how much the simulation itself (random
draws, CRS/kinetics models, the real calculators) costs on top of holding its result.

The cohort is the simulator's default mix of stages (screening, acute, subacute, follow-up,
completed, as a running programme has them), not only completed courses; measured five
times in CPU seconds of this single-threaded process (what a shared machine distorts least;
wall seconds printed beside).

    .venv/bin/python benchmarks/simulate.py [--patients N] [--seed S] [--runs R]

Target: ≥ 200 patients/s with full acute data (vitals every 4 h, daily labs, ICE every 12 h);
10,000 patients must be feasible.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

import numpy as np
import pandas as pd

import _harness as h
from neurocart.frames import CohortFrames, conform
from neurocart.simulate import simulate


def baseline(frames: CohortFrames) -> float:
    """Seconds to build frames of the same row counts from prepared numpy columns."""
    n_obs, n_ass, n_ev = len(frames.observations), len(frames.assessments), len(frames.events)
    ids = np.array([f"NC-{i:05d}" for i in range(1000)], dtype=object)
    rng = np.random.default_rng(0)
    t = np.datetime64("2025-01-01T00:00:00", "us") + rng.integers(0, 10**12, 3 * max(n_obs, 1))
    start = time.perf_counter()
    obs = pd.DataFrame({
        "study_id": ids[np.arange(n_obs) % 1000], "code": np.full(n_obs, "8310-5", object),
        "value": rng.normal(size=n_obs), "unit": np.full(n_obs, "°C", object),
        "specimen": np.full(n_obs, "other", object),
        "effective_at": pd.Series(t[:n_obs]).dt.tz_localize("UTC"),
    })  # fmt: skip
    inputs = np.empty(n_ass, dtype=object)
    inputs[:] = [{"orientation": 4, "naming": 3} for _ in range(n_ass)]
    ass = pd.DataFrame({
        "study_id": ids[np.arange(n_ass) % 1000], "instrument": np.full(n_ass, "ice", object),
        "inputs": inputs, "value": rng.normal(size=n_ass), "label": np.full(n_ass, "x", object),
        "effective_at": pd.Series(t[:n_ass]).dt.tz_localize("UTC"),
    })  # fmt: skip
    details = np.empty(n_ev, dtype=object)
    details[:] = [{} for _ in range(n_ev)]
    ev = pd.DataFrame({
        "study_id": ids[np.arange(n_ev) % 1000], "type": np.full(n_ev, "mri", object),
        "onset_at": pd.Series(t[:n_ev]).dt.tz_localize("UTC"),
        "end_at": pd.Series(t[:n_ev]).dt.tz_localize("UTC"),
        "grade": pd.array(np.ones(n_ev, dtype=np.int64), dtype="Int64"),
        "term": np.full(n_ev, None, object), "drug": np.full(n_ev, None, object),
        "details": details,
    })  # fmt: skip
    conform("observations", obs)
    conform("assessments", ass)
    conform("events", ev)
    return time.perf_counter() - start


TARGET = 200.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=h.RUNS)
    args = parser.parse_args()
    now = datetime(2025, 6, 1, tzinfo=UTC)
    simulate(20, args.seed, now=now)  # warm-up: imports, calculator registry
    seconds: list[float] = []
    base: list[float] = []
    cpu: list[float] = []
    for run in range(args.runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        sim = simulate(args.patients, args.seed + run, now=now)
        seconds.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        base.append(baseline(sim.frames))
    f = sim.frames
    print(f"rows (last run): {len(f.observations):,} observations, {len(f.assessments):,} "
          f"assessments, {len(f.events):,} events")  # fmt: skip
    elapsed = h.sample(seconds)
    floor = h.sample(base)
    h.at_least(
        "simulate",
        f"simulate ≥ {TARGET:g} patients/s one core, mixed-stage cohort of {args.patients:,}",
        h.rates(args.patients, h.sample(cpu)),
        TARGET,
        unit=" patients/s",
        baseline=(
            f"frames of the same rows from numpy {args.patients / floor.median:,.0f} patients/s; "
            f"wall {args.patients / elapsed.median:,.0f} patients/s"
        ),
    )


if __name__ == "__main__":
    main()
