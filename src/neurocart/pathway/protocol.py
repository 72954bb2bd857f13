"""A care-pathway protocol: the TOML file's schema, and what its timing keys mean.

A protocol names its anchors (enrolment, apheresis, ld_start, infusion), its phases and its
tasks. A task sits on one anchor and expands into *slots*, each with a nominal time (offset
from the anchor) and a window around it. The rules below are the single definition of the
file's timing vocabulary; the engine (`schedule.py`) only uses the expanded offsets.

Timing keys of a task (exactly one form):

- ``day = 3`` and/or ``hour = -1`` — one slot at that offset (day and hour add up).
- ``days = [0, 1, 3]``, ``hours = [1, 2, 3, 4]``, ``months = [2, 3, 6]`` — one slot per item.
- ``repeat = {every_hours = 4, from_day = 0, to_day = 14}`` — a slot every step from the start
  of ``from`` up to the *end* of ``to``: a range names whole periods, both included, so it
  covers ``[from, to + 1 unit)``. Every 4 h over days 0–14 is 15 × 6 = 90 slots (the last at
  day 14, 20:00); every 12 h is 30; daily is 15. Steps: ``every_hours`` (with a day or an hour
  range), ``every_days`` (day range), ``every_months`` (month range).

Months: a month is 30.4375 days (365.25 / 12, the mean Gregorian month) and month ``m`` falls
on whole day ``round_half_up(m × 30.4375)`` (month 6 → day 183, month 12 → day 365, year 15 →
day 5479). Calendar months were rejected: they would put "month 6" on a different study day
for each patient (181–184) and make cohort schedules incomparable; visit windows of ±2 weeks
absorb the difference.

Windows: ``window = {before_days = 0, after_hours = 4}``; each side in days or hours, never
negative. A slot's window is ``[nominal − before, nominal + after]`` with *both* ends
inclusive: a fact exactly at either edge completes the slot.
"""

from __future__ import annotations

import math
from datetime import timedelta
from functools import cached_property
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MONTH_DAYS = 30.4375
"""Length of a protocol month in days (365.25 / 12)."""

MAX_SLOTS_PER_TASK = 5000
"""A repetition that expands beyond this is a typo (e.g. every 4 h for 15 years)."""

STANDARD_ANCHORS = ("enrolment", "apheresis", "ld_start", "infusion")
"""The anchors a treatment course records; protocols may declare a subset."""

STUDY_DAY_ANCHOR = "infusion"
"""Study day 0 is the day of infusion; the day before is -1."""

DISCIPLINES = (
    "neurology",
    "hematology",
    "icu",
    "imaging",
    "immunology",
    "nursing",
    "data_manager",
)
Discipline = Literal[
    "neurology", "hematology", "icu", "imaging", "immunology", "nursing", "data_manager"
]

IDENT = r"^[a-z][a-z0-9_]*$"
"""Ids of protocols' anchors, phases, tasks and condition attributes: snake_case."""

CODE = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$"
"""Observation codes (LOINC '8310-5' or 'local:...'), instruments, event types ('a:b')."""

