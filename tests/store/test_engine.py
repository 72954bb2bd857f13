"""The engine settings the record's safety depends on, and tz-aware timestamps everywhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import StatementError
from sqlalchemy.pool import NullPool

from neurocart.store import Database, Task, repo
from neurocart.store import engine as engine_module
from neurocart.store.models import Base
from tests.store.factories import patient


def test_sqlite_runs_in_wal_with_foreign_keys_and_busy_timeout(tmp_path):
    db = Database.from_url(f"sqlite:///{tmp_path / 'x.db'}")
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    db.dispose()


def test_postgresql_plans_every_statement_for_its_parameters(db_url):
    """A generic plan kept from when a table was small must not outlive its growth."""
    db = Database.from_url(db_url)
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("SHOW plan_cache_mode").scalar() == "force_custom_plan"
    db.dispose()


def _pg_engine(db_url):  # type: ignore[no-untyped-def]
    db = Database.from_url(db_url)
    if db.engine.dialect.name != "postgresql":
        db.dispose()
        pytest.skip("PostgreSQL only")
    return db.engine


def test_a_connection_dropped_while_idle_is_replaced_before_use(db_url, monkeypatch):
    """The server ended a pooled connection (a restart, an idle timeout): the next checkout
    after the idle limit finds it dead and hands out a fresh one; no transaction fails."""
    engine = _pg_engine(db_url)
    monkeypatch.setattr(engine_module, "PING_IDLE_SECONDS", 0.0)
    with engine.connect() as connection:
        first = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    admin = create_engine(engine.url, poolclass=NullPool)  # not from the pool under test
    with admin.connect() as other:
        other.exec_driver_sql(f"SELECT pg_terminate_backend({first})")
    admin.dispose()
    with engine.connect() as connection:
        again = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    assert again != first
    engine.dispose()


def test_a_connection_in_use_moments_ago_is_not_pinged(db_url, monkeypatch):
    """A busy process pays no round trip per transaction; an idle connection pays one."""
    engine = _pg_engine(db_url)
    pings = []
    real = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda c: pings.append(c) or real(c))
    for _ in range(3):
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    assert pings == []
    monkeypatch.setattr(engine_module, "PING_IDLE_SECONDS", 0.0)
    with engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1")
    assert len(pings) == 1
    engine.dispose()


def test_unsupported_url_is_refused():
    with pytest.raises(ValueError, match="unsupported database URL"):
        Database.from_url("mysql://x@y/z")


def test_timestamps_come_back_aware_utc(database, admin):
    cet = timezone(timedelta(hours=1))
    with database.transaction() as session:
        p = patient(session, admin)
        obs = repo.add_observation(
            session,
            admin,
            repo.ObservationIn(
                p.id, "8310-5", 38.2, "Cel", datetime(2025, 3, 1, 9, 30, 0, 123456, cet)
            ),
        )
    with database.reading() as session:
        stored = repo.get_observation(session, obs.id)
        assert stored.effective_at == datetime(2025, 3, 1, 8, 30, 0, 123456, UTC)
        assert stored.effective_at.tzinfo is UTC


def test_naive_timestamps_are_refused(database, admin):
    with database.transaction() as session:
        p = patient(session, admin)
    # the column type itself refuses, below the repo's own check
    naive = datetime(2025, 1, 1)
    task = Task(
        patient_id=p.id,
        protocol_id="x",
        task_id="t",
        slot_start=naive,
        state="due",
        updated_at=naive,
    )
    with database.transaction() as session:
        session.add(task)
        with pytest.raises(StatementError, match="naive datetime"):
            session.flush()
        session.rollback()


def test_read_only_session_refuses_writes_on_sqlite(tmp_path):
    db = Database.from_url(f"sqlite:///{tmp_path / 'ro.db'}")
    Base.metadata.create_all(db.engine)
    with pytest.raises(RuntimeError, match="read-only"), db.reading() as session:
        repo.create_user(session, None, username="a", password_hash="x", role="admin")
    db.dispose()
