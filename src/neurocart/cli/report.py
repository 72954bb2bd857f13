"""`neurocart report`: the cohort report (HTML with embedded figures, PDF, CSV tables).

By default the cohort is the record in the database (NEUROCART_DATABASE_URL, or
--database-url), optionally one site's patients; `--simulate N --seed S` reports on a
simulated cohort instead (no database needed).
"""

from __future__ import annotations

import getpass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from neurocart.cli import clock
from neurocart.cli.console import fail, out
from neurocart.i18n import error_text, format_date, message_text
from neurocart.i18n import gettext as _
from neurocart.studyday import day_start, local_date

if TYPE_CHECKING:  # pandas: loaded by the command, not by the command line's start-up
    from neurocart.frames import CohortFrames, Selection

if TYPE_CHECKING:
    from neurocart.store import Database


def _missing_sqlite_file(url: str) -> Path | None:
    """The SQLite file named by `url` when it does not exist (connecting would create it)."""
    from neurocart.cli.database import sqlite_file

    path = sqlite_file(url)
    return path if path is not None and not path.exists() else None


def _from_database(
    database_url: str | None,
    site: str | None,
    what: str = "report",
    *,
    only: Selection | None = None,
    cutoff: date | None = None,
) -> tuple[CohortFrames, str, bool]:
    """The frames, the source sentence, and whether the record holds simulated data; the
    read is logged as `what` (a report build, an export) by the operating-system user.
    `only`, `cutoff`: the facts an analysis reads, for that cut-off (`load_cohort`)."""
    from neurocart.config import get_settings
    from neurocart.reports.scope import database_source, is_synthetic, load_cohort, mask_url
    from neurocart.store import Database, StoreError

    url = database_url or get_settings().database_url
    missing = _missing_sqlite_file(url)
    if missing is not None:
        raise fail(
            _("database {url}: the file {missing} does not exist").format(
                url=mask_url(url), missing=missing
            )
        )
    try:
        database = Database.from_url(url)
    except (SQLAlchemyError, ValueError) as exc:
        raise fail(
            _("--database-url: cannot use {url}: {exc}").format(
                url=mask_url(url), exc=message_text(str(exc), "neurocart.store.engine")
            )
        ) from None
    try:
        frames = load_cohort(database, site=site, only=only, cutoff=cutoff)
        synthetic = is_synthetic(database)
        _log_cohort_read(database, what, site, frames)
    except StoreError as exc:
        raise fail(
            _("database {url}: {exc}").format(url=mask_url(url), exc=error_text(exc))
        ) from None
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None)
        reason = str(orig if orig is not None else exc).splitlines()[0]
        raise fail(
            _(
                "database {url} cannot be read ({reason}); is the URL right and the schema up "
                "to date (`neurocart db upgrade`)?"
            ).format(url=mask_url(url), reason=reason)
        ) from None
    finally:
        database.dispose()
    return frames, database_source(url), synthetic


def _log_cohort_read(database: Database, what: str, site: str | None, frames: CohortFrames) -> None:
    from neurocart.services.reads import log_read
    from neurocart.store.audit_keys import AuditKeyError

    scope = {"site": site or "all", "patients": len(frames.patients)}
    try:
        log_read(database, None, what, scope=scope, actor=f"cli:{getpass.getuser()}")
    except AuditKeyError as exc:
        raise fail(_("cannot log this read: {exc}").format(exc=error_text(exc))) from None


def report(
    out_dir: Annotated[Path, typer.Option("--out", help="directory to write the report into")],
    cutoff: Annotated[
        str | None,
        typer.Option(
            "--cutoff", help="data cut-off date YYYY-MM-DD (default: today on the site's clock)"
        ),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="overrides NEUROCART_DATABASE_URL", show_default=False),
    ] = None,
    site: Annotated[
        str | None, typer.Option("--site", help="only the patients of this site")
    ] = None,
    definition: Annotated[
        str | None,
        typer.Option(
            "--definition",
            help="cohort definition printed in the report (default: who was included, from "
            "what data)",
        ),
    ] = None,
    simulate: Annotated[
        int | None,
        typer.Option("--simulate", help="analyse a simulated cohort of N patients instead"),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="seed of the simulated cohort")] = 1,
) -> None:
    """Write report.html, report.pdf, tables/*.csv and figures/*.png into --out."""
    from neurocart.reports.scope import (
        CohortScopeError,
        require_infused,
        scope_of,
        simulated_source,
    )

    try:
        cut = date.fromisoformat(cutoff) if cutoff else local_date(clock.now())
    except ValueError:
        raise fail(
            _("--cutoff: expected a date YYYY-MM-DD, got {cutoff!r}").format(cutoff=cutoff)
        ) from None
    if simulate is not None:
        if database_url is not None or site is not None:
            raise fail(_("--simulate: cannot be combined with --database-url or --site"))
        if simulate < 1:
            raise fail(
                _("--simulate: expected at least 1 patient, got {simulate}").format(
                    simulate=simulate
                )
            )
        from neurocart.simulate import simulate_cohort

        now = day_start(cut + timedelta(days=1)) - timedelta(seconds=1)
        frames = simulate_cohort(simulate, seed, now=now)
        source = simulated_source(simulate, seed)
        synthetic = True
    else:
        try:
            from neurocart.cohort.analysis import selection

            frames, source, synthetic = _from_database(
                database_url, site, only=selection(), cutoff=cut
            )
        except CohortScopeError as exc:
            raise fail(error_text(exc)) from None
    scope = scope_of(frames, cutoff=cut, site=site, source=source, synthetic=synthetic)
    try:
        require_infused(scope)
    except CohortScopeError as exc:
        raise fail(error_text(exc)) from None
    said = message_text(scope.text(), "neurocart.reports.scope")
    text = f"{definition.strip()} — {said}" if definition else said
    from neurocart.reports import build_report

    files = build_report(
        frames, out_dir, cutoff=cut, cohort_definition=text, synthetic=scope.synthetic
    )
    out.print(
        _(
            "{n} infused patients analysed (cut-off {cutoff}); wrote {html}, {pdf} ({pages} "
            "pages) and {tables} CSV tables"
        ).format(
            n=scope.infused, cutoff=format_date(cut), html=files.html, pdf=files.pdf,
            pages=files.pdf_pages, tables=len(files.csv),
        )
    )  # fmt: skip
