"""I-RODS raw sum: Inflammatory Rasch-built Overall Disability Scale (CIDP, GBS, MGUSP).

van Nes SI, Vanhoutte EK, van Doorn PA, et al. Rasch-built Overall Disability Scale (R-ODS)
for immune-mediated peripheral neuropathies. Neurology 2011;76:337–45
(doi:10.1212/WNL.0b013e318208824b).

24 activity items, each 0 = not possible, 1 = with difficulty, 2 = easy; value = the raw sum
0–48, no imputation (exactly 24 items). Trials report a 0–100 centile from the Rasch
raw-to-centile table, which is not in any public source neurocart could check: the centile is
stored as entered (observation `irods_centile`) and never computed here. A responder improves
by ≥ 4 centile points (as counted in the ADHERE trial analysis).
"""

from __future__ import annotations

from pydantic import field_validator

from neurocart.standards.inputs import CalcInput, field
from neurocart.standards.reason import Reason
from neurocart.standards.registry import Grading, register

CITATION = (
    "van Nes SI, et al. Rasch-built Overall Disability Scale (R-ODS) for immune-mediated "
    "peripheral neuropathies. Neurology 2011;76:337–45, doi:10.1212/WNL.0b013e318208824b"
)
ITEMS = 24


class IrodsRawInput(CalcInput):
    """The inputs of the I-RODS raw score: the 24 item scores."""

    items: list[int] = field(
        description="the 24 item scores in form order, each 0 (not possible), 1 (with "
        "difficulty) or 2 (easy)"
    )

    @field_validator("items")
    @classmethod
    def _items(cls, value: list[int]) -> list[int]:
        if len(value) != ITEMS:
            raise ValueError(ITEM_COUNT(n=ITEMS, got=len(value)))
        for i, v in enumerate(value):
            if v not in (0, 1, 2):
                raise ValueError(ITEM_VALUE(item=i + 1, value=v))
        return value


_NUMBERS = ("easy", "difficult", "impossible", "total", "n", "got", "item", "value")
ITEM_COUNT = Reason("expected exactly {n} item scores, got {got}", numbers=_NUMBERS)
ITEM_VALUE = Reason("item {item} is {value}: each item is 0, 1 or 2", numbers=_NUMBERS)
LABEL = Reason("raw {total}/48", numbers=_NUMBERS)
SUM = Reason(
    "{easy} easy (2), {difficult} with difficulty (1), {impossible} not possible (0): raw sum "
    "{total}/48",
    numbers=_NUMBERS,
)
CENTILE = Reason("the trial outcome is the Rasch centile (0–100): enter it as recorded")


@register(
    name="irods_raw",
    title="I-RODS raw sum (0–48)",
    citation=CITATION,
    input_model=IrodsRawInput,
)
def irods_raw(inp: IrodsRawInput) -> Grading:
    """The raw sum of the 24 items; the centile comes from the Rasch table, not from here."""
    total = sum(inp.items)
    counts = {k: inp.items.count(k) for k in (2, 1, 0)}
    return Grading(
        value=total,
        label=LABEL(total=total),
        reasons=[SUM(easy=counts[2], difficult=counts[1], impossible=counts[0], total=total)],
        warnings=[CENTILE()],
    )
