"""QMG: Quantitative Myasthenia Gravis score. value 0–39 (higher = worse).

Barohn RJ, McIntire D, Herbelin L, Wolfe GI, Nations S, Bryan WW. Reliability testing of the
quantitative myasthenia gravis score. Ann N Y Acad Sci 1998;841:769–772.
doi:10.1111/j.1749-6632.1998.tb11015.x (citation from memory; the doi was not checked against
a stored copy). MGNet revised the administration instructions (QMG-R: Guptill JT et al.
Neurology 2023;101(10):442–451, doi:10.1212/WNL.0000000000207278); the item scoring 0–3 and
the total 0–39 are unchanged.

Thirteen items, each graded 0 (none) – 3 (severe) by the examiner from timed or measured
tests, summed: double vision on lateral gaze, ptosis on upward gaze, facial muscles, swallowing
4 oz of water, speech after counting 1–50, right arm and left arm held out at 90°, forced
vital capacity (% predicted), right grip and left grip (kg, sex-specific cut-offs), head lift
at 45° supine, right leg and left leg held at 45° supine. The examiner converts the
measurement to the 0–3 grade (cut-offs on the published QMG form); this calculator takes the grades.

`previous_total` (optional): the change is classified by the shared rule in `_change`
(≥ 3 points clinically meaningful, the responder threshold of the REGAIN/ADAPT trials; lower
is better). The 3-point figure is cited from memory.
"""

from __future__ import annotations

from typing import Any

from neurocart.standards._itemsum import ItemSumScale
from neurocart.standards.inputs import CalcInput, field
from neurocart.standards.registry import Grading, register

CITATION = (
    "Barohn RJ et al. Reliability testing of the quantitative myasthenia gravis score. "
    "Ann N Y Acad Sci 1998;841:769–772. doi:10.1111/j.1749-6632.1998.tb11015.x"
)

ITEM_MAX = 3
TOTAL_MAX = 39
MEANINGFUL_CHANGE = 3


def _item(description: str) -> Any:
    return field(description=f"{description} (0 none – 3 severe)", ge=0, le=ITEM_MAX)


class QmgInput(CalcInput):
    """The thirteen QMG items as graded by the examiner (0–3) and, optionally, the previous
    total."""

    double_vision: int = _item("double vision on lateral gaze, time to onset")
    ptosis: int = _item("ptosis on upward gaze, time to onset")
    facial_muscles: int = _item("facial muscles, lid closure")
    swallowing: int = _item("swallowing 4 oz (120 mL) of water")
    speech: int = _item("speech after counting aloud 1 to 50, onset of dysarthria")
    right_arm: int = _item("right arm held outstretched at 90° sitting")
    left_arm: int = _item("left arm held outstretched at 90° sitting")
    vital_capacity: int = _item("forced vital capacity, % predicted")
    right_grip: int = _item("right hand grip strength")
    left_grip: int = _item("left hand grip strength")
    head_lift: int = _item("head lifted at 45° supine")
    right_leg: int = _item("right leg held outstretched at 45° supine")
    left_leg: int = _item("left leg held outstretched at 45° supine")
    previous_total: int | None = field(
        None, description="QMG total at the previous assessment", ge=0, le=TOTAL_MAX
    )


SCALE = ItemSumScale(
    input_model=QmgInput,
    short_name="QMG",
    total_name="QMG total",
    total_max=TOTAL_MAX,
    higher_is_better=False,
    meaningful_change=MEANINGFUL_CHANGE,
    all_normal="all items 0",
)
ITEMS = SCALE.items
WORDS = SCALE.words
"""The texts its reasons quote (the catalogues list them: `locale/sources.toml`)."""


@register(
    name="qmg",
    title="QMG (quantitative myasthenia gravis score)",
    citation=CITATION,
    input_model=QmgInput,
    vectorized=SCALE.frame,
)
def qmg(inp: QmgInput) -> Grading:
    """Sum of the thirteen examiner-graded items; classifies change from a previous total."""
    return SCALE.grade(inp)
