"""Store tests run on SQLite and, when reachable, PostgreSQL (fixtures in tests/dbfixtures.py)."""

from __future__ import annotations

import pytest

from neurocart.store import Database, User, repo
from tests.dbfixtures import database, database_env, db_url, empty_db_url, pg_session_url

__all__ = ["database", "database_env", "db_url", "empty_db_url", "pg_session_url"]


@pytest.fixture
def admin(database: Database) -> User:
    with database.transaction() as session:
        return repo.create_user(session, None, username="admin", password_hash="x", role="admin")


@pytest.fixture
def nurse(database: Database) -> User:
    with database.transaction() as session:
        return repo.create_user(session, None, username="nurse", password_hash="y", role="nurse")
