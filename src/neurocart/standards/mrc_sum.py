"""MRC sum score: 12 muscle groups × MRC grade 0–5, value 0–60 (higher = stronger = better).

Kleyweg RP, van der Meché FGA, Schmitz PIM. Interobserver agreement in the assessment of
muscle strength and functional abilities in Guillain-Barré syndrome. Muscle Nerve
1991;14(11):1103–1109. doi:10.1002/mus.880141111 (doi from memory). Used in CIDP trials
beside the INCAT scales.

Six muscle groups on each side — shoulder abduction, elbow flexion, wrist extension, hip
flexion, knee extension, ankle dorsiflexion — each graded with the Medical Research Council
scale (0 no contraction; 1 flicker; 2 active movement with gravity eliminated; 3 against
gravity; 4 against gravity and some resistance; 5 normal power), summed to 0 (paralysis) – 60
(normal). Half grades (4+, 4−) are not part of the sum score and are not accepted.

`previous_total` (optional): the change is classified by the shared rule in `_change`:
a change of ≥ 2 points is clinically meaningful (Practical Neurology table);
here a **higher** total is better, so a rise is an improvement.
"""

from __future__ import annotations

from typing import Any

from neurocart.standards._itemsum import ItemSumScale
from neurocart.standards.inputs import CalcInput, field
from neurocart.standards.registry import Grading, register

CITATION = (
    "Kleyweg RP, van der Meché FGA, Schmitz PIM. Interobserver agreement in the assessment of "
    "muscle strength and functional abilities in Guillain-Barré syndrome. Muscle Nerve "
    "1991;14(11):1103–1109. doi:10.1002/mus.880141111"
)

GRADE_MAX = 5
TOTAL_MAX = 60
MEANINGFUL_CHANGE = 2


def _grade(muscle: str, side: str) -> Any:
    return field(
        description=f"{muscle}, {side}: MRC grade 0 no contraction – 5 normal power",
        ge=0,
        le=GRADE_MAX,
    )


class MrcSumInput(CalcInput):
    """The MRC grades (0–5) of six muscle groups on each side and, optionally, the previous
    total."""

    shoulder_abduction_left: int = _grade("shoulder abduction", "left")
    shoulder_abduction_right: int = _grade("shoulder abduction", "right")
    elbow_flexion_left: int = _grade("elbow flexion", "left")
    elbow_flexion_right: int = _grade("elbow flexion", "right")
    wrist_extension_left: int = _grade("wrist extension", "left")
    wrist_extension_right: int = _grade("wrist extension", "right")
    hip_flexion_left: int = _grade("hip flexion", "left")
    hip_flexion_right: int = _grade("hip flexion", "right")
    knee_extension_left: int = _grade("knee extension", "left")
    knee_extension_right: int = _grade("knee extension", "right")
    ankle_dorsiflexion_left: int = _grade("ankle dorsiflexion", "left")
    ankle_dorsiflexion_right: int = _grade("ankle dorsiflexion", "right")
    previous_total: int | None = field(
        None, description="MRC sum score at the previous assessment", ge=0, le=TOTAL_MAX
    )


SCALE = ItemSumScale(
    input_model=MrcSumInput,
    short_name="MRC sum",
    total_name="MRC sum score",
    total_max=TOTAL_MAX,
    higher_is_better=True,
    meaningful_change=MEANINGFUL_CHANGE,
    all_normal="full power in all 12 groups",
    abnormal_below=True,
    details_key="grades",
)
ITEMS = SCALE.items
WORDS = (SCALE.short_name, *SCALE.words)
"""The texts its reasons quote (the catalogues list them: `locale/sources.toml`)."""


@register(
    name="mrc_sum",
    title="MRC sum score (12 muscle groups, 0–60)",
    citation=CITATION,
    input_model=MrcSumInput,
    vectorized=SCALE.frame,
)
def mrc_sum(inp: MrcSumInput) -> Grading:
    """Sum of the twelve MRC grades; classifies change from a previous total (higher = better)."""
    return SCALE.grade(inp)
