"""The application factory.

    app = create_app()                                  # Settings() and its database
    app = create_app(settings, database)                # tests: their own of each
    app.state.fact_listeners.append(listener)           # see neurocart.api.hooks

The database schema is not created here: run `neurocart db upgrade` (or let `neurocart serve`
do it for an SQLite file).
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from neurocart import __version__, web
from neurocart.api import errors, monitoring, routers
from neurocart.api.hooks import FactListener
from neurocart.api.routing import InputGuard
from neurocart.config import Settings, get_settings
from neurocart.store import Database

DESCRIPTION = """\
The clinical record, care pathway and calculators of neurocart.

Authenticate with `POST /api/v1/auth/login`, then send `Authorization: Bearer <token>`.
Every error is `{"detail": [{"field": ..., "message": ..., "got": ...}]}`.
"""


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    """A FastAPI app on `database` (default: one opened from `settings.database_url`).

    A database passed in stays the caller's to dispose; one opened here is disposed when the
    app shuts down.
    """
    settings = settings or get_settings()
    owned = database is None
    db = database or Database.from_url(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with monitoring.running(app, settings):
            yield
        if owned:
            db.dispose()

    app = FastAPI(
        title="neurocart API",
        version=__version__,
        description=DESCRIPTION,
        docs_url="/docs",
        openapi_url="/openapi.json",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = db
    listeners: list[FactListener] = []
    app.state.fact_listeners = listeners
    monitoring.install(app, settings, db)
    errors.install(app)
    for router in routers.ALL:
        app.include_router(router)
    web.install(app)
    app.add_middleware(InputGuard)
    return app


def freeze_heap_after_startup(app: FastAPI) -> None:
    """For a server process: once startup is done (modules imported, the monitoring engine
    rebuilt), move everything it built out of the cyclic garbage collector.

    That heap lives as long as the process; left in the oldest generation, every full
    collection walks all of it while holding the GIL — pauses of 100–300 ms of every request
    on a ward-sized engine, measured by benchmarks/monitor.py. Frozen, a full collection
    walks only what was allocated since (gc.freeze). Only for a process that serves one app
    for its lifetime (`neurocart serve`): a test process builds many apps, and frozen cyclic
    garbage is never freed.
    """
    startup = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with startup(app):
            gc.collect()
            gc.freeze()
            yield

    app.router.lifespan_context = lifespan
