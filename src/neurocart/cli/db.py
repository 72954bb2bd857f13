"""`neurocart db`: create or migrate the database schema; put the stored infusion dates on
the site's clock after its zone changed."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer
from rich.table import Table

from neurocart import studyday
from neurocart.cli.console import fail, out
from neurocart.cli.database import migrate_to
from neurocart.i18n import error_text, format_date, format_datetime
from neurocart.i18n import gettext as _
from neurocart.store import get_database, migrate, repo
from neurocart.store.audit_keys import AuditKeyError

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


@app.command("redate-infusions")
def redate_infusions(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="list the courses, change nothing")
    ] = False,
) -> None:
    """Set each course's infusion date to the date of its infusion instant on the site's clock
    (NEUROCART_TIMEZONE), after the zone was changed; each change is an audited update."""
    db = get_database()
    zone = studyday.zone_name()
    try:
        if dry_run:
            with db.reading() as session:
                changed = repo.infusions_to_redate(session)
        else:
            with db.transaction() as session:
                changed = repo.redate_infusions(session, f"cli:{getpass.getuser()}")
    except AuditKeyError as exc:
        raise fail(error_text(exc)) from None
    if not changed:
        out.print(_("every infusion date is on the site's clock ({zone})").format(zone=zone))
        return
    table = Table(_("course"), _("study ID"), _("infused at"), _("stored date"), _("date"))
    for item in changed:
        table.add_row(str(item.course_id), item.study_id, format_datetime(item.infusion_at),
                      format_date(item.old), format_date(item.new))  # fmt: skip
    out.print(table)
    done = _("{n} course(s) would be re-dated") if dry_run else _("{n} course(s) re-dated")
    out.print(done.format(n=len(changed)) + f" ({zone})", highlight=False)
