"""A small realistic record for the web tests: one user per role and a simulated cohort.

The cohort is written by `neurocart.simulate.load.load_cohort` (through the service layer,
audited, as the API would), under the data manager's account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from neurocart.security import Role, hash_password
from neurocart.simulate import simulate
from neurocart.simulate.load import load_cohort
from neurocart.store import Database, repo
from neurocart.store.models import User

PASSWORD = "correct horse battery"
"""Every seeded user's password."""
USERNAMES: dict[Role, str] = {role: f"{role.value}.demo" for role in Role}


@dataclass(frozen=True)
class Seeded:
    acute: list[str]
    """Study IDs in days 0–14 at `now`."""
    study_ids: list[str]
    now: datetime


def seed_users(database: Database) -> dict[Role, User]:
    digest = hash_password(PASSWORD)  # one hash for all: argon2 is slow on purpose
    users = {}
    with database.transaction() as session:
        for role, name in USERNAMES.items():
            users[role] = repo.create_user(
                session, None, username=name, password_hash=digest, role=role
            )
    return users


def seed_cohort(
    database: Database, *, now: datetime, patients: int = 6, acute: int = 3, seed: int = 7
) -> Seeded:
    """Simulate `patients` (of whom `acute` are in days 0–14 at `now`) and store them."""
    sim = simulate(patients, seed, now=now, acute_now=acute)
    with database.reading() as session:
        actor = repo.get_user_by_username(session, USERNAMES[Role.DATA_MANAGER])
    assert actor is not None, "seed_users first"
    load_cohort(database, sim.frames, actor=actor)
    return Seeded(sim.acute_now(), list(sim.frames.patients["study_id"]), now)
