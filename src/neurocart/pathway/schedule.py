"""The engine: protocol + a patient's anchor dates + what was recorded → the patient's schedule.

Pure: no database, no clock (`now` is a parameter). Each task expands into slots (see
`protocol.py` for the timing rules); each slot gets one state:

- ``not_applicable`` — the task's condition on the patient is false (or the attribute is not
  recorded: a task is never assumed to apply to an unknown diagnosis);
- ``not_scheduled`` — the task's anchor date is not known yet;
- ``done`` — recorded facts matching the task fall inside the window (one of them, or one per
  listed code when the task says ``require = "all"``);
- ``upcoming`` — ``now`` < window start; ``due`` — start ≤ ``now`` ≤ end;
- ``overdue`` — ``now`` > window end and not done.

End of follow-up: when the patient's follow-up ended (`compute_schedule(..., ended_at=)`: death,
and any future end such as withdrawal) at or before ``now``, every slot not done whose window
had not closed by then — open at the end or opening later — is ``not_applicable`` with the
reason "patient died on 2025-06-01" (the end reason and its date on the site's clock), as are
slots still ``not_scheduled``: nothing is due or overdue for a patient who can no longer be
seen. Slots missed before the end stay ``overdue`` (a protocol deviation of record), but
`overdue_critical` drops them: nobody can act on them any more. Done slots stay done (a
recorded fact is never hidden), and an end after ``now`` is not known yet, like a later fact.

Matching: facts are taken in time order; each completes the earliest not-yet-done slot of the
task whose window contains it, so one fact completes at most one slot of a task (it may
complete slots of several tasks). Facts timed after ``now`` are ignored, so a schedule for a
past ``now`` replays what was known then. This greedy rule is monotone: recording more facts
never undoes a done slot and never adds an overdue one.

Cost: one sort of the facts, then per task a bisect per relevant fact — linear in slots plus
facts, never slots × facts.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, tzinfo
from enum import StrEnum
from operator import attrgetter
from typing import Literal

from neurocart.pathway.protocol import STANDARD_ANCHORS, STUDY_DAY_ANCHOR, Protocol, Task
from neurocart.studyday import local_date, study_day

FactKind = Literal["observation", "assessment", "event"]
FACT_KINDS: frozenset[str] = frozenset({"observation", "assessment", "event"})
DAY = timedelta(days=1)


class SlotState(StrEnum):
    """The state of one scheduled slot; the module docstring defines each."""

    UPCOMING = "upcoming"
    DUE = "due"
    OVERDUE = "overdue"
    DONE = "done"
    NOT_APPLICABLE = "not_applicable"
    NOT_SCHEDULED = "not_scheduled"


OPEN_STATES = frozenset({SlotState.UPCOMING, SlotState.DUE, SlotState.OVERDUE})

PATIENT_DIED = "patient died"
"""`end_reason` for a death (slots read "patient died on 2025-06-01")."""
FOLLOW_UP_ENDED = "follow-up ended"
"""`end_reason` when none is given."""


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name}: datetime must be timezone-aware (UTC), got naive {value}")


@dataclass(frozen=True, slots=True)
class Fact:
    """A recorded fact as the engine sees it.

    `code` is the observation's LOINC/local code, the assessment's instrument name (a
    calculator name such as ``ice``) or the event type (``mri``, ``drug_given:entecavir``);
    `ref` is whatever identifies the stored row, handed back on the slot it completes.
    """

    kind: FactKind
    code: str
    time: datetime
    ref: str | int | None = None

    def __post_init__(self) -> None:
        if self.kind not in FACT_KINDS:
            raise ValueError(f"kind: must be one of {sorted(FACT_KINDS)}, got {self.kind!r}")
        _require_aware("time", self.time)


@dataclass(slots=True, eq=False)
class Slot:
    """One occurrence of a task for one patient. Treat as read-only."""

    task: Task
    index: int
    anchor_at: datetime | None
    study_day: int | None
    state: SlotState
    done_by: tuple[Fact, ...] = ()
    reason: str = ""

    @property
    def task_id(self) -> str:
        return self.task.id

    @property
    def title(self) -> str:
        return self.task.title

    @property
    def phase(self) -> str:
        return self.task.phase

    @property
    def discipline(self) -> str:
        return self.task.discipline

    @property
    def critical(self) -> bool:
        return self.task.critical

    @property
    def offset(self) -> timedelta:
        """Nominal time relative to the task's anchor."""
        return self.task.offsets[self.index]

    @property
    def due_at(self) -> datetime | None:
        """Nominal time; None while the anchor date is unknown."""
        return None if self.anchor_at is None else self.anchor_at + self.offset

    @property
    def window_start(self) -> datetime | None:
        return (
            None
            if self.anchor_at is None
            else self.anchor_at + self.task.window_bounds[0][self.index]
        )

    @property
    def window_end(self) -> datetime | None:
        return (
            None
            if self.anchor_at is None
            else self.anchor_at + self.task.window_bounds[1][self.index]
        )

    @property
    def done_at(self) -> datetime | None:
        """When the slot was completed (the latest of its completing facts)."""
        return max(f.time for f in self.done_by) if self.done_by else None


