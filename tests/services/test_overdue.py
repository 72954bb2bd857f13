"""The monitor's overdue tracker: schedules recomputed only when the answer can have changed
(as the journal tells it), and the answers always equal the full computation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from neurocart import monitor
from neurocart.pathway import overdue_critical
from neurocart.services import overdue as overdue_module
from neurocart.services.journal import Journal
from neurocart.services.overdue import OverdueTracker
from neurocart.services.schedule import patient_schedule, patient_schedules
from neurocart.store import Database, Patient, User, repo

DAY0 = datetime(2025, 3, 3, 8, tzinfo=UTC)
VITALS = ("8310-5", "8867-4", "8480-6", "9279-1", "59408-5")


@pytest.fixture
def cohort(database: Database, nurse: User) -> list[Patient]:
    with database.transaction() as s:
        out = []
        for i in range(3):
            p = repo.create_patient(s, None, repo.PatientIn(f"NC-{i + 1}", "HD", "female", "nmosd"))
            repo.create_course(s, None, repo.CourseIn(p.id, "x", infusion_at=DAY0))
            out.append(p)
        return out


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Patient ids whose schedule the tracker computed, in order."""
    seen: list[int] = []

    def counting(session: Any, patient_ids: Any, **kw: Any) -> Any:
        ids = sorted(set(patient_ids))
        seen.extend(ids)
        return patient_schedules(session, ids, **kw)

    monkeypatch.setattr(overdue_module, "patient_schedules", counting)
    return seen


def _vitals(db: Database, user: User, p: Patient, at: datetime) -> None:
    with db.transaction() as s:
        for code in VITALS:
            repo.add_observation(s, user, repo.ObservationIn(p.id, code, 1.0, "x", at))


class Tracked(OverdueTracker):
    """The tracker as the leader runs it: told of every journal entry before each answer."""

    def __init__(self) -> None:
        super().__init__()
        self.journal = Journal()
        self.seq = 0


def _track(db: Database, tracker: Tracked, ids: list[int], now: datetime) -> Any:
    with db.reading() as s:
        entries = Journal.entries(s, tracker.seq)
        if entries:
            tracker.journal.convert(s, entries)
            tracker.seq = entries[-1].seq
        tracker.forget(tracker.journal.take_touched())
        return tracker.overdue(s, ids, now, budget=None)


def _full(db: Database, ids: list[int], now: datetime) -> dict[int, list[monitor.OverdueTask]]:
    with db.reading() as s:
        return {
            pid: [
                monitor.OverdueTask.from_slot(x)
                for x in overdue_critical(patient_schedule(s, pid, now=now))
            ]
            for pid in ids
        }


def test_a_tick_without_new_data_computes_no_schedule(
    database: Database, cohort: list[Patient], calls: list[int]
) -> None:
    ids = [p.id for p in cohort]
    tracker = Tracked()
    now = DAY0 + timedelta(hours=30, minutes=10)  # vitals windows end at 28 h and 32 h
    first = _track(database, tracker, ids, now)
    assert sorted(calls) == ids
    calls.clear()
    again = _track(database, tracker, ids, now + timedelta(minutes=30))
    assert calls == []
    assert again == first
    assert any(first[ids[0]])  # all of day 0's vitals and ICE are overdue


def test_new_data_recomputes_only_its_patient(
    database: Database, nurse: User, cohort: list[Patient], calls: list[int]
) -> None:
    ids = [p.id for p in cohort]
    tracker = Tracked()
    now = DAY0 + timedelta(hours=30, minutes=10)
    _track(database, tracker, ids, now)
    calls.clear()
    _vitals(database, nurse, cohort[1], now)  # after every overdue window: nothing can change
    _vitals(database, nurse, cohort[0], DAY0 + timedelta(hours=25))  # inside an overdue one
    later = now + timedelta(minutes=5)
    got = _track(database, tracker, ids, later)
    assert calls == [ids[0]]
    assert got == _full(database, ids, later)
    assert len(got[ids[0]]) == len(got[ids[2]]) - 1  # the 24 h vitals slot is done now


def test_a_critical_window_end_passing_recomputes(
    database: Database, cohort: list[Patient], calls: list[int]
) -> None:
    ids = [p.id for p in cohort]
    tracker = Tracked()
    _track(database, tracker, ids, DAY0 + timedelta(hours=31))
    calls.clear()
    later = DAY0 + timedelta(hours=32, seconds=1)
    assert _track(database, tracker, ids, later) == _full(database, ids, later)
    assert sorted(calls) == ids


def test_answers_equal_the_full_computation_through_changes(
    database: Database, nurse: User, cohort: list[Patient]
) -> None:
    ids = [p.id for p in cohort]
    a, b, c = cohort
    tracker = Tracked()
    now = DAY0 + timedelta(hours=2)

    def check(step: timedelta) -> None:
        nonlocal now
        now += step
        assert _track(database, tracker, ids, now) == _full(database, ids, now), now

    check(timedelta(0))
    _vitals(database, nurse, a, DAY0 + timedelta(hours=1))
    check(timedelta(hours=3))
    _vitals(database, nurse, b, now + timedelta(hours=2))  # timed in the future
    check(timedelta(minutes=30))
    check(timedelta(hours=2))  # ... which now completes a slot
    with database.transaction() as s:  # a retraction un-does a slot
        row = repo.list_observations(s, a.id)[0]
        repo.retract_observation(s, nurse, row.id, reason="wrong patient")
    check(timedelta(minutes=1))
    with database.transaction() as s:  # the infusion moves: anchors change
        course = repo.list_courses(s, c.id)[0]
        repo.update_course(s, nurse, course.id, infusion_at=DAY0 - timedelta(hours=6))
    check(timedelta(minutes=1))
    with database.transaction() as s:  # a death recorded ahead of its onset
        repo.add_event(s, nurse, repo.EventIn(b.id, "death", now + timedelta(hours=1)))
    check(timedelta(minutes=1))
    check(timedelta(hours=1))
    assert _full(database, [b.id], now)[b.id] == []
    check(timedelta(days=1))
    check(-timedelta(hours=5))  # a clock going back is recomputed, not trusted
