"""Clinically meaningful change between two totals of the same scale (shared by MG and CIDP).

Private helper (leading underscore: not registered as a calculator). The rule lives here once:

* the change is `current − previous` in scale points (for the adjusted INCAT, the caller
  passes the adjusted change it counts instead, and the raw change is still reported);
* a change is clinically meaningful when its size is **at least** the scale's threshold
  (a change equal to the threshold counts, as in the publications: "≥ 2", "≥ 3", ...);
* the direction comes from the sign of the counted change and from which way the scale runs:
  for MG-ADL, QMG, MG Composite and INCAT a lower total is better, for the MRC sum score a
  higher total is better.

Neurocart choice: the published thresholds were validated for *improvement* (Muppidi 2011 for
MG-ADL, Burns 2010 for the MGC, ICE trial for the adjusted INCAT, ...). Neurocart applies the
same size to a worsening and says so in the reason, so that a clinician reads a deterioration
of that size as "clinically meaningful worsening" rather than as nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from neurocart.standards.reason import Reason

Direction = Literal["improvement", "worsening", "no change"]

_NUMBERS = ("previous", "current", "change", "counted", "size", "threshold")
NO_CHANGE = Reason(
    "previous {scale} {previous} → now {current}: change {change}: no {counted_name}",
    numbers=_NUMBERS,
)
NO_CHANGE_COUNTED = Reason(
    "previous {scale} {previous} → now {current}: change {change} ({counted_name} {counted}): "
    "no {counted_name}",
    numbers=_NUMBERS,
)
MEANINGFUL_IMPROVEMENT = Reason(
    "previous {scale} {previous} → now {current}: change {change}; improvement of {size} "
    "{unit} ≥ {threshold} ({better} is better): clinically meaningful improvement",
    numbers=_NUMBERS,
)
MEANINGFUL_IMPROVEMENT_COUNTED = Reason(
    "previous {scale} {previous} → now {current}: change {change} ({counted_name} {counted}); "
    "improvement of {size} {unit} ≥ {threshold} ({better} is better): clinically meaningful "
    "improvement",
    numbers=_NUMBERS,
)
MEANINGFUL_WORSENING = Reason(
    "previous {scale} {previous} → now {current}: change {change}; worsening of {size} {unit} "
    "≥ {threshold} ({better} is better): clinically meaningful worsening (threshold validated "
    "for improvement, applied symmetrically)",
    numbers=_NUMBERS,
)
MEANINGFUL_WORSENING_COUNTED = Reason(
    "previous {scale} {previous} → now {current}: change {change} ({counted_name} {counted}); "
    "worsening of {size} {unit} ≥ {threshold} ({better} is better): clinically meaningful "
    "worsening (threshold validated for improvement, applied symmetrically)",
    numbers=_NUMBERS,
)
NOT_MEANINGFUL = Reason(
    "previous {scale} {previous} → now {current}: change {change}; {direction} of {size} "
    "{unit} < {threshold} ({better} is better): not clinically meaningful",
    numbers=_NUMBERS,
)
NOT_MEANINGFUL_COUNTED = Reason(
    "previous {scale} {previous} → now {current}: change {change} ({counted_name} {counted}); "
    "{direction} of {size} {unit} < {threshold} ({better} is better): not clinically meaningful",
    numbers=_NUMBERS,
)
WORDS = ("improvement", "worsening", "point", "points", "higher", "lower", "counted change")
"""Words the change reasons quote as parameters (translated where a face shows them)."""


@dataclass(frozen=True)
class ChangeAssessment:
    """The change from a previous total and whether it is clinically meaningful."""

    scale: str
    previous: int
    current: int
    change: int
    counted_change: int
    threshold: int
    higher_is_better: bool
    meaningful: bool
    direction: Direction
    counted_name: str = "counted change"

    def reason(self) -> str:
        """One sentence a clinician reads: from, to, the change and what it means."""
        counted = self.counted_change != self.change
        params: dict[str, object] = {
            "scale": self.scale,
            "previous": self.previous,
            "current": self.current,
            "change": f"{self.change:+d}",
            "counted_name": self.counted_name,
            "counted": f"{self.counted_change:+d}",
        }
        if self.direction == "no change":
            return (NO_CHANGE_COUNTED if counted else NO_CHANGE)(**params)
        size = abs(self.counted_change)
        params |= {
            "direction": self.direction,
            "size": size,
            "unit": "point" if size == 1 else "points",
            "threshold": self.threshold,
            "better": "higher" if self.higher_is_better else "lower",
        }
        if not self.meaningful:
            return (NOT_MEANINGFUL_COUNTED if counted else NOT_MEANINGFUL)(**params)
        if self.direction == "worsening":
            return (MEANINGFUL_WORSENING_COUNTED if counted else MEANINGFUL_WORSENING)(**params)
        return (MEANINGFUL_IMPROVEMENT_COUNTED if counted else MEANINGFUL_IMPROVEMENT)(**params)

    def details(self) -> dict[str, Any]:
        """Structured copy of the assessment for `Result.details`."""
        out: dict[str, Any] = {
            "previous_total": self.previous,
            "change": self.change,
            "meaningful": self.meaningful,
            "direction": self.direction,
            "meaningful_change_threshold": self.threshold,
        }
        if self.counted_change != self.change:
            out["counted_change"] = self.counted_change
        return out


def assess_change(
    *,
    scale: str,
    previous: int,
    current: int,
    threshold: int,
    higher_is_better: bool,
    counted_change: int | None = None,
    counted_name: str = "counted change",
) -> ChangeAssessment:
    """Classify `current − previous` (or `counted_change` when the scale adjusts it)."""
    change = current - previous
    counted = change if counted_change is None else counted_change
    if counted == 0:
        direction: Direction = "no change"
    elif (counted > 0) == higher_is_better:
        direction = "improvement"
    else:
        direction = "worsening"
    return ChangeAssessment(
        scale=scale,
        previous=previous,
        current=current,
        change=change,
        counted_change=counted,
        threshold=threshold,
        higher_is_better=higher_is_better,
        meaningful=abs(counted) >= threshold,
        direction=direction,
        counted_name=counted_name,
    )