@dataclass(frozen=True)
class Schedule:
    """A patient's schedule as of `now`: slots grouped by task, in protocol order."""

    protocol: Protocol
    now: datetime
    anchors: Mapping[str, datetime | None]
    slots: list[Slot] = field(default_factory=list)
    ended_at: datetime | None = None
    """When follow-up ended (death...), if it had by `now`; `end_reason` says why."""
    end_reason: str = ""

    def of_task(self, task_id: str) -> list[Slot]:
        return [s for s in self.slots if s.task.id == task_id]

    def in_state(self, *states: SlotState) -> list[Slot]:
        return [s for s in self.slots if s.state in states]


class _FactIndex:
    """Facts up to `now`, grouped by (kind, code), each group sorted by time."""

    def __init__(self, facts: Iterable[Fact], now: datetime) -> None:
        self.facts: dict[tuple[str, str], list[Fact]] = {}
        for fact in sorted(facts, key=attrgetter("time")):
            if fact.time > now:
                break
            self.facts.setdefault((fact.kind, fact.code), []).append(fact)
        self.times = {k: [f.time for f in v] for k, v in self.facts.items()}

    def between(self, key: tuple[str, str], start: datetime, end: datetime) -> list[Fact]:
        """Facts of `key` with start ≤ time ≤ end, in time order."""
        times = self.times.get(key)
        if not times:
            return []
        return self.facts[key][bisect_left(times, start) : bisect_right(times, end)]


def _assign(
    starts: Sequence[timedelta],
    ends: Sequence[timedelta],
    anchor_at: datetime,
    facts: Iterable[Fact],
) -> list[Fact | None]:
    """Greedy matching: each fact (time order) completes the earliest open slot containing it.

    Starts and ends both ascend, so the slots containing time t are the contiguous range
    [bisect_left(ends, t), bisect_right(starts, t)); every slot in [lo, cursor) is already
    done (assignments move forward only), so the earliest open one is max(cursor, lo).
    """
    done: list[Fact | None] = [None] * len(starts)
    cursor = 0
    for fact in facts:
        t = fact.time - anchor_at
        i = max(cursor, bisect_left(ends, t))
        if i < len(starts) and starts[i] <= t:
            done[i] = fact
            cursor = i + 1
    return done


