"""A real server and a real headless Chromium for the browser tests.

The server is uvicorn in a background thread on a free port, over a temporary SQLite
database seeded by the simulator through the repository. The app is the API's `create_app`
when it exists, else a bare FastAPI app; either way the web pages are installed with
`neurocart.web.install`. Alerts are the real ones: the app's monitoring service (rebuilt from
the seeded store at start-up) persists them and the board reads them from the store.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from neurocart.api import create_app
from neurocart.config import Settings
from neurocart.runtime import Runtime
from neurocart.security import Role
from neurocart.services import accounts
from neurocart.store import Database, repo
from neurocart.store.models import Base
from tests.liveserver import serving
from tests.web.seed import PASSWORD, Seeded, seed_cohort, seed_users

CHROMIUM = Path(os.environ.get("NEUROCART_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = Path(__file__).parent / "screenshots"
LAUNCH_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

SECRET = "e2e-secret-key-0123456789abcdef0123456789"

SKIP_REASON = (
    f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)"
    if not CHROMIUM.exists()
    else None
)
"""Why the browser tests cannot run here, or None; each e2e module skips itself with it."""


@dataclass
class Live:
    url: str
    database: Database
    seeded: Seeded
    monitor: Runtime
    app: FastAPI

    def bearer(self, username: str, role: Role) -> dict[str, str]:
        """API headers for a seeded user (a token signed with the app's key)."""
        with self.database.transaction() as session:
            user = repo.get_user_by_username(session, username)
            assert user is not None, username
            assert user.role == role, username
            token = accounts.open_session(session, Settings(secret_key=SECRET), user)
        return {"Authorization": f"Bearer {token}"}


def _app(database: Database) -> FastAPI:
    url = database.engine.url.render_as_string(hide_password=False)
    return create_app(Settings(database_url=url, secret_key=SECRET), database)


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    path = tmp_path_factory.mktemp("e2e") / "neurocart.db"
    database = Database.from_url(f"sqlite:///{path}")
    Base.metadata.create_all(database.engine)
    now = datetime.now(UTC)
    seed_users(database)
    seeded = seed_cohort(database, now=now, patients=6, acute=3, seed=11)
    app = _app(database)
    with serving(app, timeout_graceful_shutdown=1) as url:
        assert app.state.runtime.settle(60), "the monitor did not catch up with the seed"
        yield Live(url, database, seeded, app.state.runtime, app)
    database.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright for Python")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, live: Live) -> Iterator[Any]:
    """A fresh tablet-sized browser context (no cookies) per test."""
    context = browser.new_context(viewport={"width": 1180, "height": 820}, base_url=live.url)
    context.set_default_timeout(30_000)  # a loaded 2-core machine: pages can take seconds
    tab = context.new_page()
    yield tab
    context.close()


def login(page: Any, username: str, password: str = PASSWORD, *, navigate: bool = True) -> None:
    """Log in through the form (on the current page when `navigate` is false)."""
    if navigate:
        page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("main button[type=submit]")  # not the language switch
    page.wait_for_load_state("domcontentloaded")


def shot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
