"""One seeded SQLite database and app for the page tests (seeding takes a few seconds)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from neurocart.security import Role
from neurocart.store import Database
from neurocart.store.models import Base
from neurocart.web import install
from tests.web.seed import PASSWORD, USERNAMES, Seeded, seed_cohort, seed_users


@dataclass
class World:
    database: Database
    seeded: Seeded
    app: FastAPI


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    path: Path = tmp_path_factory.mktemp("web") / "neurocart.db"
    database = Database.from_url(f"sqlite:///{path}")
    Base.metadata.create_all(database.engine)
    seed_users(database)
    seeded = seed_cohort(database, now=datetime.now(UTC), patients=5, acute=2, seed=3)
    app = FastAPI()
    app.state.database = database
    install(app)
    yield World(database, seeded, app)
    database.dispose()


def client_as(world: World, role: Role | None) -> TestClient:
    """A client logged in with `role` (None: anonymous)."""
    client = TestClient(world.app, base_url="http://testserver")
    if role is not None:
        response = client.post(
            "/login",
            data={"username": USERNAMES[role], "password": PASSWORD, "next": "/"},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
    return client