def _completions(
    task: Task, anchor_at: datetime, index: _FactIndex
) -> list[tuple[Fact, ...] | None]:
    starts, ends = task.window_bounds
    first, last = anchor_at + starts[0], anchor_at + ends[-1]
    keys = task.completed_by.keys
    if task.completed_by.require == "any":
        streams = [s for s in (index.between(k, first, last) for k in keys) if s]
        merged: Iterable[Fact] = (
            streams[0] if len(streams) == 1 else heapq.merge(*streams, key=attrgetter("time"))
        )
        return [(f,) if f else None for f in _assign(starts, ends, anchor_at, merged)]
    per_key = [_assign(starts, ends, anchor_at, index.between(k, first, last)) for k in keys]
    return [
        tuple(f for f in fs if f is not None) if all(fs) else None
        for fs in zip(*per_key, strict=True)
    ]


def _normal(value: object) -> object:
    return value.casefold() if isinstance(value, str) else value


def unmet_condition(task: Task, patient: Mapping[str, object]) -> str:
    """Why the task does not apply to this patient; "" when it does.

    A patient attribute may be one value or a collection (e.g. prior therapies): it meets
    the condition when any of its values is allowed. Strings compare case-insensitively.
    """
    for attribute, allowed in task.condition.items():
        value = patient.get(attribute)
        if value is None:
            return f"{attribute} not recorded"
        values = value if isinstance(value, list | tuple | set | frozenset) else (value,)
        wanted = {_normal(a) for a in allowed}
        if not any(_normal(v) in wanted for v in values):
            listed = ", ".join(str(a) for a in allowed)
            return f"{attribute} is {value!r}, not one of {listed}"
    return ""


@dataclass(frozen=True, slots=True)
class _End:
    """An end of follow-up known by `now`: when, why, and the reason its slots carry."""

    at: datetime
    why: str
    reason: str


def _task_slots(
    task: Task,
    anchor_at: datetime | None,
    infusion_at: datetime | None,
    index: _FactIndex,
    now: datetime,
    patient: Mapping[str, object],
    end: _End | None,
) -> Iterator[Slot]:
    offsets = task.offsets
    days: Sequence[int | None]
    if task.anchor == STUDY_DAY_ANCHOR:
        days = task.whole_days
    elif anchor_at is not None and infusion_at is not None:
        days = [study_day(infusion_at, anchor_at + o) for o in offsets]
    else:
        days = [None] * len(offsets)

    reason = unmet_condition(task, patient) if task.condition else ""
    if reason or anchor_at is None:
        state = SlotState.NOT_APPLICABLE if reason or end else SlotState.NOT_SCHEDULED
        reason = reason or (end.reason if end else f"{task.anchor} date not known")
        for i in range(len(offsets)):
            yield Slot(task, i, anchor_at, days[i], state, (), reason)
        return

    starts, ends = task.window_bounds
    since_anchor = now - anchor_at
    opened = bisect_right(starts, since_anchor)  # slots [opened:] have not opened yet
    closed = bisect_left(ends, since_anchor)  # slots [:closed] closed before now
    # slots [lived:] had not closed when follow-up ended (all of them without an end)
    lived = len(ends) if end is None else bisect_left(ends, end.at - anchor_at)
    completions = _completions(task, anchor_at, index)
    for i, by in enumerate(completions):
        if by:
            yield Slot(task, i, anchor_at, days[i], SlotState.DONE, by)
        elif end is not None and i >= lived:
            yield Slot(task, i, anchor_at, days[i], SlotState.NOT_APPLICABLE, (), end.reason)
        elif i < closed:
            yield Slot(task, i, anchor_at, days[i], SlotState.OVERDUE)
        elif i < opened:
            yield Slot(task, i, anchor_at, days[i], SlotState.DUE)
        else:
            yield Slot(task, i, anchor_at, days[i], SlotState.UPCOMING)


