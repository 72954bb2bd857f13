"""Next vital signs for a patient in the acute phase, on any clock the demo runs.

The vitals follow the patient's latent CRS course (`AcuteState`), so a febrile patient
streams fevers, a grade-2 patient becomes hypotensive or hypoxic in its window, and the
monitor raises the alerts one would expect while one watches the board.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from neurocart.frames import conform
from neurocart.simulate.acute import vital_signs
from neurocart.simulate.cohort import Simulation, to_us
from neurocart.simulate.facts import CODES, US_PER_HOUR


def stream_acute_vitals(
    sim: Simulation,
    study_id: str,
    start: datetime,
    step: timedelta,
    *,
    seed: int | None = None,
) -> Iterator[pd.DataFrame]:
    """Endless vital-sign sets (six observation rows each) at start, start + step, ...

    Each yield is an observations frame (contract columns) for one instant. Reproducible
    for a given (simulation seed, patient, seed).
    """
    if step <= timedelta(0):
        raise ValueError(f"step must be positive, got {step}")
    i = sim.index(study_id)
    state = sim.acute.take([i])
    infusion = int(sim.course.infusion[i])
    rng = np.random.default_rng([sim.seed, i, 0 if seed is None else seed])
    t = to_us(start)
    step_us = step // timedelta(microseconds=1)
    while True:
        h = np.array([[(t - infusion) / US_PER_HOUR]])
        vitals = vital_signs(h, state, rng)
        stamp = pd.Timestamp(t, unit="us", tz="UTC")
        yield conform(
            "observations",
            pd.DataFrame(
                {
                    "study_id": [study_id] * len(vitals),
                    "code": list(vitals),
                    "value": [float(v[0, 0]) for v in vitals.values()],
                    "unit": [CODES[c][0] for c in vitals],
                    "specimen": [CODES[c][1] for c in vitals],
                    "effective_at": [stamp] * len(vitals),
                }
            ),
        )
        t += step_us
