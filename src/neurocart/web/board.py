"""The ward board's read model: who is in the acute phase, how they are, most urgent first.

`acute_board(session, alerts, now=...)` gathers one `BoardRow` per living patient in study
days 0–14 (plus anyone with an open alert); `urgency_key` is the one ordering rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from neurocart.i18n import gettext as _
from neurocart.pathway import Slot
from neurocart.store.models import Assessment, Observation
from neurocart.web.alerts import AlertView

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
            return _("not graded")
        return _("none") if self.grade == 0 else _("grade {n}").format(n=self.grade)


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
    crs: Any = NOT_GRADED
    """The current grade (`neurocart.web.grades.CurrentGrade`: value and sources)."""
    icans: Any = NOT_GRADED
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
    nothing for them after the death).

    A fixed number of queries whatever the ward's size (`neurocart.web.board_data`)."""
    from neurocart.web import board_data

    open_by_patient: dict[str, list[AlertView]] = {}
    for alert in alerts:
        open_by_patient.setdefault(alert.study_id, []).append(alert)
    from neurocart.web.grades import current_grades

    facts = board_data.load(session, set(open_by_patient), now=now)
    grades = current_grades(session, {p.id: p.study_id for p in facts.patients}, alerts, now=now)
    rows = []
    for item in facts.patients:
        row = _bulk_row(item, facts, open_by_patient.get(item.study_id, []), now)
        row.crs, row.icans = grades[item.study_id]["crs"], grades[item.study_id]["icans"]
        rows.append(row)
    return sorted(rows, key=urgency_key)


def _bulk_row(item: Any, facts: Any, alerts: list[AlertView], now: datetime) -> BoardRow:
    latest = facts.vitals.get(item.id, {})
    row = BoardRow(item.study_id, item.diagnosis, item.day, alerts=alerts)
    row.temperature = _reading(latest.get(TEMPERATURE), lambda v: "fever" if v >= FEVER_C else "")
    row.systolic = _reading(latest.get(SYSTOLIC), lambda v: "low" if v < HYPOTENSION_SBP else "")
    row.diastolic = _reading(latest.get(DIASTOLIC))
    row.spo2 = _reading(latest.get(SPO2), lambda v: "low" if v < HYPOXIA_SPO2 else "")
    row.heart_rate = _reading(latest.get(HEART_RATE))
    assessments = facts.assessments.get(item.id, [])
    ice = _latest(a for a in assessments if a.instrument == "ice")
    if ice is not None:
        flag = "low" if ice.value < 10 else ""
        row.ice = Reading(ice.value, "/10", ice.effective_at, flag)
        row.ice_label = ice.label
    row.tasks = facts.tasks.get(item.id, [])
    return row


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