def compute_schedule(
    protocol: Protocol,
    anchors: Mapping[str, datetime | None],
    facts: Iterable[Fact] = (),
    *,
    now: datetime,
    patient: Mapping[str, object] | None = None,
    ended_at: datetime | None = None,
    end_reason: str | None = None,
) -> Schedule:
    """The patient's schedule as of `now`.

    `anchors` maps anchor names (``enrolment``, ``apheresis``, ``ld_start``, ``infusion``) to
    tz-aware datetimes, or None while unknown; a standard anchor the protocol does not use is
    ignored, any other unknown name is an error (a typo would silently unschedule tasks).
    `patient` holds the attributes that task conditions test (``diagnosis``, ``sex``...).
    `ended_at` is when the patient's follow-up ended (the death's onset...), `end_reason` why
    (default `FOLLOW_UP_ENDED`; `PATIENT_DIED` for a death): see the module docstring.
    """
    _require_aware("now", now)
    if ended_at is not None:
        _require_aware("ended_at", ended_at)
    elif end_reason is not None:
        raise ValueError(f"end_reason: given ({end_reason!r}) without ended_at")
    for name, at in anchors.items():
        if name not in protocol.anchors and name not in STANDARD_ANCHORS:
            known = ", ".join(sorted(set(protocol.anchors) | set(STANDARD_ANCHORS)))
            raise ValueError(f"anchors: unknown anchor {name!r} (known: {known})")
        if at is not None:
            _require_aware(f"anchors.{name}", at)
    end: _End | None = None
    if ended_at is not None and ended_at <= now:
        why = end_reason or FOLLOW_UP_ENDED
        end = _End(ended_at, why, f"{why} on {local_date(ended_at).isoformat()}")
    index = _FactIndex(facts, now)
    attributes = patient or {}
    infusion_at = anchors.get(STUDY_DAY_ANCHOR)
    slots: list[Slot] = []
    for task in protocol.tasks:
        slots.extend(
            _task_slots(task, anchors.get(task.anchor), infusion_at, index, now, attributes, end)
        )
    if end is None:
        return Schedule(protocol, now, dict(anchors), slots)
    return Schedule(protocol, now, dict(anchors), slots, end.at, end.why)


def chronological(slots: Iterable[Slot]) -> list[Slot]:
    """Slots by window start (unscheduled ones last, by study day), stable in protocol order."""
    far = datetime.max.replace(tzinfo=UTC)

    def key(slot: Slot) -> tuple[datetime, float]:
        start = slot.window_start
        return (
            (far, slot.study_day if slot.study_day is not None else float("inf"))
            if start is None
            else (start, 0)
        )

    return sorted(slots, key=key)


def due_today(schedule: Schedule, tz: tzinfo = UTC) -> list[Slot]:
    """Open slots to act on today: due now, or opening before midnight (in `tz`)."""
    local = schedule.now.astimezone(tz)
    midnight = datetime.combine(local.date() + DAY, time(0), tzinfo=tz)
    return chronological(
        s
        for s in schedule.slots
        if s.state is SlotState.DUE
        or (
            s.state is SlotState.UPCOMING
            and (start := s.window_start) is not None
            and start < midnight
        )
    )


def overdue_critical(schedule: Schedule) -> list[Slot]:
    """Critical slots whose window closed undone: alerts for the monitoring engine.

    None once follow-up has ended: a task missed before a death stays overdue on record, but
    nobody is to be paged for it.
    """
    if schedule.ended_at is not None:
        return []
    return chronological(s for s in schedule.slots if s.critical and s.state is SlotState.OVERDUE)


def summarize(schedule: Schedule) -> dict[str, dict[SlotState, int]]:
    """Slot counts per phase (protocol order) and state (every state present, zeros kept)."""
    counts = {p.id: dict.fromkeys(SlotState, 0) for p in schedule.protocol.phases}
    for slot in schedule.slots:
        counts[slot.task.phase][slot.state] += 1
    return counts


def totals(schedule: Schedule) -> dict[SlotState, int]:
    """Slot counts per state over the whole schedule."""
    counts = dict.fromkeys(SlotState, 0)
    for slot in schedule.slots:
        counts[slot.state] += 1
    return counts
