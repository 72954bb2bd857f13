"""`neurocart serve`: run the REST API with uvicorn.

The token key is checked first: the published default or one shorter than 32 bytes is refused
(exit code 2) unless NEUROCART_DEMO_MODE is set.

Schema on start as neurocart.cli.database says: an SQLite file is upgraded automatically, a
PostgreSQL database behind is refused (run `neurocart db upgrade`). `--upgrade` forces the
upgrade on any backend, `--no-upgrade` never upgrades (and refuses a database that is behind).

The access log is on but every path segment and query value that is not part of a route
is masked (`neurocart.api.access_log`): patient identifiers never appear in logs.

Outside the demo, `serve` refuses to start without an audit key (NEUROCART_AUDIT_KEYRING or
NEUROCART_AUDIT_KEY, docs/audit.md) and warns when no checkpoint directory is set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from neurocart.cli.console import err, fail
from neurocart.cli.database import open_database, settings_with
from neurocart.cli.database import prepare_schema as prepare_schema  # its tests import it here
from neurocart.config import MIN_SECRET_KEY_BYTES
from neurocart.i18n import error_text
from neurocart.i18n import gettext as _
from neurocart.services.accounts import secret_key_problem


def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port")] = 8000,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="overrides NEUROCART_DATABASE_URL", show_default=False),
    ] = None,
    upgrade: Annotated[
        bool | None,
        typer.Option(
            "--upgrade/--no-upgrade",
            help="migrate the schema on start (default: only an SQLite file)",
            show_default=False,
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
) -> None:
    """Serve the REST API (OpenAPI docs at /docs)."""
    from neurocart.api import access_log, create_app, freeze_heap_after_startup
    from neurocart.runtime import Runtime
    from neurocart.services.leadership import AlreadyServingError, serve_lock
    from neurocart.store.audit_keys import AuditKeyError, keyring_from

    try:
        keyring_from(settings_with(database_url))
    except AuditKeyError as exc:
        raise fail(_("refusing to serve: {exc}").format(exc=error_text(exc))) from None
    requested = settings_with(database_url)
    problem = secret_key_problem(requested)
    if problem is not None and not requested.demo_mode:
        raise fail(
            _(
                "NEUROCART_SECRET_KEY {problem}: anyone who knows it can sign tokens. Set at "
                "least {MIN_SECRET_KEY_BYTES} random bytes (e.g. `python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))'`), or NEUROCART_DEMO_MODE=1 for a demo"
            ).format(problem=problem, MIN_SECRET_KEY_BYTES=MIN_SECRET_KEY_BYTES)
        )
    if problem is not None:
        err.print(
            _("[yellow]warning:[/] NEUROCART_SECRET_KEY {problem} (demo mode)").format(
                problem=problem
            ),
            highlight=False,
        )
    settings, database = open_database(database_url, upgrade=upgrade)
    if settings.audit_checkpoint_dir is None:
        err.print(
            _(
                "[yellow]warning:[/] NEUROCART_AUDIT_CHECKPOINT_DIR is not set: the audit chain "
                "head is not checkpointed outside the database"
            ),
            highlight=False,
        )
    lock = None
    sqlite_file = database.engine.url.database if database.engine.dialect.name == "sqlite" else None
    if sqlite_file and sqlite_file != ":memory:":
        try:
            lock = serve_lock(Path(sqlite_file))
        except AlreadyServingError as exc:
            database.dispose()
            raise fail(_("--database-url: {exc}").format(exc=error_text(exc))) from None
    app = create_app(runtime=Runtime.build(settings, database))
    access_log.install(app.routes)
    freeze_heap_after_startup(app)
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level)
    finally:
        database.dispose()
        if lock is not None:
            lock.close()
