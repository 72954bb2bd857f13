"""Cohort report on a 10,000-patient simulated cohort: full report time and lifelines' share.

Prints the wall-clock time of the whole report (analysis, figures, HTML, PDF, CSV) and the
share of it spent outside lifelines' own `fit` calls (KM per disease and the Cox model), i.e.
the cost of neurocart's code around the statistics. Goal: full report ≤ 30 s on 2 cores.

    .venv/bin/python benchmarks/cohort.py [--patients 10000] [--seed 7]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, date, datetime

from neurocart.cohort import analyse, clock
from neurocart.reports import build_report
from neurocart.simulate import simulate_cohort

GOAL_SECONDS = 30.0
CUTOFF = date(2026, 6, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    start = time.perf_counter()
    now = datetime(CUTOFF.year, CUTOFF.month, CUTOFF.day, 23, 59, 59, tzinfo=UTC)
    frames = simulate_cohort(args.patients, args.seed, now=now)
    simulated = time.perf_counter() - start
    rows = sum(len(t) for t in frames.tables().values())
    print(f"simulated {args.patients} patients ({rows:,} rows) in {simulated:.1f} s (not counted)")

    clock.reset()
    start = time.perf_counter()
    result = analyse(frames, cutoff=CUTOFF)
    analysed = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as out:
        files = build_report(
            frames,
            out,
            cutoff=CUTOFF,
            cohort_definition=f"benchmark: {args.patients} simulated patients",
            analysis=result,
        )
        total = time.perf_counter() - start
        pages = files.pdf_pages
    fitting = clock.lifelines_seconds()
    outside = total - fitting
    print(f"analysis (tables + figures): {analysed:.1f} s")
    print(f"full report (analysis, HTML, PDF of {pages} pages, CSV): {total:.1f} s")
    print(f"inside lifelines fit calls: {fitting:.2f} s")
    print(f"outside lifelines: {outside:.1f} s = {100 * outside / total:.0f} % of the report")
    verdict = "meets" if total <= GOAL_SECONDS else "MISSES"
    print(f"goal ≤ {GOAL_SECONDS:.0f} s: {verdict} ({total / GOAL_SECONDS:.2f} × the goal)")


if __name__ == "__main__":
    main()
