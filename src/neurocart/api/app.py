"""The application factory.

    app = create_app()                                  # Settings() and its database
    app = create_app(settings, database)                # tests: their own of each
    app = create_app(runtime=runtime)                   # the demo: a runtime on its clock

The app is a face over one `neurocart.runtime.Runtime` (``app.state.runtime``), started and
stopped with the app's lifespan. The database schema is not created here: run `neurocart db
upgrade` (or let `neurocart serve` do it for an SQLite file).
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from neurocart import __version__, web
from neurocart.api import errors, idempotency, routers
from neurocart.api.routing import InputGuard
from neurocart.config import Settings
from neurocart.runtime import Runtime
from neurocart.services.alerts import StoreAlerts
from neurocart.store import Database
from neurocart.web.alerts import set_alert_provider

DESCRIPTION = """\
The clinical record, care pathway and calculators of neurocart.

Authenticate with `POST /api/v1/auth/login`, then send `Authorization: Bearer <token>`.
Every error is `{"detail": [{"field": ..., "message": ..., "got": ...}]}` (`ErrorBody`).

Input rules beyond what the schemas say: no text may contain the NUL character, no integer
may exceed 64 bits (free-form objects included), objects and arrays nest at most 64 levels,
a body is at most `max_body_bytes` (64 MiB by default, counted as it arrives), and a
clinical fact's time lies between the patient's birth year and a few minutes past the
server's clock (`max_future_minutes`). See docs/api-input.md.
"""


def create_app(
    settings: Settings | None = None,
    database: Database | None = None,
    *,
    runtime: Runtime | None = None,
) -> FastAPI:
    """A FastAPI app over `runtime` (default: one built on `settings` and `database`).

    A database passed in stays the caller's to dispose; one opened here is disposed when the
    app shuts down.
    """
    runtime = runtime or Runtime.build(settings, database)
    settings = runtime.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime.start()
        try:
            yield
        finally:
            runtime.stop()

    app = FastAPI(
        title="neurocart API",
        version=__version__,
        description=DESCRIPTION,
        docs_url="/docs",
        openapi_url="/openapi.json",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.settings = settings
    app.state.database = runtime.database
    app.state.clock = runtime.clock
    set_alert_provider(app, StoreAlerts(lambda: runtime.bus.version))
    errors.install(app)
    idempotency.install(app)
    for router in routers.ALL:
        app.include_router(router)
    web.install(app)
    app.add_middleware(InputGuard, max_body_bytes=settings.max_body_bytes)
    return app


def freeze_heap_after_startup(app: FastAPI) -> None:
    """For a server process: once startup is done (modules imported, the routes built),
    move everything it built out of the cyclic garbage collector.

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
