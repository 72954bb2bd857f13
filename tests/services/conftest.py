"""Service tests run on SQLite and, when reachable, PostgreSQL (fixtures in tests/dbfixtures.py)."""

from __future__ import annotations

import pytest

from neurocart.store import Database, Patient, User, repo
from tests.dbfixtures import database, db_url, pg_session_url
from tests.store.factories import patient

__all__ = ["database", "db_url", "pg_session_url"]


@pytest.fixture
def nurse(database: Database) -> User:
    with database.transaction() as session:
        return repo.create_user(session, None, username="nurse", password_hash="y", role="nurse")


@pytest.fixture
def mg_patient(database: Database, nurse: User) -> Patient:
    with database.transaction() as session:
        return patient(session, nurse)
