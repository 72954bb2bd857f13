"""`neurocart serve`: run the REST API with uvicorn.

Schema on start: an SQLite file behind the newest migration (or new) is upgraded
automatically — it is the embedded single-site default, owned by this process, and
`neurocart demo` must need nothing else. A PostgreSQL database behind is refused with a
message to run `neurocart db upgrade`: a shared database's schema changes when its operator
decides, not when some server restarts. `--upgrade` forces the upgrade on any backend,
`--no-upgrade` never upgrades (and refuses a database that is behind).

The access log is on but study IDs in request paths are masked (patient identifiers never
appear in logs).
"""

from __future__ import annotations

import logging
import re
from typing import Annotated

import typer
import uvicorn
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.exc import SQLAlchemyError

from neurocart.cli.console import err, fail
from neurocart.config import Settings, get_settings
from neurocart.store import Database, migrate

_PATIENT_PATH = re.compile(r"(/patients/)[^/?\s]+")


class MaskStudyIds(logging.Filter):
    """Replace the study ID in ``/patients/<study_id>/...`` paths of access-log records."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _PATIENT_PATH.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args
            )
        return True


def prepare_schema(database: Database, upgrade: bool | None) -> str | None:
    """Bring the schema to the newest revision if allowed (see module docstring); the revision.

    Raises typer.Exit (via `fail`) when the database is behind and may not be upgraded, or is
    ahead of this version of neurocart.
    """
    engine = database.engine
    where = engine.url.render_as_string(hide_password=True)
    head = migrate.head()
    try:
        current = migrate.current(engine)
    except SQLAlchemyError as exc:
        raise fail(f"cannot open {where}: {str(exc).splitlines()[0]}") from None
    if current == head:
        return current
    known = current is None or _is_known(current)
    if not known:
        raise fail(
            f"database {where} is at revision {current}, unknown to this neurocart "
            f"(newest {head}): upgrade neurocart"
        )
    automatic = engine.dialect.name == "sqlite" if upgrade is None else upgrade
    if not automatic:
        raise fail(
            f"database {where} is at revision {current or '(empty)'}, not {head}: "
            "run `neurocart db upgrade` first"
        )
    try:
        reached = migrate.upgrade(engine)
    except SQLAlchemyError as exc:
        raise fail(f"cannot migrate {where}: {str(exc).splitlines()[0]}") from None
    err.print(f"database {where} upgraded to revision {reached}", highlight=False)
    return reached


def _is_known(revision: str) -> bool:
    config = Config()
    config.set_main_option("script_location", migrate.SCRIPT_LOCATION)
    try:
        return ScriptDirectory.from_config(config).get_revision(revision) is not None
    except Exception:  # alembic raises several types for an unknown revision
        return False


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
    from neurocart.api import create_app

    base = get_settings()
    settings = (
        base
        if database_url is None
        else Settings(**(base.model_dump() | {"database_url": database_url}))
    )
    try:
        database = Database.from_url(settings.database_url)
    except ValueError as exc:
        raise fail(f"database_url: {exc}") from None
    prepare_schema(database, upgrade)
    if settings.secret_key == Settings.model_fields["secret_key"].default:
        err.print(
            "[yellow]warning:[/] NEUROCART_SECRET_KEY is the default; set a long random value",
            highlight=False,
        )
    logging.getLogger("uvicorn.access").addFilter(MaskStudyIds())
    app = create_app(settings, database)
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level)
    finally:
        database.dispose()
