"""Immune effector Cell-associated Encephalopathy (ICE) score, 0–10.

Lee DW, Santomasso BD, Locke FL, et al. ASTCT consensus grading for cytokine release syndrome
and neurologic toxicity associated with immune effector cells. Biol Blood Marrow Transplant
2019;25(4):625–638. doi:10.1016/j.bbmt.2018.12.758 (the ICE score).

Items and points: orientation to year, month, city and hospital (4); naming three objects,
e.g. clock, pen, button (3); following simple commands, e.g. "show me 2 fingers" (1); writing
a standard sentence (1); attention, counting backwards from 100 by tens (1). The score is the
sum. A patient who cannot be roused to do the assessment scores 0 (ICANS: "0, patient is
unarousable and unable to perform ICE").

Choices neurocart made:

- When `unarousable` is true the item fields may be omitted (nothing could be asked); if they
  are given they must be 0 — a point scored contradicts "unarousable" and is an error naming
  the item. When the patient is arousable every item is required (an error names each missing
  one): a partly done ICE is not a score.
- Label "ICE n/10", or "ICE 0/10 (unarousable)".
- In neuroimmune patients pre-existing deficits (aphasia, optic neuritis, hand weakness from
  myelitis, myasthenic bulbar weakness, MS cognitive impairment) lower ICE items before any
  treatment; a score below 10 carries a warning to compare with the pre-infusion ICE
  (Greco R et al. 2024). The `icans` calculator's `baseline_ice_score` does that comparison.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from neurocart.standards.inputs import CalcInput, Check, Columns, field
from neurocart.standards.reason import Reason
from neurocart.standards.registry import Grading, register

CITATION = (
    "Lee DW, Santomasso BD, Locke FL, et al. ASTCT consensus grading for cytokine release "
    "syndrome and neurologic toxicity associated with immune effector cells. Biol Blood Marrow "
    "Transplant 2019;25(4):625–638. doi:10.1016/j.bbmt.2018.12.758"
)

ITEM_POINTS: dict[str, int] = {
    "orientation": 4,
    "naming": 3,
    "commands": 1,
    "writing": 1,
    "attention": 1,
}
"""Maximum points of each ICE item (they sum to 10)."""
ITEM_WORDS: dict[str, str] = {
    "orientation": "orientation (year, month, city, hospital)",
    "naming": "naming three objects",
    "commands": "following simple commands",
    "writing": "writing a standard sentence",
    "attention": "attention (counting back from 100 by tens)",
}
_NUMBERS = (
    "t", "limit", "grade", "n", "flow", "ice", "top", "baseline", "effective", "hypotension",
    "hypoxia", "points", "total",
)  # fmt: skip
"""Fields of its reasons that are always a number (see `Reason.numbers`)."""
UNAROUSABLE_REASON = Reason("patient unarousable, unable to perform ICE → score 0")
ITEM_REASON = Reason("{item}: {points}/{top}", numbers=_NUMBERS)
TOTAL_REASON = Reason("ICE score {total}/{top}", numbers=_NUMBERS)
DEFICITS_WARNING = Reason(
    "pre-existing deficits of the neurological disease (aphasia, visual loss, hand weakness, "
    "bulbar weakness, cognitive impairment) lower ICE items: compare with the patient's "
    "pre-infusion ICE"
)
MAX_SCORE = sum(ITEM_POINTS.values())
assert MAX_SCORE == 10


def _item(name: str) -> Any:
    return field(
        None,
        description=f"{ITEM_WORDS[name]}, points; required unless unarousable",
        ge=0,
        le=ITEM_POINTS[name],
    )


class IceInput(CalcInput):
    """The five ICE items as scored at the bedside, or the patient's being unarousable (score 0)."""

    orientation: int | None = _item("orientation")
    naming: int | None = _item("naming")
    commands: int | None = _item("commands")
    writing: int | None = _item("writing")
    attention: int | None = _item("attention")
    unarousable: bool = field(
        False, description="cannot be roused to perform the assessment: score 0"
    )


def _missing_check(name: str) -> Check:
    return Check(
        field=name,
        message="required unless the patient is unarousable",
        violated=lambda c: ~c["unarousable"] & np.isnan(c[name]),
    )


def _unarousable_check(name: str) -> Check:
    return Check(
        field=name,
        message="an unarousable patient cannot score points: omit the item or give 0",
        violated=lambda c: c["unarousable"] & (c[name] > 0),
    )


CHECKS = tuple(_missing_check(n) for n in ITEM_POINTS) + tuple(
    _unarousable_check(n) for n in ITEM_POINTS
)

_LABEL_ARRAY = np.asarray([f"ICE {s}/{MAX_SCORE}" for s in range(MAX_SCORE + 1)], dtype=object)
UNAROUSABLE_LABEL = f"ICE 0/{MAX_SCORE} (unarousable)"


def _ice_frame(c: Columns) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    unarousable = c["unarousable"]
    total = np.zeros(len(unarousable), dtype=np.int64)
    for name in ITEM_POINTS:
        total += np.nan_to_num(c[name], nan=0.0).astype(np.int64)
    total[unarousable] = 0
    labels = np.where(unarousable, UNAROUSABLE_LABEL, _LABEL_ARRAY[total])
    return total, labels


@register(
    name="ice",
    title="ICE score (immune effector cell-associated encephalopathy)",
    citation=CITATION,
    input_model=IceInput,
    vectorized=_ice_frame,
    checks=CHECKS,
)
def ice(inp: IceInput) -> Grading:
    """Sum of the five ICE items, 0–10; 0 when the patient is unarousable."""
    items = {name: getattr(inp, name) for name in ITEM_POINTS}
    if inp.unarousable:
        return Grading(
            0,
            UNAROUSABLE_LABEL,
            [UNAROUSABLE_REASON()],
            [],
            {"unarousable": True, "items": items},
        )
    reasons: list[str] = []
    total = 0
    for name, top in ITEM_POINTS.items():
        points = int(items[name])  # present: the checks require every item when arousable
        total += points
        reasons.append(ITEM_REASON(item=ITEM_WORDS[name], points=points, top=top))
    reasons.append(TOTAL_REASON(total=total, top=MAX_SCORE))
    warnings = []
    if total < MAX_SCORE:
        warnings.append(DEFICITS_WARNING())
    return Grading(
        total, str(_LABEL_ARRAY[total]), reasons, warnings, {"unarousable": False, "items": items}
    )
