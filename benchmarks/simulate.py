"""Throughput of the cohort simulator (`neurocart.simulate.simulate`), in patients/s.

Baseline: materializing the same output in pandas — the same numbers of observation,
assessment and event rows, built into DataFrames of the contract's dtypes from ready-made
numpy columns (and one input dict per assessment). That is the floor any generator of these
frames must pay; the ratio simulate ÷ baseline says how much the simulation itself (random
draws, CRS/kinetics models, the real calculators) costs on top of holding its result.

    .venv/bin/python benchmarks/simulate.py [--patients N] [--seed S]

Target: ≥ 200 patients/s with full acute data (vitals every 4 h, daily labs, ICE every 12 h);
10,000 patients must be feasible.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

import numpy as np
import pandas as pd

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    now = datetime(2025, 6, 1, tzinfo=UTC)
    simulate(20, args.seed, now=now)  # warm-up: imports, calculator registry
    start = time.perf_counter()
    sim = simulate(args.patients, args.seed, now=now, stages={"completed": 1.0})
    elapsed = time.perf_counter() - start
    f = sim.frames
    base = baseline(f)
    rate = args.patients / elapsed
    print(f"patients: {args.patients}  (all with 24 months of data, full acute phase)")
    print(f"rows: {len(f.observations):,} observations, {len(f.assessments):,} assessments, "
          f"{len(f.events):,} events")  # fmt: skip
    print(f"simulate: {elapsed:.2f} s  → {rate:,.0f} patients/s  (target ≥ 200)")
    print(f"baseline (build frames of the same rows from numpy columns): {base:.2f} s "
          f"→ {args.patients / base:,.0f} patients/s")  # fmt: skip
    print(f"ratio simulate / baseline time: {elapsed / base:.1f}×")


if __name__ == "__main__":
    main()
