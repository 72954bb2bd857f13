"""Database fixtures shared by the store and API tests: each test runs on SQLite and PostgreSQL.

Use them from a conftest.py:

    from tests.dbfixtures import database, db_url, empty_db_url, pg_session_url  # noqa: F401

- `db_url`: URL of an empty database with the current schema, parametrized [sqlite, postgresql]
- `database`: a `neurocart.store.Database` on it, disposed after the test
- `empty_db_url`: URL of a database with no tables at all (for migration tests)
- `database_env`: `db_url`, also set as NEUROCART_DATABASE_URL (settings caches cleared), for
  CLI and app tests; `database_url_env(url)` does the same for any URL

PostgreSQL: NEUROCART_TEST_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/
test) is used only to CREATE and DROP a uniquely named database per test session (and per
xdist worker), so parallel runs never collide. When the server does not answer, the
postgresql cases skip saying so.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import URL, create_engine, make_url, text
from sqlalchemy.pool import NullPool

from neurocart.config import get_settings
from neurocart.store import Database, get_database
from neurocart.store.engine import make_engine
from neurocart.store.models import Base

PG_ADMIN_URL = os.environ.get(
    "NEUROCART_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", "postgresql"]


def _pg_skip_reason() -> str:
    url = make_url(PG_ADMIN_URL)
    return f"PostgreSQL not reachable at {url.host}:{url.port or 5432}"


@cache
def postgres_reachable() -> bool:
    url = make_url(PG_ADMIN_URL)
    try:
        psycopg.connect(
            host=url.host,
            port=url.port or 5432,
            user=url.username,
            password=url.password,
            dbname=url.database,
            connect_timeout=3,
        ).close()
    except psycopg.Error:
        return False
    return True


@contextmanager
def temporary_pg_database() -> Iterator[URL]:
    """A freshly created, uniquely named PostgreSQL database, dropped on exit."""
    name = f"neurocart_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_ADMIN_URL).set(database=name)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _create_schema(url: str | URL) -> None:
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()


def _truncate_all(url: str | URL) -> None:
    engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE TABLE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(scope="session")
def pg_session_url() -> Iterator[URL]:
    """One PostgreSQL database with the current schema for the whole test session."""
    if not postgres_reachable():
        pytest.skip(_pg_skip_reason())
    with temporary_pg_database() as url:
        _create_schema(url)
        yield url


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str | URL:
    """An empty database with the current schema, on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'neurocart.db'}"
        _create_schema(url)
        return url
    pg_url: URL = request.getfixturevalue("pg_session_url")
    _truncate_all(pg_url)
    return pg_url


@pytest.fixture
def database(db_url: str | URL) -> Iterator[Database]:
    db = Database.from_url(db_url)
    yield db
    db.dispose()


@pytest.fixture(params=BACKENDS)
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | URL]:
    """A database without any table, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    if not postgres_reachable():
        pytest.skip(_pg_skip_reason())
    with temporary_pg_database() as url:
        yield url


@contextmanager
def database_url_env(url: str | URL) -> Iterator[str]:
    """Point NEUROCART_DATABASE_URL, the cached settings and get_database() at `url`."""
    text_url = url if isinstance(url, str) else url.render_as_string(hide_password=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NEUROCART_DATABASE_URL", text_url)
        get_settings.cache_clear()
        get_database.cache_clear()
        try:
            yield text_url
        finally:
            get_database().dispose()
            get_settings.cache_clear()
            get_database.cache_clear()


@pytest.fixture
def database_env(db_url: str | URL) -> Iterator[str]:
    """`db_url` (schema created), also set as NEUROCART_DATABASE_URL for CLI and app tests."""
    with database_url_env(db_url) as url:
        yield url
