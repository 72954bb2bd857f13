"""The small, safe condition language of rule files — data, never evaluated Python.

A condition is one of (TOML inline tables):

- comparison   ``{ signal = "temperature_c", op = ">=", value = 38.0 }``
  (ops ``> >= < <= == !=``; a missing signal never satisfies a comparison)
- rise         ``{ signal = "crs_grade", op = "rise" }`` — the signal changed with this fact
  and is now higher than before
- sustained    ``{ signal = "anc_10e9_l", op = "<", value = 0.5, for_days = 7 }`` — every
  measurement of the signal back to one at least `for_days` study days earlier (counting
  both ends) satisfies the comparison, the latest included (measurement gaps do not break
  the run; a measurement that fails it does)
- ``{ all = [ ... ] }`` and ``{ any = [ ... ] }`` of conditions.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
ORDER_OPS = frozenset({">", ">=", "<", "<="})
DAY = timedelta(days=1)


class View(Protocol):
    """What a condition reads: the patient's signals, what just changed, and the series."""

    @property
    def signals(self) -> Mapping[str, Any]: ...

    @property
    def previous(self) -> Mapping[str, Any]: ...

    def series_points(self, signal: str) -> tuple[list[datetime], list[float]] | None: ...

    def day_of(self, t: datetime) -> int: ...


@dataclass(frozen=True)
class Compare:
    """A comparison of a signal's current value with a constant; a missing signal never satisfies
    it."""

    signal: str
    op: str
    value: Any

    def signals(self) -> frozenset[str]:
        return frozenset({self.signal})

    def holds(self, view: View, changed: frozenset[str] | set[str]) -> bool:
        current = view.signals.get(self.signal)
        if current is None:
            return False
        return OPS[self.op](current, self.value)

    def describe(self) -> str:
        return f"{self.signal} {self.op} {self.value!r}"


@dataclass(frozen=True)
class Rise:
    """True when this fact changed the signal and it is now higher than before (e.g. a CRS grade
    going up)."""

    signal: str

    def signals(self) -> frozenset[str]:
        return frozenset({self.signal})

    def holds(self, view: View, changed: frozenset[str] | set[str]) -> bool:
        if self.signal not in changed:
            return False
        now, before = view.signals.get(self.signal), view.previous.get(self.signal)
        return now is not None and now > (before if before is not None else 0)

    def describe(self) -> str:
        return f"{self.signal} rose"


@dataclass(frozen=True)
class Sustained:
    """A comparison that has held on every measurement for at least `for_days` study days (e.g. ANC
    < 0.5 for 7 days)."""

    signal: str
    op: str
    value: float
    for_days: int

    def signals(self) -> frozenset[str]:
        return frozenset({self.signal})

    def holds(self, view: View, changed: frozenset[str] | set[str]) -> bool:
        points = view.series_points(self.signal)
        if not points or not points[0]:
            return False
        times, values = points
        test = OPS[self.op]
        if not test(values[-1], self.value):
            return False
        last_day = view.day_of(times[-1])
        for i in range(len(values) - 1, -1, -1):
            if not test(values[i], self.value):
                return False
            if last_day - view.day_of(times[i]) + 1 >= self.for_days:
                return True
        return False

    def run_days(self, view: View) -> int:
        """Study days covered by the current run (0 when the latest value fails)."""
        points = view.series_points(self.signal)
        if not points or not points[0]:
            return 0
        times, values = points
        test = OPS[self.op]
        first = None
        for i in range(len(values) - 1, -1, -1):
            if not test(values[i], self.value):
                break
            first = i
        if first is None:
            return 0
        return view.day_of(times[-1]) - view.day_of(times[first]) + 1

    def describe(self) -> str:
        return f"{self.signal} {self.op} {self.value!r} for {self.for_days} days"


@dataclass(frozen=True)
class AllOf:
    """True when every condition holds (`all = [...]` in a rule file)."""

    items: tuple[Condition, ...]

    def signals(self) -> frozenset[str]:
        return frozenset().union(*(c.signals() for c in self.items))

    def holds(self, view: View, changed: frozenset[str] | set[str]) -> bool:
        return all(c.holds(view, changed) for c in self.items)

    def describe(self) -> str:
        return "(" + " and ".join(c.describe() for c in self.items) + ")"


@dataclass(frozen=True)
class AnyOf:
    """True when at least one condition holds (`any = [...]` in a rule file)."""

    items: tuple[Condition, ...]

    def signals(self) -> frozenset[str]:
        return frozenset().union(*(c.signals() for c in self.items))

    def holds(self, view: View, changed: frozenset[str] | set[str]) -> bool:
        return any(c.holds(view, changed) for c in self.items)

    def describe(self) -> str:
        return "(" + " or ".join(c.describe() for c in self.items) + ")"


Condition = Compare | Rise | Sustained | AllOf | AnyOf
