"""`neurocart patient list`: the patients in the record, with their course and study day."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from neurocart.cli import clock
from neurocart.cli.console import fail, out
from neurocart.i18n import format_date
from neurocart.i18n import gettext as _
from neurocart.store import TreatmentCourse, get_database, repo
from neurocart.studyday import local_date, study_day

app = typer.Typer(help="Patients in the record.", no_args_is_help=True)


def _infusion(course: TreatmentCourse | None) -> datetime | None:
    """The infusion instant of `course` (a date alone begins at 00:00 on the site's clock)."""
    return None if course is None else course.anchor_times()["infusion"]


def _day(infusion: datetime | None, now: datetime) -> str:
    """The study day at `now` (`neurocart.studyday`: the site's calendar day, infusion day 0),
    as the board and the chart count it."""
    day = study_day(infusion, now)
    return "" if day is None else str(day)


@app.command("list")
def list_(
    site: Annotated[str | None, typer.Option(help="only patients of this site")] = None,
) -> None:
    """List patients: study ID, diagnosis, latest course, and today's study day."""
    from sqlalchemy.exc import SQLAlchemyError

    from neurocart.cli.report import _missing_sqlite_file
    from neurocart.config import get_settings
    from neurocart.reports.scope import mask_url

    now = clock.now()
    url = get_settings().database_url
    missing = _missing_sqlite_file(url)
    if missing is not None:  # connecting would leave an empty file behind
        raise fail(
            _(
                "database {url}: the file {missing} does not exist; set NEUROCART_DATABASE_URL "
                "(or run `neurocart demo --no-serve` for a demo record)"
            ).format(url=mask_url(url), missing=missing)
        )
    try:
        with get_database().reading() as session:
            patients = repo.list_patients(session, site=site)
            latest: dict[int, TreatmentCourse] = {}
            for patient in patients:
                courses = repo.list_courses(session, patient.id)
                if courses:
                    latest[patient.id] = courses[-1]
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None)
        reason = str(orig if orig is not None else exc).splitlines()[0]
        raise fail(
            _(
                "database {url} cannot be read ({reason}); is the schema up to date "
                "(`neurocart db upgrade`)?"
            ).format(url=mask_url(url), reason=reason)
        ) from None
    table = Table(title=_("patients ({n})").format(n=len(patients)))
    for column in (
        _("study ID"), _("site"), _("sex"), _("born"), _("diagnosis"), _("product"),
        _("infusion"), _("day"),
    ):  # fmt: skip
        table.add_column(column)
    for patient in patients:
        course = latest.get(patient.id)
        infusion = _infusion(course)
        diagnosis = patient.diagnosis.value + (f" ({patient.subtype})" if patient.subtype else "")
        table.add_row(
            patient.study_id,
            patient.site,
            _(patient.sex.value),
            "" if patient.birth_year is None else str(patient.birth_year),
            diagnosis,
            course.product if course else "",
            "" if infusion is None else format_date(local_date(infusion)),
            _day(infusion, now),
        )
    out.print(table)