Ident = Annotated[str, Field(pattern=IDENT, max_length=64)]
ProtocolId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.\-]*$", max_length=64)]
Code = Annotated[str, Field(pattern=CODE, max_length=80)]
Hours = Annotated[float, Field(allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
PositiveInt = Annotated[int, Field(gt=0)]
ConditionValue = str | bool | int


SLOTS = "expands to {count} slots (more than {limit})"
DAY_OR_MONTH = "give day or month, not both"
DAYS_OR_HOURS = "give {side}_days or {side}_hours, not both"
ONE_STEP = "give exactly one of every_hours, every_days, every_months"
ONE_RANGE = "give one range: from_day/to_day, from_hour/to_hour or from_month/to_month"
BOTH_BOUNDS = "give both from_{unit} and to_{unit}"
BOUNDS_REVERSED = "to_{unit} ({hi}) is before from_{unit} ({lo})"
STEP_RANGE = "{step} cannot run over a {unit} range"
ONE_MINUTE = "every_hours must be at least one minute (1/60)"
NAME_SOMETHING = "name at least one observation, assessment or event"
CODE_TWICE = "a code is listed twice"
NO_VALUES = "condition {key} lists no values"
ONE_TIMING = "give exactly one timing: day/hour, days, hours, months or repeat"
ONE_TIMING_GOT = "give exactly one timing: day/hour, days, hours, months or repeat (got {given})"
SAME_TWICE = "{key} lists the same value twice"
MESSAGES = (
    SLOTS, DAY_OR_MONTH, DAYS_OR_HOURS, ONE_STEP, ONE_RANGE, BOTH_BOUNDS, BOUNDS_REVERSED,
    STEP_RANGE, ONE_MINUTE, NAME_SOMETHING, CODE_TWICE, NO_VALUES, ONE_TIMING, ONE_TIMING_GOT,
    SAME_TWICE,
)  # fmt: skip
"""The checks of a protocol file's tables as message keys with named fields (listed by
`neurocart.pathway.ProtocolError`, said in the reader's language by
`neurocart.i18n.error_text` with those of `neurocart.pathway.loader.MESSAGES`): the keys of
the file and the values given kept."""


class _Model(BaseModel):
    # defer_build: the validators are built when the first protocol file is read (~25 ms),
    # not when the app is imported; no route takes or returns these models.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


def _check_count(count: int) -> None:
    if count > MAX_SLOTS_PER_TASK:
        raise ValueError(SLOTS.format(count=count, limit=MAX_SLOTS_PER_TASK))


def month_to_days(month: float) -> int:
    """The whole study day on which protocol month `month` falls (see module docstring)."""
    return math.floor(month * MONTH_DAYS + 0.5)


class Metadata(_Model):
    """Who wrote the protocol and from which sources."""

    id: ProtocolId
    title: str = Field(min_length=1)
    version: str = Field(min_length=1)
    description: str = ""
    sources: list[str] = Field(default_factory=list)


class Bound(_Model):
    """A point relative to an anchor, in days or months (for phase limits)."""

    anchor: Ident
    day: int | None = None
    month: int | None = None

    @model_validator(mode="after")
    def _one_unit(self) -> Bound:
        if self.day is not None and self.month is not None:
            raise ValueError(DAY_OR_MONTH)
        return self

    @property
    def offset_days(self) -> int:
        return month_to_days(self.month) if self.month is not None else (self.day or 0)

    def __str__(self) -> str:
        if self.month is not None:
            return f"{self.anchor} + month {self.month}"
        day = self.day or 0
        return self.anchor if day == 0 else f"{self.anchor} {day:+d} d"


class Phase(_Model):
    """A stretch of the pathway; tasks name the phase they belong to (phases may overlap)."""

    id: Ident
    title: str = Field(min_length=1)
    description: str = ""
    start: Bound
    end: Bound | None = None


class Window(_Model):
    """How long before and after its nominal time a slot may be completed."""

    before_days: NonNegative | None = None
    before_hours: NonNegative | None = None
    after_days: NonNegative | None = None
    after_hours: NonNegative | None = None

    @model_validator(mode="after")
    def _one_unit_per_side(self) -> Window:
        for side in ("before", "after"):
            days, hours = getattr(self, f"{side}_days"), getattr(self, f"{side}_hours")
            if days is not None and hours is not None:
                raise ValueError(DAYS_OR_HOURS.format(side=side))
        return self

    @property
    def before(self) -> timedelta:
        return timedelta(days=self.before_days or 0, hours=self.before_hours or 0)

    @property
    def after(self) -> timedelta:
        return timedelta(days=self.after_days or 0, hours=self.after_hours or 0)

    def __str__(self) -> str:
        def side(days: float | None, hours: float | None) -> str:
            if hours is not None:
                return f"{hours:g} h"
            return f"{days or 0:g} d"

        return (
            f"-{side(self.before_days, self.before_hours)} / "
            f"+{side(self.after_days, self.after_hours)}"
        )


class Repeat(_Model):
    """A regular series of slots over an inclusive range of whole periods."""

    every_hours: Positive | None = None
    every_days: PositiveInt | None = None
    every_months: PositiveInt | None = None
    from_hour: int | None = None
    to_hour: int | None = None
    from_day: int | None = None
    to_day: int | None = None
    from_month: int | None = None
    to_month: int | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Repeat:
        steps = [k for k in ("every_hours", "every_days", "every_months") if getattr(self, k)]
        if len(steps) != 1:
            raise ValueError(ONE_STEP)
        ranges = [
            u
            for u in ("hour", "day", "month")
            if getattr(self, f"from_{u}") is not None or getattr(self, f"to_{u}") is not None
        ]
        if len(ranges) != 1:
            raise ValueError(ONE_RANGE)
        unit = ranges[0]
        lo, hi = getattr(self, f"from_{unit}"), getattr(self, f"to_{unit}")
        if lo is None or hi is None:
            raise ValueError(BOTH_BOUNDS.format(unit=unit))
        if hi < lo:
            raise ValueError(BOUNDS_REVERSED.format(unit=unit, hi=hi, lo=lo))
        allowed = {"every_hours": {"hour", "day"}, "every_days": {"day"}, "every_months": {"month"}}
        if unit not in allowed[steps[0]]:
            raise ValueError(STEP_RANGE.format(step=steps[0], unit=unit))
        self.offsets()  # raises when the series is absurdly long
        return self

    def offsets(self) -> list[timedelta]:
        """Nominal offsets from the anchor: from the start of `from` to the end of `to`."""
        if self.every_months:
            lo, hi = self.from_month or 0, self.to_month or 0
            steps = range(lo, hi + 1, self.every_months)
            _check_count(len(steps))
            return [timedelta(days=month_to_days(m)) for m in steps]
        if self.every_days:
            lo, hi = self.from_day or 0, self.to_day or 0
            steps = range(lo, hi + 1, self.every_days)
            _check_count(len(steps))
            return [timedelta(days=d) for d in steps]
        # every_hours: integer microseconds keep 0.25 h steps exact.
        hour_us = 3_600_000_000
        if self.from_day is not None:
            start, stop = self.from_day * 24 * hour_us, ((self.to_day or 0) + 1) * 24 * hour_us
        else:
            start, stop = (self.from_hour or 0) * hour_us, ((self.to_hour or 0) + 1) * hour_us
        step = round((self.every_hours or 0) * hour_us)
        if step < hour_us // 60:
            raise ValueError(ONE_MINUTE)
        count = -(-(stop - start) // step)
        _check_count(count)
        return [timedelta(microseconds=start + i * step) for i in range(count)]

    def __str__(self) -> str:
        if self.every_hours:
            step = f"every {self.every_hours:g} h"
        elif self.every_days:
            step = "daily" if self.every_days == 1 else f"every {self.every_days} d"
        else:
            step = f"every {self.every_months} mo"
        for unit in ("day", "hour", "month"):
            lo = getattr(self, f"from_{unit}")
            if lo is not None:
                return f"{step}, {unit}s {lo}–{getattr(self, f'to_{unit}')}"
        return step  # pragma: no cover - the validator guarantees a range


class CompletedBy(_Model):
    """Which recorded facts complete a slot: any one of them, or one of each (`require`)."""

    observations: list[Code] = Field(default_factory=list)
    assessments: list[Code] = Field(default_factory=list)
    events: list[Code] = Field(default_factory=list)
    require: Literal["any", "all"] = "any"

    @model_validator(mode="after")
    def _something(self) -> CompletedBy:
        if not (self.observations or self.assessments or self.events):
            raise ValueError(NAME_SOMETHING)
        keys = self.keys
        if len(set(keys)) != len(keys):
            raise ValueError(CODE_TWICE)
        return self

    @cached_property
    def keys(self) -> list[tuple[str, str]]:
        """(fact kind, code) pairs, in file order."""
        return (
            [("observation", c) for c in self.observations]
            + [("assessment", c) for c in self.assessments]
            + [("event", c) for c in self.events]
        )

    def __str__(self) -> str:
        parts = [*self.observations, *self.assessments, *(f"event {e}" for e in self.events)]
        joiner = " + " if self.require == "all" else " | "
        return joiner.join(parts)


class Task(_Model):
    """Something to do for the patient, once or on a repetition, by one discipline."""

    id: Ident
    title: str = Field(min_length=1)
    phase: Ident
    discipline: Discipline
    anchor: Ident
    day: int | None = None
    hour: Hours | None = None
    days: list[int] | None = Field(default=None, min_length=1)
    hours: list[Hours] | None = Field(default=None, min_length=1)
    months: list[Annotated[int, Field(ge=0)]] | None = Field(default=None, min_length=1)
    repeat: Repeat | None = None
    window: Window
    critical: bool = False
    condition: dict[Ident, list[ConditionValue]] = Field(default_factory=dict)
    completed_by: CompletedBy
    note: str = ""

    @field_validator("condition", mode="before")
    @classmethod
    def _scalar_condition(cls, value: object) -> object:
        """`{anti_hbc_positive = true}` is shorthand for `{anti_hbc_positive = [true]}`."""
        if isinstance(value, dict):
            return {k: v if isinstance(v, list) else [v] for k, v in value.items()}
        return value

    @field_validator("condition")
    @classmethod
    def _non_empty(cls, value: dict[str, list[ConditionValue]]) -> dict[str, list[ConditionValue]]:
        for key, allowed in value.items():
            if not allowed:
                raise ValueError(NO_VALUES.format(key=repr(key)))
        return value

    @model_validator(mode="after")
    def _one_timing(self) -> Task:
        forms = [k for k in ("days", "hours", "months", "repeat") if getattr(self, k) is not None]
        single = self.day is not None or self.hour is not None
        if len(forms) + single != 1:
            given = forms + (["day/hour"] if single else [])
            raise ValueError(ONE_TIMING_GOT.format(given=", ".join(given)) if given else ONE_TIMING)
        for key in ("days", "hours", "months"):
            items = getattr(self, key)
            if items is not None and len(set(items)) != len(items):
                raise ValueError(SAME_TWICE.format(key=key))
        return self

    @cached_property
    def offsets(self) -> tuple[timedelta, ...]:
        """Nominal offsets of the slots from the anchor, ascending."""
        if self.repeat is not None:
            found = self.repeat.offsets()
        elif self.days is not None:
            found = [timedelta(days=d) for d in self.days]
        elif self.hours is not None:
            found = [timedelta(hours=h) for h in self.hours]
        elif self.months is not None:
            found = [timedelta(days=month_to_days(m)) for m in self.months]
        else:
            found = [timedelta(days=self.day or 0, hours=self.hour or 0)]
        return tuple(sorted(found))

    @cached_property
    def whole_days(self) -> tuple[int, ...]:
        """The day (floor) of each slot relative to the anchor: study days for infusion."""
        return tuple(o // timedelta(days=1) for o in self.offsets)

    @cached_property
    def window_bounds(self) -> tuple[tuple[timedelta, ...], tuple[timedelta, ...]]:
        """Window starts and ends as offsets from the anchor; both ascending (equal widths)."""
        before, after = self.window.before, self.window.after
        return tuple(o - before for o in self.offsets), tuple(o + after for o in self.offsets)

    @property
    def timing(self) -> str:
        """The timing in words, for tables."""
        if self.repeat is not None:
            return str(self.repeat)
        if self.days is not None:
            return "days " + ", ".join(map(str, self.days))
        if self.hours is not None:
            return "hours " + ", ".join(f"{h:g}" for h in self.hours)
        if self.months is not None:
            return "months " + ", ".join(map(str, self.months))
        parts = []
        if self.day is not None:
            parts.append(f"day {self.day}")
        if self.hour is not None:
            parts.append(f"hour {self.hour:g}")
        return " ".join(parts)


class Protocol(_Model):
    """A whole protocol file. Load it with `loader.parse_protocol`, which also checks references."""

    protocol: Metadata
    anchors: dict[Ident, str] = Field(min_length=1)
    phases: list[Phase] = Field(min_length=1)
    tasks: list[Task] = Field(min_length=1)

    @property
    def id(self) -> str:
        return self.protocol.id

    @property
    def title(self) -> str:
        return self.protocol.title

    @cached_property
    def task_by_id(self) -> dict[str, Task]:
        return {t.id: t for t in self.tasks}

    @cached_property
    def phase_by_id(self) -> dict[str, Phase]:
        return {p.id: p for p in self.phases}
