"""`neurocart import redcap`: a center's REDCap records into the record, mapped and audited.

A dry run (`--dry-run`) performs every write through the services and rolls it back: it says
what would be stored and lists every field with data that the mapping does not read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from neurocart.cli.console import fail, out
from neurocart.i18n import N_, error_text, joined
from neurocart.i18n import gettext as _

app = typer.Typer(help="Imports into the record: REDCap.", no_args_is_help=True)

COUNTED = {
    "patients": N_("{n} patients"), "courses": N_("{n} courses"),
    "observations": N_("{n} observations"), "assessments": N_("{n} assessments"),
    "events": N_("{n} events"),
}  # fmt: skip
"""What an import stores, by the plan's count names (`Plan.counts`), as the output says it."""


@app.command("redcap")
def redcap(
    dictionary: Annotated[
        Path, typer.Option("--dictionary", help="the project's data dictionary CSV")
    ],
    records: Annotated[Path, typer.Option("--records", help="records CSV (flat or EAV export)")],
    mapping: Annotated[Path, typer.Option("--mapping", help="the import mapping (TOML)")],
    user: Annotated[str, typer.Option("--user", help="the importing user (audited as)")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="validate and report; store nothing")
    ] = False,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="overrides NEUROCART_DATABASE_URL", show_default=False),
    ] = None,
) -> None:
    """Map REDCap records onto patients, courses, observations, assessments and events."""
    from neurocart.cli.database import open_database
    from neurocart.interop.redcap import RedcapError, apply, load, read_project
    from neurocart.store import repo

    try:
        plan = read_project(dictionary, records, load(mapping))
    except RedcapError as exc:
        raise fail(error_text(exc)) from None
    counted = joined(
        _(COUNTED[k]).format(n=n) if k in COUNTED else f"{n} {k}" for k, n in plan.counts().items()
    )
    said = _("would store: {counts}") if dry_run else _("to store: {counts}")
    out.print(said.format(counts=counted), highlight=False)
    for name, n in sorted(plan.unmapped.items()):
        out.print(
            _("not mapped: field {name} ({n} value(s)) — no mapping rule reads it").format(
                name=name, n=n
            ),
            highlight=False,
        )
    for problem in plan.problems:
        out.print(_("cannot map: {problem}").format(problem=problem.said(_)), highlight=False)
    _url, database = open_database(database_url, upgrade=None)
    try:
        with database.reading() as session:
            actor = repo.get_user_by_username(session, user)
        if actor is None or not actor.active:
            raise fail(_("--user: no active user {user!r}").format(user=user))
        try:
            result = apply(database, actor, plan, dry_run=dry_run)
        except RedcapError as exc:
            raise fail(error_text(exc)) from None
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise fail(
                _("the database refused the import ({reason}); nothing imported").format(
                    reason=reason
                )
            ) from None
    finally:
        database.dispose()
    if result.committed:
        out.print(_("imported in one transaction as {user}").format(user=user), highlight=False)
    else:
        out.print(_("dry run: every row passed validation; nothing stored"), highlight=False)
