"""Interop tests: the app on a fresh database (SQLite, and PostgreSQL when reachable)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from neurocart.api import create_app
from neurocart.config import Settings
from neurocart.store import Database, Patient, User, repo
from tests.api.conftest import Headers, add_user, bearer, make_settings
from tests.dbfixtures import database, database_env, db_url, pg_session_url

__all__ = ["database", "database_env", "db_url", "pg_session_url"]

STUDY = "urn:neurocart:study-id"
INFUSION = datetime(2025, 6, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def settings(database: Database) -> Settings:
    return make_settings(database.engine.url.render_as_string(hide_password=False))


@pytest.fixture
def app(settings: Settings, database: Database) -> FastAPI:
    return create_app(settings, database)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def feed_user(database: Database) -> User:
    return add_user(database, "lis-feed", "data_manager")


@pytest.fixture
def feed(database: Database, feed_user: User) -> Headers:
    return bearer(database, feed_user)


@pytest.fixture
def patient(database: Database) -> Patient:
    """NC-0007, infused on 2025-06-01 at 02:00 UTC (so June 2–3 are study days 1–2)."""
    with database.transaction() as session:
        p = repo.create_patient(
            session,
            None,
            repo.PatientIn(study_id="NC-0007", site="SITE_A", sex="female", diagnosis="nmosd"),
        )
        repo.create_course(
            session, None, repo.CourseIn(patient_id=p.id, product="CT103A", infusion_at=INFUSION)
        )
        return p


@pytest.fixture
def as_role(database: Database) -> Callable[[str], Headers]:
    made: dict[str, Headers] = {}

    def headers(role: str) -> Headers:
        if role not in made:
            made[role] = bearer(database, add_user(database, f"{role}-user", role))
        return made[role]

    return headers
