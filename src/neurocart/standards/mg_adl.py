"""MG-ADL: Myasthenia Gravis Activities of Daily Living profile. value 0–24 (higher = worse).

Wolfe GI, Herbelin L, Nations SP, Foster B, Bryan WW, Barohn RJ. Myasthenia gravis activities
of daily living profile. Neurology 1999;52(7):1487–1489. doi:10.1212/wnl.52.7.1487.
Clinically meaningful improvement ≥ 2 points: Muppidi S, Wolfe GI, Conaway M, Burns TM; MG
Composite and MG-QOL15 Study Group. MG-ADL: still a relevant outcome measure. Muscle Nerve
2011;44(5):727–731. doi:10.1002/mus.22140.

Eight items, each 0–3 (0 normal … 3 most severe), summed:

| item | 0 | 1 | 2 | 3 |
|---|---|---|---|---|
| talking | normal | intermittent slurring/nasal | constant, understood | hard to understand |
| chewing | normal | fatigue with solid food | fatigue with soft food | gastric tube |
| swallowing | normal | rare choking | frequent choking, diet changed | gastric tube |
| breathing | normal | short of breath on exertion | short of breath at rest | ventilator |
| brushing teeth / combing hair | normal | extra effort, no rest | needs rests | cannot do one |
| arising from chair | normal | sometimes uses arms | always uses arms | needs help |
| double vision | none | not daily | daily, not constant | constant |
| eyelid droop | none | not daily | daily, not constant | constant |

`previous_total` (optional): the change is classified by the shared rule in `_change`
(≥ 2 points clinically meaningful; lower is better). One review (Practical Neurology) quotes
±3; neurocart follows Muppidi 2011.

Minimal symptom expression (MSE): total 0 or 1. The concept (read from the MG-ADL) is
verified; the 0–1 cut-off is the one used in trials (outcomes.md §4.1 marks it from memory).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from neurocart.standards._change import assess_change
from neurocart.standards.inputs import CalcInput, Columns, field
from neurocart.standards.registry import Grading, register

CITATION = (
    "Wolfe GI et al. Myasthenia gravis activities of daily living profile. Neurology "
    "1999;52(7):1487–1489. doi:10.1212/wnl.52.7.1487; meaningful change: Muppidi S et al. "
    "Muscle Nerve 2011;44(5):727–731. doi:10.1002/mus.22140"
)

ITEM_MAX = 3
TOTAL_MAX = 24
MEANINGFUL_CHANGE = 2
MSE_MAX = 1
"""Minimal symptom expression: MG-ADL total ≤ 1."""


def _item(description: str) -> Any:
    return field(description=f"{description} (0 normal – 3 most severe)", ge=0, le=ITEM_MAX)


class MgAdlInput(CalcInput):
    talking: int = _item("talking")
    chewing: int = _item("chewing")
    swallowing: int = _item("swallowing")
    breathing: int = _item("breathing")
    brushing_teeth_or_combing_hair: int = _item("impairment brushing teeth or combing hair")
    arising_from_chair: int = _item("impairment arising from a chair")
    double_vision: int = _item("double vision")
    eyelid_droop: int = _item("eyelid droop")
    previous_total: int | None = field(
        None, description="MG-ADL total at the previous assessment", ge=0, le=TOTAL_MAX
    )


ITEMS = tuple(name for name in MgAdlInput.model_fields if name != "previous_total")


def _labels(totals: npt.NDArray[Any]) -> npt.NDArray[Any]:
    base = np.char.mod(f"MG-ADL %d/{TOTAL_MAX}", totals)
    mse = np.char.add(base, " — minimal symptom expression")
    return np.where(totals <= MSE_MAX, mse, base).astype(object)


def _frame(c: Columns) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    totals = sum(np.asarray(c[name], dtype=np.float64) for name in ITEMS)
    values = np.asarray(totals).astype(np.int64)
    return values, _labels(values)


@register(
    name="mg_adl",
    title="MG-ADL (myasthenia gravis activities of daily living)",
    citation=CITATION,
    input_model=MgAdlInput,
    vectorized=_frame,
)
def mg_adl(inp: MgAdlInput) -> Grading:
    """Sum of the eight items; flags minimal symptom expression and meaningful change."""
    scores = {name: int(getattr(inp, name)) for name in ITEMS}
    total = sum(scores.values())
    nonzero = [f"{name.replace('_', ' ')} {v}" for name, v in scores.items() if v > 0]
    reasons = [
        f"MG-ADL total {total}/{TOTAL_MAX}"
        + (f" ({', '.join(nonzero)})" if nonzero else " (all items normal)")
    ]
    mse = total <= MSE_MAX
    if mse:
        reasons.append(f"MG-ADL {total} ≤ {MSE_MAX}: minimal symptom expression")
    details: dict[str, Any] = {"items": scores, "minimal_symptom_expression": mse}
    if inp.previous_total is not None:
        change = assess_change(
            scale="MG-ADL",
            previous=inp.previous_total,
            current=total,
            threshold=MEANINGFUL_CHANGE,
            higher_is_better=False,
        )
        reasons.append(change.reason())
        details.update(change.details())
    return Grading(
        value=total,
        label=str(_labels(np.asarray([total]))[0]),
        reasons=reasons,
        details=details,
    )
