"""Item-sum scales: a total that is the sum of item scores (shared by MG-ADL, QMG, MGC, MRC sum).

Private helper (leading underscore: not registered as a calculator). An instrument module keeps
its publication, its item table (the input model: one field per item, with a range `ge`/`le`
or a `Literal` set of allowed points) and its thresholds, and declares an `ItemSumScale`; this
module holds the mechanics written once:

* the items are the model's fields other than `previous_total`, in declaration order, and each
  item's allowed points are read off the model (its `Literal` set, else `ge`…`le`);
* the declared `total_max` must equal the sum of the items' maxima (checked at import);
* value = the sum of the items; the label is "<short name> <total>/<total_max>", plus the
  suffix of each `Flag` whose rule holds (e.g. MG-ADL minimal symptom expression); the scalar
  label is built by the same numpy code as the frame labels, so the two paths agree;
* the first reason lists the items that are not normal (normal = the item's best score: 0 when
  a lower total is better, the item maximum when a higher total is better), each by its name
  (`words`, which the catalogues translate);
* `previous_total`, when given, is classified by the shared rule in `_change`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from neurocart.standards._change import assess_change
from neurocart.standards._labels import by_integer
from neurocart.standards.fields import field_specs
from neurocart.standards.inputs import CalcInput, Columns
from neurocart.standards.reason import Items, Reason
from neurocart.standards.registry import Grading

PREVIOUS_TOTAL = "previous_total"


@dataclass(frozen=True)
class Flag:
    """A named condition on the total that adds a reason, a detail and a label suffix."""

    key: str
    """Key in `details` (True/False for every result)."""
    holds: Callable[[npt.NDArray[np.int64]], npt.NDArray[np.bool_]]
    """The rule on the totals, written with numpy operators (0-d or 1-d arrays alike)."""
    reason: Reason
    """Reason when it holds, given the total as `total` and `params`."""
    label_flag: str
    """Added to the label after a dash ("MG-ADL 1/24 — minimal symptom expression")."""
    params: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class ItemSumScale:
    """How an item-sum instrument totals, labels and explains its items."""

    input_model: type[CalcInput]
    short_name: str
    """In the label and in the change reason, e.g. "MG-ADL"."""
    total_name: str
    """Opens the first reason, e.g. "MG-ADL total"."""
    total_max: int
    higher_is_better: bool
    meaningful_change: int
    all_normal: str
    """Said in brackets after the total when no item is abnormal."""
    abnormal_below: bool = False
    """Head the list of abnormal items with "below <best>: " (the MRC sum's full power)."""
    show_item_max: bool = False
    """Write each abnormal item as "name points/maximum" instead of "name points"."""
    details_key: str = "items"
    flags: tuple[Flag, ...] = ()
    points: dict[str, tuple[int, ...]] = field(init=False)
    """Each item's allowed points, read off the input model."""

    def __post_init__(self) -> None:
        points: dict[str, tuple[int, ...]] = {}
        for spec in field_specs(self.input_model):
            if spec.name == PREVIOUS_TOTAL:
                continue
            if spec.choices:
                points[spec.name] = tuple(int(c) for c in spec.choices)
            elif spec.kind == "int" and spec.ge is not None and spec.le is not None:
                points[spec.name] = tuple(range(int(spec.ge), int(spec.le) + 1))
            else:
                raise TypeError(f"item {spec.name!r} needs a Literal point set or ge/le bounds")
        highest = sum(max(p) for p in points.values())
        if highest != self.total_max:
            raise ValueError(f"{self.short_name}: items sum to {highest}, not {self.total_max}")
        object.__setattr__(self, "points", points)

    @property
    def items(self) -> tuple[str, ...]:
        """The item fields, in the order the model declares them."""
        return tuple(self.points)

    def labels(self, totals: npt.NDArray[np.int64]) -> npt.NDArray[Any]:
        """Label of each total (the scalar path calls this with one total)."""
        return by_integer(totals, self._label)

    def _label(self, total: int) -> str:
        label = LABEL(scale=self.short_name, total=total, top=self.total_max)
        for flag in self.flags:
            if bool(flag.holds(np.asarray(total))):
                label = FLAGGED(label=label, flag=flag.label_flag)
        return label

    def frame(self, c: Columns) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
        """The vectorized path: validated columns → (totals, labels).

        Frame validation has already checked every cell against its item's range or point set.
        """
        totals = sum(np.asarray(c[name], dtype=np.float64) for name in self.items)
        values = np.asarray(totals).astype(np.int64)
        return values, self.labels(values)

    def grade(self, inp: CalcInput) -> Grading:
        """The scalar path: the total, the abnormal items, the flags and the change."""
        scores = {name: int(getattr(inp, name)) for name in self.items}
        total = sum(scores.values())
        abnormal = [self._item_text(name, v) for name, v in scores.items() if v != self._best(name)]
        said = {"scale": self.total_name, "total": total, "top": self.total_max}
        if not abnormal:
            reasons = [TOTAL(**said, listed=self.all_normal)]
        elif self.abnormal_below:
            best = max(max(p) for p in self.points.values())
            reasons = [TOTAL_BELOW(**said, best=best, listed=", ".join(abnormal))]
        else:
            reasons = [TOTAL(**said, listed=", ".join(abnormal))]
        details: dict[str, Any] = {self.details_key: scores}
        for flag in self.flags:
            holds = bool(flag.holds(np.asarray(total)))
            if holds:
                reasons.append(flag.reason(total=total, **flag.params))
            details[flag.key] = holds
        previous = getattr(inp, PREVIOUS_TOTAL)
        if previous is not None:
            change = assess_change(
                scale=self.short_name,
                previous=previous,
                current=total,
                threshold=self.meaningful_change,
                higher_is_better=self.higher_is_better,
            )
            reasons.append(change.reason())
            details.update(change.details())
        label = self._label(total)
        return Grading(value=total, label=label, reasons=reasons, details=details)

    def _best(self, name: str) -> int:
        return max(self.points[name]) if self.higher_is_better else min(self.points[name])

    def _item_text(self, name: str, points: int) -> str:
        text = ITEM(item=self._word(name), points=points)
        return f"{text}/{max(self.points[name])}" if self.show_item_max else text

    @staticmethod
    def _word(name: str) -> str:
        return name.replace("_", " ")

    @property
    def words(self) -> tuple[str, ...]:
        """The texts the reasons quote: the total's name, the all-normal phrase and the items'
        names (for the catalogues)."""
        flags = (flag.label_flag for flag in self.flags)
        items = (self._word(name) for name in self.items)
        return (self.total_name, self.all_normal, *flags, *items)


ITEM = Reason("{item} {points}", patterns={"points": r"\S+"}, registered=False)
"""One abnormal item: its name and points ("talking 2"; with the maximum "ptosis 2/3")."""
_NUMBERS = {"total": r"\d+", "top": r"\d+"}
LABEL = Reason("{scale} {total}/{top}", patterns=_NUMBERS)
FLAGGED = Reason("{label} — {flag}", patterns={"label": r".+ \d+/\d+"})
TOTAL = Reason(
    "{scale} {total}/{top} ({listed})", lists={"listed": Items(", ", ITEM)}, patterns=_NUMBERS
)
TOTAL_BELOW = Reason(
    "{scale} {total}/{top} (below {best}: {listed})",
    lists={"listed": Items(", ", ITEM)},
    patterns=_NUMBERS,
)
