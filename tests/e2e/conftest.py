"""A real server and a real headless Chromium for the browser tests.

The server is uvicorn in a background thread on a free port, over a temporary SQLite
database seeded by the simulator through the repository. The app is the API's `create_app`
when it exists, else a bare FastAPI app; either way the web pages are installed with
`neurocart.web.install`. Alerts come from an in-process monitor engine fed by the app's fact
listeners (the same hook the API calls), shown through `neurocart.web.alerts.EngineAlerts`,
until the persisted alert store is wired in by the integrator.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy.orm import Session

from neurocart import monitor
from neurocart.store import Database
from neurocart.store.models import Base, Observation, Patient
from neurocart.web import install
from neurocart.web.alerts import EngineAlerts, set_alert_provider
from neurocart.web.schedule import infusion_at, latest_course
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
    alerts: EngineAlerts
    app: FastAPI


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _monitor_listener(provider: EngineAlerts) -> Any:
    """Feed stored observations to the engine (what the monitor service will do)."""

    def listener(session: Session, facts: Sequence[Any]) -> None:
        with provider.lock:
            for row in facts:
                if not isinstance(row, Observation):
                    continue
                study_id = session.get(Patient, row.patient_id).study_id  # type: ignore[union-attr]
                provider.engine.ingest(
                    monitor.Observation(
                        study_id, row.code, row.value, row.effective_at, row.unit,
                        row.specimen.value, row.id,
                    )
                )  # fmt: skip
        provider.touch()

    return listener


def _app(database: Database) -> FastAPI:
    try:
        from neurocart.api import create_app

        app: FastAPI = create_app(database=database)
    except ImportError:
        app = FastAPI()
        app.state.database = database
        app.state.fact_listeners = []
    if not any(getattr(r, "path", None) == "/board" for r in app.routes):
        install(app)
    return app


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    path = tmp_path_factory.mktemp("e2e") / "neurocart.db"
    database = Database.from_url(f"sqlite:///{path}")
    Base.metadata.create_all(database.engine)
    now = datetime.now(UTC)
    seed_users(database)
    seeded = seed_cohort(database, now=now, patients=6, acute=3, seed=11)
    engine = monitor.Engine()
    with database.reading() as session:
        for patient in session.query(Patient):
            course = latest_course(session, patient.id)
            engine.set_context(
                monitor.PatientContext(
                    patient.study_id, infusion_at=infusion_at(course),
                    diagnosis=patient.diagnosis.value,
                )
            )  # fmt: skip
    provider = EngineAlerts(engine)
    app = _app(database)
    set_alert_provider(app, provider)
    app.state.fact_listeners.append(_monitor_listener(provider))
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield Live(f"http://127.0.0.1:{port}", database, seeded, provider, app)
    server.should_exit = True
    thread.join(timeout=10)
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
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


def login(page: Any, username: str, password: str = PASSWORD, *, navigate: bool = True) -> None:
    """Log in through the form (on the current page when `navigate` is false)."""
    if navigate:
        page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("domcontentloaded")


def shot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
