"""Overdue critical protocol tasks: the monitor's timer input, recomputed only when needed.

The care pathway marks some tasks critical (a neurological check on day 1, a blood count on
day 3): one that falls overdue in study days 0–14 raises an alert. Computing a patient's
schedule costs milliseconds, a ward has thousands of patients, and the monitor asks every
tick; so `OverdueTracker` keeps each patient's answer and recomputes it only when it can have
changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from neurocart import monitor
from neurocart.pathway import Schedule, SlotState, overdue_critical
from neurocart.services.schedule import patient_schedules
from neurocart.store.models import ClinicalEvent, EventType


@dataclass(frozen=True)
class _Picture:
    """One patient's overdue critical tasks as computed at `at`, and how long they hold."""

    at: datetime
    tasks: list[monitor.OverdueTask]
    settled: datetime | None
    """Latest window end of an overdue task: a plain fact timed after it changes nothing."""
    until: datetime | None
    """Earliest critical window end (or pending death) at or after `at`: recompute then."""


class OverdueTracker:
    """Patient id → overdue critical tasks (`pathway.overdue_critical` of the patient's
    schedule), recomputing a schedule only when the answer can have changed. Not thread-safe.

    A cached answer computed at `at` still holds at `now` unless: the patient's or current
    course's row changed, or a fact arrived that is a correction, a retraction, an event or
    an input of the patient's attributes, or is timed at or before the latest overdue window
    end (`forget`, fed from the journal); or `now` reached a critical window end (a task may
    fall overdue) or a recorded death's onset (follow-up ends), or went back before `at`.
    The pathway's matching makes the fact rule sound: a fact completes only a slot whose
    window contains it (later facts only later slots), and more facts never undo a done slot
    nor add an overdue one (tests/pathway/test_properties.py).
    """

    def __init__(self) -> None:
        self._pictures: dict[int, _Picture] = {}
        self.computed = 0
        """Schedules computed so far (tests and diagnostics)."""
        self.pending = 0
        """Stale answers left out of the last call by its budget (computed next time)."""
        self.fresh: set[int] = set()
        """Patients whose answer the last call computed afresh (the others are unchanged)."""

    def forget(self, touched: Mapping[int, tuple[datetime | None, bool]]) -> None:
        """Drop the answers that these journal changes (patient id → (earliest fact time,
        anything special)) can have changed."""
        for pid, (earliest, special) in touched.items():
            picture = self._pictures.get(pid)
            if picture is None:
                continue
            if (
                special
                or earliest is None
                or (picture.settled is not None and earliest <= picture.settled)
            ):
                del self._pictures[pid]

    def stale(self, patient_ids: Iterable[int], now: datetime) -> list[int]:
        """Those of `patient_ids` whose answer must be recomputed at `now`."""
        out = []
        for pid in patient_ids:
            picture = self._pictures.get(pid)
            if (
                picture is None
                or now < picture.at
                or (picture.until is not None and now >= picture.until)
            ):
                out.append(pid)
        return out

    def refresh(
        self, session: Session, patient_ids: Iterable[int], now: datetime, *, budget: int | None
    ) -> None:
        """Recompute the stale answers of `patient_ids` at `now` (tz-aware); `fresh` names them.

        At most `budget` schedules are computed in one call (None: all that are stale); the
        patients left out keep their previous answer and come first next time, so a monitor
        that starts with thousands of patients spreads the work over its first ticks.
        """
        stale = self.stale(sorted(set(patient_ids)), now)
        self.pending = 0
        if budget is not None:
            self.pending = max(0, len(stale) - budget)
            stale = stale[:budget]
        self.fresh = set(stale)
        if stale:  # one bulk read for all of them: per-patient queries cost ~10× more
            deaths = _future_deaths(session, stale, now)
            for pid, schedule in patient_schedules(session, stale, now=now).items():
                self.computed += 1
                self._pictures[pid] = _picture(schedule, now, deaths.get(pid))

    def answer(self, patient_id: int) -> list[monitor.OverdueTask] | None:
        """The patient's last computed overdue critical tasks (None: never computed)."""
        picture = self._pictures.get(patient_id)
        return None if picture is None else picture.tasks

    def overdue(
        self, session: Session, patient_ids: Iterable[int], now: datetime, *, budget: int | None
    ) -> dict[int, list[monitor.OverdueTask]]:
        """`refresh`, then the answers of those of `patient_ids` computed so far."""
        wanted = sorted(set(patient_ids))
        self.refresh(session, wanted, now, budget=budget)
        return {pid: self._pictures[pid].tasks for pid in wanted if pid in self._pictures}


def _picture(schedule: Schedule, now: datetime, death: datetime | None) -> _Picture:
    """What a schedule computed at `now` says about overdue critical tasks, and until when."""
    tasks = [monitor.OverdueTask.from_slot(s) for s in overdue_critical(schedule)]
    settled: datetime | None = None
    until = death
    for slot in schedule.slots:
        end = slot.window_end if slot.critical else None
        if end is None:
            continue
        if slot.state is SlotState.OVERDUE:
            settled = end if settled is None else max(settled, end)
        if end >= now:
            until = end if until is None else min(until, end)
    return _Picture(now, tasks, settled, until)


def _future_deaths(session: Session, patient_ids: list[int], now: datetime) -> dict[int, datetime]:
    """Patient id → earliest recorded death onset after `now` (any version: a superset)."""
    rows = session.execute(
        select(ClinicalEvent.patient_id, func.min(ClinicalEvent.onset_at))
        .where(
            ClinicalEvent.type == EventType.DEATH,
            ClinicalEvent.onset_at > now,
        )
        .group_by(ClinicalEvent.patient_id)
    )
    wanted = set(patient_ids)
    return {pid: at for pid, at in rows if pid in wanted}
