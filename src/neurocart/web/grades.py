"""One current CRS and ICANS grade per patient, with where it comes from — what the board,
the chart and the alert all show.

    grades = current_grades(session, {patient_id: study_id}, alerts, now=now)
    grades[study_id]["crs"].text      # "grade 2"
    grades[study_id]["crs"].source    # "derived from vitals at 10:40 (monitor)"

Two sources are read here: the latest *recorded* grade (a CRS or ICANS assessment, by whom
and when — or an episode event) and the grade the monitor *derived* from the facts for the
open alert of that episode (at the alert's last update). The higher is shown, both sources
named. This module is the one place the pages ask; when the runtime's grade service exists,
`current_grades` reads it instead and nothing else changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from neurocart.store import repo
from neurocart.store.models import Assessment, ClinicalEvent, EventType, User
from neurocart.web.alerts import AlertView

INSTRUMENTS = ("crs", "icans")
_EVENT = {"crs": EventType.CRS, "icans": EventType.ICANS}


@dataclass(frozen=True, slots=True)
class GradeSource:
    """One way of knowing the grade: recorded by a user, or derived by the monitor."""

    kind: str
    """"recorded" or "derived"."""
    grade: int
    at: datetime
    by: str = ""

    def describe(self) -> str:
        when = self.at.strftime("%H:%M")
        if self.kind == "derived":
            return f"grade {self.grade} derived from the facts at {when} (monitor)"
        who = f" by {self.by}" if self.by else ""
        return f"grade {self.grade} recorded{who} at {when}"


@dataclass(frozen=True, slots=True)
class CurrentGrade:
    """The grade shown, and every source behind it (highest first)."""

    instrument: str
    grade: int | None
    sources: tuple[GradeSource, ...] = ()

    @property
    def text(self) -> str:
        if self.grade is None:
            return "not graded"
        return "none" if self.grade == 0 else f"grade {self.grade}"

    @property
    def css(self) -> str:
        return "g-none" if self.grade is None else f"g{min(max(self.grade, 0), 5)}"

    @property
    def source(self) -> str:
        """Where it comes from, in words ("grade 2 derived ... · grade 1 recorded by ...")."""
        return " · ".join(s.describe() for s in self.sources) or "nothing recorded or derived"

    @property
    def at(self) -> datetime | None:
        return self.sources[0].at if self.sources else None


def combine(instrument: str, sources: Iterable[GradeSource]) -> CurrentGrade:
    """The higher grade of the sources (the newer on a tie), every source kept."""
    ordered = sorted(sources, key=lambda s: (s.grade, s.at), reverse=True)
    return CurrentGrade(instrument, ordered[0].grade if ordered else None, tuple(ordered))


def current_grades(
    session: Session,
    patients: Mapping[int, str],
    alerts: Sequence[AlertView],
    *,
    now: datetime,
) -> dict[str, dict[str, CurrentGrade]]:
    """Study id → {"crs": CurrentGrade, "icans": CurrentGrade} for `patients` (id → study id)."""
    recorded: dict[tuple[int, str], GradeSource] = {}
    ids = list(patients)
    for chunk in repo.id_chunks(ids):
        rows = session.execute(
            select(
                Assessment.patient_id, Assessment.instrument, Assessment.value,
                Assessment.effective_at, Assessment.id, User.username,
            )
            .join(User, User.id == Assessment.entered_by)
            .where(
                Assessment.patient_id.in_(chunk), Assessment.instrument.in_(INSTRUMENTS),
                Assessment.effective_at <= now, repo.current(Assessment),
            )
            .order_by(Assessment.effective_at, Assessment.id)
        )  # fmt: skip
        for pid, instrument, value, at, _, by in rows:  # oldest first: the latest wins
            recorded[(pid, instrument)] = GradeSource("recorded", int(value), at, by)
        events = session.execute(
            select(
                ClinicalEvent.patient_id, ClinicalEvent.type, ClinicalEvent.grade,
                ClinicalEvent.onset_at, ClinicalEvent.end_at, User.username,
            )
            .join(User, User.id == ClinicalEvent.entered_by)
            .where(
                ClinicalEvent.patient_id.in_(chunk),
                ClinicalEvent.type.in_(list(_EVENT.values())),
                ClinicalEvent.onset_at <= now, repo.current(ClinicalEvent),
            )
            .order_by(ClinicalEvent.onset_at, ClinicalEvent.id)
        )  # fmt: skip
        for pid, kind, grade, onset, end, by in events:
            instrument = kind.value
            ended = end is not None and end <= now
            at = end if ended and end is not None else onset
            if ended:
                value = 0
            elif grade is None:
                continue
            else:
                value = int(grade)
            event = GradeSource("recorded", value, at, by)
            if (pid, instrument) not in recorded or recorded[(pid, instrument)].at <= at:
                recorded[(pid, instrument)] = event
    derived: dict[tuple[str, str], GradeSource] = {}
    for alert in alerts:
        if alert.episode in INSTRUMENTS and alert.grade is not None:
            at = alert.updated_at or alert.opened_at
            key = (alert.study_id, alert.episode)
            if key not in derived or derived[key].grade < alert.grade:
                derived[key] = GradeSource("derived", int(alert.grade), at)
    out: dict[str, dict[str, CurrentGrade]] = {}
    for pid, sid in patients.items():
        out[sid] = {
            name: combine(
                name,
                [s for s in (recorded.get((pid, name)), derived.get((sid, name))) if s is not None],
            )
            for name in INSTRUMENTS
        }
    return out
