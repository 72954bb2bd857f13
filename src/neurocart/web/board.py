"""The ward board's read model: who is in the acute phase, how they are, most urgent first.

`acute_board(session, alerts, now=...)` gathers one `BoardRow` per living patient in study
days 0–14 (plus anyone with an open alert); `urgency_key` is the one ordering rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from neurocart.pathway import Slot, due_today, overdue_critical
from neurocart.services.grades import NO_GRADES, CurrentGrade, Grades, current_grades
from neurocart.services.schedule import died_at
from neurocart.store import repo
from neurocart.store.models import Assessment, Observation, Patient
from neurocart.web.alerts import AlertView
from neurocart.web.schedule import infusion_at, latest_course, patient_schedule, study_day

ACUTE_DAYS = range(0, 15)
"""Study days of the acute phase (infusion day 0 to day 14)."""

TEMPERATURE, SYSTOLIC, DIASTOLIC, SPO2, HEART_RATE = (
    "8310-5",
    "8480-6",
    "8462-4",
    "59408-5",
    "8867-4",
)
FEVER_C = 38.0
"""ASTCT fever threshold."""
HYPOTENSION_SBP = 90.0
HYPOXIA_SPO2 = 90.0


@dataclass(frozen=True, slots=True)
class Reading:
    """A latest value with when it was taken and, when out of range, a word saying so."""

    value: float
    unit: str
    at: datetime
    flag: str = ""


@dataclass(frozen=True, slots=True)
class Grade:
    """A current CRS or ICANS grade with where it came from."""

    grade: int | None
    label: str
    at: datetime | None
    source: str = ""

    @property
    def css(self) -> str:
        return "g-none" if self.grade is None else f"g{min(max(self.grade, 0), 5)}"

    @property
    def text(self) -> str:
        if self.grade is None:
            return "not graded"
        return "none" if self.grade == 0 else f"grade {self.grade}"


NOT_GRADED = Grade(None, "not graded", None)


@dataclass(frozen=True, slots=True)
class TaskView:
    """A task as a board card shows it: title, state, when it is due, and whether it is critical."""

    title: str
    state: str
    due_at: datetime | None
    critical: bool
    discipline: str


@dataclass(slots=True)
class BoardRow:
    """One acute patient's card on the ward board: study day, current CRS and ICANS grades, latest
    vitals, tasks and open alerts."""

    study_id: str
    diagnosis: str
    day: int | None
    crs: Grade = NOT_GRADED
    icans: Grade = NOT_GRADED
    temperature: Reading | None = None
    systolic: Reading | None = None
    diastolic: Reading | None = None
    spo2: Reading | None = None
    heart_rate: Reading | None = None
    ice: Reading | None = None
    ice_label: str = ""
    alerts: list[AlertView] = field(default_factory=list)
    tasks: list[TaskView] = field(default_factory=list)

    @property
    def top_severity(self) -> str | None:
        return max(self.alerts, key=lambda a: a.rank).severity if self.alerts else None

    @property
    def alerts_by_discipline(self) -> dict[str, list[AlertView]]:
        from neurocart.web.alerts import by_discipline

        return by_discipline(self.alerts)


def urgency_key(row: BoardRow) -> tuple[int, int, int, int, int, int, str]:
    """Most urgent first: worst open alert, unacknowledged alerts, worst CRS/ICANS grade,
    then the earliest study day (the highest-risk first week), then study ID."""
    top = max((a.rank for a in row.alerts), default=-1)
    unacked = sum(1 for a in row.alerts if a.acknowledged_at is None)
    crs = row.crs.grade or 0
    icans = row.icans.grade or 0
    day = row.day if row.day is not None else 10_000
    return (-top, -unacked, -max(crs, icans), -crs, -icans, day, row.study_id)


def acute_board(session: Session, alerts: Sequence[AlertView], *, now: datetime) -> list[BoardRow]:
    """Every patient in study days 0–14 at `now` who has not died by then, and every patient
    with an open alert (a deceased one's alerts still need closing; the engine schedules
    nothing for them after the death)."""
    open_by_patient: dict[str, list[AlertView]] = {}
    for alert in alerts:
        open_by_patient.setdefault(alert.study_id, []).append(alert)
    rows = []
    for patient in repo.list_patients(session):
        course = latest_course(session, patient.id)
        infusion = infusion_at(course)
        day = study_day(now, infusion)
        patient_alerts = open_by_patient.get(patient.study_id, [])
        if not patient_alerts and (
            day is None or day not in ACUTE_DAYS or _dead(session, patient, now)
        ):
            continue
        rows.append(_row(session, patient, infusion, day, patient_alerts, now))
    return sorted(rows, key=urgency_key)


def _row(
    session: Session,
    patient: Patient,
    infusion: datetime | None,
    day: int | None,
    alerts: list[AlertView],
    now: datetime,
) -> BoardRow:
    since = (infusion or now) - timedelta(days=2)
    latest: dict[str, Observation] = {}
    for obs in repo.list_observations(session, patient.id, since=since, until=now + _SKEW):
        latest[obs.code] = obs  # ordered by time: the last one wins
    row = BoardRow(patient.study_id, patient.diagnosis.value, day, alerts=alerts)
    row.temperature = _reading(latest.get(TEMPERATURE), lambda v: "fever" if v >= FEVER_C else "")
    row.systolic = _reading(latest.get(SYSTOLIC), lambda v: "low" if v < HYPOTENSION_SBP else "")
    row.diastolic = _reading(latest.get(DIASTOLIC))
    row.spo2 = _reading(latest.get(SPO2), lambda v: "low" if v < HYPOXIA_SPO2 else "")
    row.heart_rate = _reading(latest.get(HEART_RATE))
    assessments = repo.list_assessments(session, patient.id)
    row.crs, row.icans = grades_of(current_grades(session, [patient.id]).get(patient.id))
    ice = _latest(a for a in assessments if a.instrument == "ice")
    if ice is not None:
        flag = "low" if ice.value < 10 else ""
        row.ice = Reading(ice.value, "/10", ice.effective_at, flag)
        row.ice_label = ice.label
    schedule = patient_schedule(session, patient, now=now)
    if schedule is not None:
        row.tasks = [task_view(s) for s in due_today(schedule)]
        row.tasks += [task_view(s) for s in overdue_critical(schedule)]
    return row


def _dead(session: Session, patient: Patient, now: datetime) -> bool:
    death = died_at(session, patient.id)
    return death is not None and death <= now


_SKEW = timedelta(minutes=5)
"""Tolerance for bedside clocks a little ahead of the server."""


def task_view(slot: Slot) -> TaskView:
    """The board's view of one schedule slot."""
    return TaskView(slot.title, slot.state.value, slot.due_at, slot.critical, slot.discipline)


def _reading(obs: Observation | None, flag: Callable[[float], str] | None = None) -> Reading | None:
    if obs is None:
        return None
    word = flag(obs.value) if flag is not None else ""
    return Reading(obs.value, obs.unit, obs.effective_at, word)


def _latest(assessments: Iterable[Assessment]) -> Assessment | None:
    best: Assessment | None = None
    for a in assessments:
        if best is None or (a.effective_at, a.id) > (best.effective_at, best.id):
            best = a
    return best


def grades_of(grades: Grades | None) -> tuple[Grade, Grade]:
    """The board's CRS and ICANS badges from the monitor's current grades."""
    grades = grades or NO_GRADES
    return _badge(grades.crs), _badge(grades.icans)


def _badge(grade: CurrentGrade | None) -> Grade:
    if grade is None:
        return NOT_GRADED
    label = "none" if grade.grade == 0 else f"grade {grade.grade}"
    return Grade(grade.grade, f"{label}, {grade.provenance}", grade.at, grade.source)
