"""Seeded synthetic cohorts of CAR-T-treated neuroimmune patients (MS, NMOSD, MG, IMNM, CIDP).

    >>> from datetime import UTC, datetime
    >>> from neurocart.simulate import simulate_cohort
    >>> frames = simulate_cohort(20, seed=1, now=datetime(2025, 6, 1, tzinfo=UTC))
    >>> len(frames.patients)
    20

Distributions live in `params.py` with their sources (the published reports); scales are
scored by the real calculators. The frames follow `neurocart.frames`.
"""

from neurocart.simulate.cohort import Simulation, iter_facts, simulate, simulate_cohort
from neurocart.simulate.params import DEFAULT, SimParams
from neurocart.simulate.stream import stream_acute_vitals

__all__ = [
    "DEFAULT",
    "SimParams",
    "Simulation",
    "iter_facts",
    "simulate",
    "simulate_cohort",
    "stream_acute_vitals",
]
