"""`neurocart db`: create or migrate the database schema."""

from __future__ import annotations

from typing import Annotated

import typer

from neurocart.cli.console import out
from neurocart.cli.database import migrate_to
from neurocart.i18n import gettext as _
from neurocart.store import get_database, migrate

app = typer.Typer(help="The database schema (Alembic migrations).", no_args_is_help=True)


@app.command()
def upgrade(
    revision: Annotated[str, typer.Argument(help="target revision")] = "head",
) -> None:
    """Apply the migrations up to REVISION (default: the newest)."""
    db = get_database()
    where = db.engine.url.render_as_string(hide_password=True)
    reached = migrate_to(db.engine, where, revision)
    out.print(
        _("database {where} is at revision {reached}").format(where=where, reached=reached),
        highlight=False,
    )


@app.command()
def current() -> None:
    """Show the revision the database is at and the newest one shipped."""
    db = get_database()
    out.print(
        _("database: {current}; newest: {head}").format(
            current=migrate.current(db.engine) or _("(empty)"), head=migrate.head()
        )
    )
