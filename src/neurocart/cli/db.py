"""`neurocart db`: create or migrate the database schema."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from neurocart.cli.console import fail, out
from neurocart.store import get_database, migrate
from neurocart.store.audit_keys import AuditKeyError

app = typer.Typer(help="The database schema (Alembic migrations).", no_args_is_help=True)


@app.command()
def upgrade(
    revision: Annotated[str, typer.Argument(help="target revision")] = "head",
) -> None:
    """Apply the migrations up to REVISION (default: the newest)."""
    db = get_database()
    where = db.engine.url.render_as_string(hide_password=True)
    try:
        reached = migrate.upgrade(db.engine, revision)
    except SQLAlchemyError as exc:
        raise fail(f"cannot migrate {where}: {str(exc).splitlines()[0]}") from None
    except AuditKeyError as exc:  # a migration that signs audit entries (0011)
        raise fail(f"cannot migrate {where}: {exc}") from None
    out.print(f"database {where} is at revision {reached}", highlight=False)


@app.command()
def current() -> None:
    """Show the revision the database is at and the newest one shipped."""
    db = get_database()
    out.print(f"database: {migrate.current(db.engine) or '(empty)'}; newest: {migrate.head()}")
