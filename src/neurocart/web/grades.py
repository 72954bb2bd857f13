"""One current CRS and ICANS grade per patient, with where it comes from — what the board,
the chart and the alert all show.

    grades = current_grades(session, {patient_id: study_id}, alerts, now=now)
    grades[study_id]["crs"].text      # "grade 2"
    grades[study_id]["crs"].source    # "derived from vitals at 10:40 (monitor)"

The grade is the monitor's (`neurocart.services.grades`): the higher of the grade it derived
from vitals and events and a clinician's recorded grade of the last 24 h, with the source
that won named. This module is the one place the pages ask.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from neurocart.i18n import format_clock, format_time
from neurocart.i18n import gettext as _
from neurocart.services.grades import CurrentGrade as MonitorGrade
from neurocart.services.grades import current_grades as services_grades
from neurocart.web.alerts import AlertView

INSTRUMENTS = ("crs", "icans")


@dataclass(frozen=True, slots=True)
class GradeSource:
    """One way of knowing the grade: recorded by a user, or derived by the monitor."""

    kind: str
    """"recorded" or "derived"."""
    grade: int
    at: datetime
    by: str = ""
    now: datetime | None = None
    """When the page is shown: a time not of today is given with its date."""

    def describe(self) -> str:
        when = format_time(self.at) if self.now is None else format_clock(self.at, self.now)
        if self.kind == "derived":
            return _("grade {grade} derived from the facts at {time} (monitor)").format(
                grade=self.grade, time=when
            )
        if self.by:
            return _("grade {grade} recorded by {user} at {time}").format(
                grade=self.grade, user=self.by, time=when
            )
        return _("grade {grade} recorded at {time}").format(grade=self.grade, time=when)


@dataclass(frozen=True, slots=True)
class CurrentGrade:
    """The grade shown, and every source behind it (highest first)."""

    instrument: str
    grade: int | None
    sources: tuple[GradeSource, ...] = ()

    @property
    def text(self) -> str:
        if self.grade is None:
            return _("not graded")
        return _("none") if self.grade == 0 else _("grade {n}").format(n=self.grade)

    @property
    def css(self) -> str:
        return "g-none" if self.grade is None else f"g{min(max(self.grade, 0), 5)}"

    @property
    def source(self) -> str:
        """Where it comes from, in words ("grade 2 derived ... · grade 1 recorded by ...")."""
        return " · ".join(s.describe() for s in self.sources) or _("nothing recorded or derived")

    @property
    def at(self) -> datetime | None:
        return self.sources[0].at if self.sources else None


def current_grades(
    session: Session,
    patients: Mapping[int, str],
    alerts: Sequence[AlertView] = (),
    *,
    now: datetime,
) -> dict[str, dict[str, CurrentGrade]]:
    """Study id → {"crs": CurrentGrade, "icans": CurrentGrade} for `patients` (id → study id):
    the grade the monitor holds (`neurocart.services.grades`, the same grade as its alert),
    with its source — derived from the facts, or recorded by a clinician."""
    held = services_grades(session, patients)
    out: dict[str, dict[str, CurrentGrade]] = {}
    for pid, study_id in patients.items():
        grades = held.get(pid)
        out[study_id] = {
            name: _current(name, None if grades is None else getattr(grades, name), now)
            for name in INSTRUMENTS
        }
    return out


def _current(instrument: str, grade: MonitorGrade | None, now: datetime) -> CurrentGrade:
    if grade is None:
        return CurrentGrade(instrument, None)
    source = GradeSource(grade.source, grade.grade, grade.at or now, grade.by or "", now)
    return CurrentGrade(instrument, grade.grade, (source,))
