"""A small simulated cohort stored in SQLite through the services, for the interop tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from neurocart.store import Database
from tests.dbfixtures import _create_schema
from tests.reports.storecohort import load_simulated

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
N_PATIENTS = 6
SEED = 3


@dataclass(frozen=True)
class StoredCohort:
    url: str
    database: Database


@pytest.fixture(scope="package")
def stored_cohort(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoredCohort]:
    path: Path = tmp_path_factory.mktemp("interop") / "cohort.db"
    url = f"sqlite:///{path}"
    _create_schema(url)
    database = Database.from_url(url)
    load_simulated(database, N_PATIENTS, SEED, now=NOW)
    yield StoredCohort(url, database)
    database.dispose()
