"""Qualitative reading of a quantitative autoantibody result against its assay's cut-offs.

AChR binding antibodies (radioimmunoassay, nmol/L): Mayo Clinic Laboratories ARBI ≤ 0.02
negative; Quest Diagnostics ≤ 0.30 negative, 0.31–0.49 equivocal, ≥ 0.50 positive (test
catalogue pages). HMGCR antibodies: Mayo chemiluminescent assay < 20.0 CU negative; ELISA units
< 20 negative, 20–39 weak, 40–59 moderate, ≥ 60 strong (Mayo NMS1; University of Iowa test
3468; ARUP 2013101). `custom`: the laboratory's own negative maximum and positive minimum.

A result below the limit of detection (`below_lod`) is negative. Values of different assays are
never compared: the unit is the assay's own (nmol/L, CU, units).

The cut-offs are the laboratories' published reference values, read in their online test
catalogues in 2026 (the page versions were not recorded; a laboratory may change its
cut-offs, and the reporting laboratory's current report governs). A test catalogue has no DOI:
Mayo ARBI https://testcatalog.org/show/ARBI (Mayo Clinic Laboratories,
https://www.mayocliniclabs.com), Quest https://jdos.nicholsinstitute.com, ARUP
https://ltd.aruplab.com/Tests/Pub/2013101.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from neurocart.standards.inputs import CalcInput, Check, Columns, field
from neurocart.standards.reason import Reason
from neurocart.standards.registry import Grading, register

CITATION = (
    "Mayo Clinic Laboratories test catalogue ARBI (AChR binding) and NMS1 (HMGCR); Quest "
    "Diagnostics AChR binding antibody; ARUP 2013101 (HMGCR ELISA units); test catalogues read "
    "in 2026 (no DOI)"
)

Assay = Literal["mayo_achr_ria", "quest_achr_ria", "mayo_hmgcr_cia", "hmgcr_elisa_units", "custom"]
NAMED: dict[str, tuple[float, float, bool]] = {
    # assay: (negative at or below, positive at or above, the negative bound is exclusive)
    "mayo_achr_ria": (0.02, 0.02, False),
    "quest_achr_ria": (0.30, 0.50, False),
    "mayo_hmgcr_cia": (20.0, 20.0, True),
    "hmgcr_elisa_units": (20.0, 20.0, True),
}
UNITS = {"mayo_achr_ria": "nmol/L", "quest_achr_ria": "nmol/L", "mayo_hmgcr_cia": "CU",
         "hmgcr_elisa_units": "units"}  # fmt: skip


class AntibodyLevelInput(CalcInput):
    """The inputs of the antibody level reading: the result and the assay cut-offs it is read
    against.
    """

    assay: Assay = field(description="the assay and its cut-offs")
    value: float = field(description="the result in the assay's unit", ge=0, le=1e6)
    below_lod: bool = field(False, description="below the limit of detection: negative")
    negative_max: float | None = field(
        None, description="custom assay: negative at or below this value", ge=0, le=1e6
    )
    positive_min: float | None = field(
        None, description="custom assay: positive at or above this value", ge=0, le=1e6
    )


def _custom(c: Columns) -> npt.NDArray[np.bool_]:
    return np.asarray(c["assay"] == "custom")


_NUMBERS = ("positive", "value")
CUTOFFS = Reason("{assay}: negative {negative}, positive ≥ {positive} {unit}", numbers=_NUMBERS)
CUTOFFS_NO_UNIT = Reason("{assay}: negative {negative}, positive ≥ {positive}", numbers=_NUMBERS)
BELOW_LOD = Reason("below the limit of detection: negative")
READING = Reason("{value} {unit}: {result}", numbers=_NUMBERS)
READING_NO_UNIT = Reason("{value}: {result}", numbers=_NUMBERS)
ELISA = Reason("ELISA grade: {grade}")
NEEDS_NEGATIVE = Reason(
    "required for a custom assay (with positive_min), not allowed for a named assay"
)
NEEDS_POSITIVE = Reason(
    "required for a custom assay (with negative_max), not allowed for a named assay"
)
AT_LEAST_NEGATIVE = Reason("must be at least negative_max")
WORDS = ("custom", "equivocal", "weak", "moderate", "strong", "units")
"""The words its reasons quote (the catalogues list them: `locale/sources.toml`)."""

CHECKS = (
    Check(
        "negative_max",
        NEEDS_NEGATIVE(),
        lambda c: _custom(c) == np.isnan(c["negative_max"]),
    ),
    Check(
        "positive_min",
        NEEDS_POSITIVE(),
        lambda c: _custom(c) == np.isnan(c["positive_min"]),
    ),
    Check(
        "positive_min",
        AT_LEAST_NEGATIVE(),
        lambda c: np.asarray(c["positive_min"] < c["negative_max"]),
    ),
)


def _limits(assay: npt.NDArray[Any], c: Columns) -> tuple[Any, Any, Any]:
    neg = np.asarray(c["negative_max"], dtype=np.float64).copy()
    pos = np.asarray(c["positive_min"], dtype=np.float64).copy()
    exclusive = np.zeros(np.shape(assay), dtype=bool)
    for name, (n, p, ex) in NAMED.items():
        hit = assay == name
        neg = np.where(hit, n, neg)
        pos = np.where(hit, p, pos)
        exclusive = np.where(hit, ex, exclusive)
    return neg, pos, exclusive


def _frame(c: Columns) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    assay = np.asarray(c["assay"], dtype=object)
    neg, pos, exclusive = _limits(assay, c)
    v = np.asarray(c["value"], dtype=np.float64)
    negative = np.where(exclusive, v < neg, v <= neg) | np.asarray(c["below_lod"], dtype=bool)
    labels = np.where(negative, "negative", np.where(v >= pos, "positive", "equivocal"))
    out = labels.astype(object)
    return out, out


def _elisa_grade(value: float) -> str:
    if value < 20:
        return "negative"
    if value < 40:
        return "weak"
    if value < 60:
        return "moderate"
    return "strong"


@register(
    name="antibody_level",
    title="Autoantibody result against the assay's cut-offs",
    citation=CITATION,
    input_model=AntibodyLevelInput,
    vectorized=_frame,
    checks=CHECKS,
)
def antibody_level(inp: AntibodyLevelInput) -> Grading:
    """negative / equivocal / positive by the named assay's (or the lab's) cut-offs."""
    c = {
        "assay": np.asarray(inp.assay, dtype=object),
        "value": np.asarray(inp.value),
        "below_lod": np.asarray(inp.below_lod),
        "negative_max": np.asarray(np.nan if inp.negative_max is None else inp.negative_max),
        "positive_min": np.asarray(np.nan if inp.positive_min is None else inp.positive_min),
    }
    values, _ = _frame(c)
    result = str(values.item())
    neg, pos, exclusive = (x.item() for x in _limits(c["assay"], c))
    unit = UNITS.get(inp.assay, "")
    low = f"< {neg:g}" if exclusive else f"≤ {neg:g}"
    said = {"assay": inp.assay, "negative": low, "positive": f"{pos:g}", "unit": unit}
    reasons = [(CUTOFFS if unit else CUTOFFS_NO_UNIT)(**said)]
    if inp.below_lod:
        reasons.append(BELOW_LOD())
    else:
        reading = READING if unit else READING_NO_UNIT
        reasons.append(reading(value=f"{inp.value:g}", unit=unit, result=result))
    details: dict[str, Any] = {}
    if inp.assay == "hmgcr_elisa_units" and not inp.below_lod:
        details["grade"] = _elisa_grade(inp.value)
        reasons.append(ELISA(grade=details["grade"]))
    return Grading(value=result, label=result, reasons=reasons, details=details)
