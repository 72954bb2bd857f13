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

Direction = Literal["improvement", "worsening", "no change"]


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
        head = (
            f"previous {self.scale} {self.previous} → now {self.current}: change {self.change:+d}"
        )
        if self.counted_change != self.change:
            head += f" ({self.counted_name} {self.counted_change:+d})"
        if self.direction == "no change":
            return f"{head}: no {self.counted_name}"
        size = abs(self.counted_change)
        better = "higher" if self.higher_is_better else "lower"
        unit = "point" if size == 1 else "points"
        if self.meaningful:
            tail = (
                f"{self.direction} of {size} {unit} ≥ {self.threshold} ({better} is better): "
                f"clinically meaningful {self.direction}"
            )
            if self.direction == "worsening":
                tail += " (threshold validated for improvement, applied symmetrically)"
        else:
            tail = (
                f"{self.direction} of {size} {unit} < {self.threshold} ({better} is better): "
                "not clinically meaningful"
            )
        return f"{head}; {tail}"

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
