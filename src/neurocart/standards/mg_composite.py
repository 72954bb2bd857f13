"""MG Composite (MGC): ten weighted items, value 0–50 (higher = worse).

Burns TM, Conaway M, Sanders DB; MG Composite and MG-QOL15 Study Group. The MG Composite: a
valid and reliable outcome measure for myasthenia gravis. Neurology 2010;74(18):1434–1440.
doi:10.1212/WNL.0b013e3181dc1b1e (PMC3462556). Construction and weighting: Burns TM et al.
Muscle Nerve 2008;38(6):1553–1562. doi:10.1002/mus.21185.

Each item is entered as its **published points** (not as a 0–3 grade); a value outside the
item's allowed set is rejected naming the field. Points verified against the published form
(UpToDate reproduction of Burns 2010):

| item (source) | normal | mild | moderate | severe |
|---|---|---|---|---|
| ptosis, upward gaze (exam): > 45 s / 11–45 s / 1–10 s / immediate | 0 | 1 | 2 | 3 |
| double vision, lateral gaze (exam): > 45 s / 11–45 s / 1–10 s / immediate | 0 | 1 | 3 | 4 |
| eye closure (exam): normal / mild (opened with effort) / moderate / severe | 0 | 0 | 1 | 2 |
| talking (history) | 0 | 2 | 4 | 6 |
| chewing (history) | 0 | 2 | 4 | 6 |
| swallowing (history): normal / rare choking / frequent, diet change / tube | 0 | 2 | 5 | 6 |
| breathing (history): normal / on exertion / at rest / ventilator | 0 | 2 | 4 | 9 |
| neck flexion or extension, weaker (exam) | 0 | 1 | 3 | 4 |
| shoulder abduction (exam) | 0 | 2 | 4 | 5 |
| hip flexion (exam) | 0 | 2 | 4 | 5 |

"Moderate" weakness for neck and limb items is roughly 50 % ± 15 % of expected strength.
Maximum 3 + 4 + 2 + 6 + 6 + 6 + 9 + 4 + 5 + 5 = 50. Eye closure has three allowed values
(0, 1, 2) because normal and mild both score 0.

`previous_total` (optional): the change is classified by the shared rule in `_change`
(≥ 3 points clinically meaningful, Burns 2010; lower is better).

Input strictness: a points field accepts only a whole number from its set (`True` or `3.0` is
rejected; the rule lives in `CalcInput`, for every calculator with points fields).
"""

from __future__ import annotations

from typing import Literal

from neurocart.standards._itemsum import ItemSumScale
from neurocart.standards.inputs import CalcInput, field
from neurocart.standards.registry import Grading, register

CITATION = (
    "Burns TM, Conaway M, Sanders DB. The MG Composite: a valid and reliable outcome measure "
    "for myasthenia gravis. Neurology 2010;74(18):1434–1440. doi:10.1212/WNL.0b013e3181dc1b1e"
)

TOTAL_MAX = 50
MEANINGFUL_CHANGE = 3

Ptosis = Literal[0, 1, 2, 3]
DoubleVision = Literal[0, 1, 3, 4]
EyeClosure = Literal[0, 1, 2]
Talking = Literal[0, 2, 4, 6]
Chewing = Literal[0, 2, 4, 6]
Swallowing = Literal[0, 2, 5, 6]
Breathing = Literal[0, 2, 4, 9]
NeckFlexion = Literal[0, 1, 3, 4]
ShoulderAbduction = Literal[0, 2, 4, 5]
HipFlexion = Literal[0, 2, 4, 5]


class MgCompositeInput(CalcInput):
    """The ten MG Composite items, each as its published points (weights differ by item), and
    optionally the previous total."""

    ptosis: Ptosis = field(
        description="ptosis on upward gaze (exam): >45 s 0, 11–45 s 1, 1–10 s 2, immediate 3"
    )
    double_vision: DoubleVision = field(
        description="double vision on lateral gaze (exam): >45 s 0, 11–45 s 1, 1–10 s 3, "
        "immediate 4"
    )
    eye_closure: EyeClosure = field(
        description="eye closure (exam): normal or mild weakness 0, moderate 1, severe 2"
    )
    talking: Talking = field(
        description="talking (history): normal 0, intermittent slurring or nasal 2, constant "
        "but understood 4, difficult to understand 6"
    )
    chewing: Chewing = field(
        description="chewing (history): normal 0, fatigue with solid food 2, with soft food 4, "
        "gastric tube 6"
    )
    swallowing: Swallowing = field(
        description="swallowing (history): normal 0, rare choking 2, frequent, diet changed 5, "
        "gastric tube 6"
    )
    breathing: Breathing = field(
        description="breathing (MG): normal 0, short of breath on exertion 2, at rest 4, "
        "ventilator dependence 9"
    )
    neck_flexion: NeckFlexion = field(
        description="neck flexion or extension, the weaker (exam): normal 0, mild 1, "
        "moderate (~50 % ± 15 %) 3, severe 4"
    )
    shoulder_abduction: ShoulderAbduction = field(
        description="shoulder abduction (exam): normal 0, mild 2, moderate 4, severe 5"
    )
    hip_flexion: HipFlexion = field(
        description="hip flexion (exam): normal 0, mild 2, moderate 4, severe 5"
    )
    previous_total: int | None = field(
        None, description="MG Composite total at the previous assessment", ge=0, le=TOTAL_MAX
    )


SCALE = ItemSumScale(
    input_model=MgCompositeInput,
    short_name="MGC",
    total_name="MG Composite total",
    total_max=TOTAL_MAX,
    higher_is_better=False,
    meaningful_change=MEANINGFUL_CHANGE,
    all_normal="all items 0",
    show_item_max=True,
)
ALLOWED: dict[str, tuple[int, ...]] = SCALE.points
"""Each item's allowed points, read off the model so the sets are written once."""
ITEMS = SCALE.items
WORDS = SCALE.words
"""The texts its reasons quote (the catalogues list them: `locale/sources.toml`)."""


@register(
    name="mg_composite",
    title="MG Composite (myasthenia gravis composite scale)",
    citation=CITATION,
    input_model=MgCompositeInput,
    vectorized=SCALE.frame,
)
def mg_composite(inp: MgCompositeInput) -> Grading:
    """Sum of the ten items' published points; classifies change from a previous total."""
    return SCALE.grade(inp)
