"""Load a simulated cohort into a database for the report-from-the-store tests.

Written by `neurocart.simulate.load.load_cohort` (through the service layer, audited),
under a `cohort.loader` data-manager account.
"""

from __future__ import annotations

from datetime import datetime

from neurocart.frames import CohortFrames
from neurocart.security import Role
from neurocart.simulate import simulate_cohort
from neurocart.simulate.load import load_cohort
from neurocart.store import Database, repo

LOADER = "cohort.loader"


def load_frames(database: Database, frames: CohortFrames) -> None:
    """Write `frames` into `database` (schema already created)."""
    with database.transaction() as session:
        actor = repo.create_user(
            session, None, username=LOADER, password_hash="unusable", role=Role.DATA_MANAGER
        )
    load_cohort(database, frames, actor=actor)


def load_simulated(
    database: Database, n_patients: int, seed: int, *, now: datetime
) -> CohortFrames:
    """Simulate `n_patients` as of `now`, store them, return the simulated frames."""
    frames = simulate_cohort(n_patients, seed, now=now)
    load_frames(database, frames)
    return frames
