"""Build the demo database: a fresh SQLite file, one demo user per role, a simulated ward.

The file is only ever replaced when it is an earlier demo (every user in it is a demo user):
pointing ``--db`` at a real record by mistake must not destroy it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from neurocart.config import Settings, get_settings
from neurocart.demo import DEFAULT_SEED, DEMO_PASSWORD
from neurocart.security import Role, hash_password
from neurocart.simulate import Simulation, simulate
from neurocart.simulate.load import ACCOUNT, LoadReport, load_cohort, simulator_account
from neurocart.store import Database, migrate, repo

DEFAULT_ACUTE = 6
"""Patients in study days 0–14 at the start of the demo (the ward board's rows)."""
_SIDE_FILES = ("-wal", "-shm", "-journal", ".clock.json")
"""Companions of a demo database file: SQLite's, and the published demo clock."""


NOT_A_DEMO = "{path} exists and is not a neurocart demo database; refusing to overwrite it"
OTHER_USERS = (
    "{path} exists and is not a neurocart demo database; refusing to overwrite it (it has users "
    "other than the demo users)"
)
MESSAGES = (NOT_A_DEMO, OTHER_USERS)
"""Why a file is not replaced by a demo, as message keys (like
`neurocart.store.errors.MESSAGES`)."""


class NotADemoDatabaseError(Exception):
    """The target file exists and is not an earlier demo database; nothing was changed."""


def demo_usernames() -> dict[Role, str]:
    """One login per role: ``<role>.demo`` (e.g. ``neurologist.demo``)."""
    return {role: f"{role.value}.demo" for role in Role}


@dataclass(frozen=True)
class DemoDatabase:
    """A built demo database: where it is, the simulation it holds, what was written, and the demo
    user of each role."""

    path: Path
    url: str
    sim: Simulation
    report: LoadReport
    users: dict[Role, str]


def check_replaceable(path: Path) -> None:
    """Raise NotADemoDatabaseError unless `path` is absent, empty, or an earlier demo."""
    if not path.exists() or (path.is_file() and path.stat().st_size == 0):
        return
    refuse = NOT_A_DEMO.format(path=path)
    if not path.is_file():
        raise NotADemoDatabaseError(refuse)
    try:
        with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as connection:
            names = {row[0] for row in connection.execute("SELECT username FROM users")}
    except sqlite3.Error:
        raise NotADemoDatabaseError(refuse) from None
    demo = set(demo_usernames().values()) | {ACCOUNT}
    if not names or not names <= demo:
        raise NotADemoDatabaseError(OTHER_USERS.format(path=path))


def remove_database(path: Path) -> None:
    """Delete an SQLite file and its companions (WAL, SHM, journal, the demo clock)."""
    for candidate in [path, *(path.with_name(path.name + s) for s in _SIDE_FILES)]:
        candidate.unlink(missing_ok=True)


def settings_for(path: Path, base: Settings) -> Settings:
    """`base` settings pointed at the demo database file."""
    return Settings(**(base.model_dump() | {"database_url": f"sqlite:///{path.resolve()}"}))


def build_demo(
    path: Path,
    *,
    patients: int = 40,
    seed: int = DEFAULT_SEED,
    acute_now: int | None = None,
    now: datetime | None = None,
    monitor: bool = True,
) -> DemoDatabase:
    """Replace `path` with a fresh demo database and return what it holds.

    With `monitor`, the runtime's monitor reads the stored history at once (as a server's
    leader would at start), so the alerts it raised are in the record when the board opens,
    exactly as if the facts had come through the API.
    """
    check_replaceable(path)
    remove_database(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{path.resolve()}"
    acute = min(DEFAULT_ACUTE, patients) if acute_now is None else acute_now
    sim = simulate(patients, seed, now=now or datetime.now(UTC), acute_now=acute)
    database = Database.from_url(url)
    try:
        migrate.upgrade(database.engine)
        users = demo_usernames()
        digest = hash_password(DEMO_PASSWORD)  # one hash for all: argon2 is slow on purpose
        with database.transaction() as session:
            for role, name in users.items():
                repo.create_user(session, None, username=name, password_hash=digest, role=role)
            actor = simulator_account(session)
        report = load_cohort(database, sim.frames, actor=actor)
        if monitor:
            from neurocart.runtime import Runtime

            runtime = Runtime.build(
                settings_for(path, get_settings()), database, clock=lambda: sim.now
            )
            runtime.monitor.run_until_caught_up(now=sim.now)
    finally:
        database.dispose()
    return DemoDatabase(path, url, sim, report, users)
