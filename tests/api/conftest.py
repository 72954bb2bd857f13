"""API tests: the app on a fresh database per test (SQLite, and PostgreSQL when reachable)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from neurocart.api import create_app
from neurocart.config import Settings
from neurocart.security import hash_password, issue_token, read_token
from neurocart.services import accounts
from neurocart.store import Database, Patient, Role, User, repo
from neurocart.store.engine import make_engine
from neurocart.store.models import Base
from tests.dbfixtures import database, db_url, pg_session_url

__all__ = ["database", "db_url", "pg_session_url"]

SECRET = "test-secret-key-for-the-api-tests-0123456789"
T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
Headers = dict[str, str]


def make_settings(url: str) -> Settings:
    return Settings(database_url=url, secret_key=SECRET)


SIGNING_PASSWORD = "sign-with-this-password"
"""Every `add_user` user's password: what a test signs with."""


@functools.cache
def _signing_hash() -> str:
    return hash_password(SIGNING_PASSWORD)


def add_user(db: Database, username: str, role: Role | str) -> User:
    """A user whose password is SIGNING_PASSWORD (one argon2 hash shared by every test user)."""
    with db.transaction() as session:
        return repo.create_user(
            session, None, username=username, password_hash=_signing_hash(), role=role
        )


def signature(meaning: str = "corrected", password: str = SIGNING_PASSWORD) -> dict[str, str]:
    """The `signature` field of a signed request by an `add_user` user."""
    return {"password": password, "meaning": meaning}


def session_token(db: Database | str, user: User | str, role: Role | str | None = None) -> str:
    """A token of a fresh server-side session of `user` (as a login opens), signed with SECRET.

    `role` other than the stored one mints a token claiming it (the store's role must win).
    `db` may be a URL (a server in a subprocess)."""
    database = Database.from_url(db) if isinstance(db, str) else db
    name = user if isinstance(user, str) else user.username
    try:
        with database.transaction() as session:
            stored = repo.get_user_by_username(session, name)
            assert stored is not None, f"no user {name!r}"
            token = accounts.open_session(session, Settings(secret_key=SECRET), stored)
    finally:
        if isinstance(db, str):
            database.dispose()
    if role is not None:
        sid = read_token(token, secret=SECRET).session_id
        token = issue_token(name, role, secret=SECRET, session_id=sid)
    return token


def bearer(db: Database | str, user: User | str, role: Role | str | None = None) -> Headers:
    """Authorization headers of a fresh session of `user` (see `session_token`)."""
    return {"Authorization": f"Bearer {session_token(db, user, role)}"}


def read_all(get: Callable[..., Any], url: str, base: str = "", **kwargs: Any) -> list[Any]:
    """Every item of a paged list, following `next` to the last page (filters ride along in
    the link, so `params` are sent with the first request only)."""
    items: list[Any] = []
    response = get(base + url, **kwargs)
    kwargs.pop("params", None)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        if body["next"] is None:
            return items
        response = get(base + body["next"], **kwargs)


@pytest.fixture
def settings(database: Database) -> Settings:
    return make_settings(database.engine.url.render_as_string(hide_password=False))


@pytest.fixture
def app(settings: Settings, database: Database) -> FastAPI:
    return create_app(settings, database)


class SettlingClient(TestClient):
    """A client that, after every write, waits until the monitor has read it (as a ward
    client waits for the alert of what it posted): the monitor runs beside the writes."""

    def request(self, method: str, url: Any, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        response = super().request(method, url, *args, **kwargs)
        if method.upper() != "GET":
            assert self.app.state.runtime.settle(), "the monitor did not catch up"  # type: ignore[attr-defined]
        return response


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with SettlingClient(app) as test_client:
        yield test_client


@pytest.fixture
def as_role(database: Database) -> Callable[[str], Headers]:
    """`as_role("nurse")` → headers of a user with that role (created once per role)."""
    made: dict[str, Headers] = {}

    def headers(role: str) -> Headers:
        if role not in made:
            made[role] = bearer(database, add_user(database, f"{role}-user", role))
        return made[role]

    return headers


@pytest.fixture
def patient(database: Database) -> Patient:
    with database.transaction() as session:
        return repo.create_patient(
            session,
            None,
            repo.PatientIn(study_id="P-001", site="HD", sex="female", diagnosis="nmosd"),
        )


@pytest.fixture
def sqlite_database(tmp_path: Path) -> Iterator[Database]:
    """An SQLite-only database, for tests whose subject does not depend on the backend."""
    url = f"sqlite:///{tmp_path / 'api.db'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    db = Database.from_url(url)
    yield db
    db.dispose()


def obs(
    value: float = 37.0, unit: str = "°C", code: str = "8310-5", **extra: object
) -> dict[str, object]:
    """A JSON observation row."""
    return {
        "code": code,
        "value": value,
        "unit": unit,
        "effective_at": "2025-03-03T08:00:00Z",
        "source": "test",
        **extra,
    }
