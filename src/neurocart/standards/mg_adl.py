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
verified; the 0–1 cut-off is the one used in trials (cited from memory, not from a paper).
"""

from __future__ import annotations

from typing import Any

from neurocart.standards._itemsum import Flag, ItemSumScale
from neurocart.standards.inputs import CalcInput, field
from neurocart.standards.reason import Reason
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


MSE_REASON = Reason("MG-ADL {total} ≤ {limit}: minimal symptom expression")


class MgAdlInput(CalcInput):
    """The eight MG-ADL items (0–3, patient-reported) and, optionally, the previous total to
    classify the change."""

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


SCALE = ItemSumScale(
    input_model=MgAdlInput,
    short_name="MG-ADL",
    total_name="MG-ADL total",
    total_max=TOTAL_MAX,
    higher_is_better=False,
    meaningful_change=MEANINGFUL_CHANGE,
    all_normal="all items normal",
    flags=(
        Flag(
            key="minimal_symptom_expression",
            holds=lambda total: total <= MSE_MAX,
            reason=MSE_REASON,
            params={"limit": MSE_MAX},
            label_flag="minimal symptom expression",
        ),
    ),
)
ITEMS = SCALE.items
WORDS = SCALE.words
"""The texts its reasons quote (the catalogues list them: `locale/sources.toml`)."""


@register(
    name="mg_adl",
    title="MG-ADL (myasthenia gravis activities of daily living)",
    citation=CITATION,
    input_model=MgAdlInput,
    vectorized=SCALE.frame,
)
def mg_adl(inp: MgAdlInput) -> Grading:
    """Sum of the eight items; flags minimal symptom expression and meaningful change."""
    return SCALE.grade(inp)
