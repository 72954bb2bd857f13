"""CTCAE v5.0 grade of a laboratory decrease (blood counts and hemoglobin).

National Cancer Institute. Common Terminology Criteria for Adverse Events (CTCAE) v5.0.
U.S. Department of Health and Human Services, 27 November 2017.
This publication has no DOI; the NCI's Cancer Therapy Evaluation Program publishes it at
https://ctep.cancer.gov/protocoldevelopment/electronic_applications/ctc.htm.

| term (unit)                          | grade 1      | grade 2     | grade 3     | grade 4 |
|--------------------------------------|--------------|-------------|-------------|---------|
| neutrophil count decreased (×10⁹/L)  | < LLN – 1.5  | < 1.5 – 1.0 | < 1.0 – 0.5 | < 0.5   |
| platelet count decreased (×10⁹/L)    | < LLN – 75   | < 75 – 50   | < 50 – 25   | < 25    |
| lymphocyte count decreased (×10⁹/L)  | < LLN – 0.8  | < 0.8 – 0.5 | < 0.5 – 0.2 | < 0.2   |
| white blood cell decreased (×10⁹/L)  | < LLN – 3.0  | < 3.0 – 2.0 | < 2.0 – 1.0 | < 1.0   |
| anemia (hemoglobin, g/L)             | < LLN – 100  | < 100 – 80  | < 80 (a)    | (b)     |

(a) "< 8.0 g/dL; transfusion indicated". (b) "Life-threatening consequences; urgent
intervention indicated": not decidable from the value.

Reading of the intervals: "< 1.5 – 1.0" means value < 1.5 and ≥ 1.0 (half-open, the upper
edge belongs to the milder grade). A value at or above the LLN is grade 0.

Choices neurocart made where CTCAE is silent:

- Anemia is graded 0–3 from the hemoglobin value. Grade 4 is a clinical judgement
  (life-threatening consequences, urgent intervention) that a number cannot decide; a grade 3
  result says so in `warnings`. Grade 5 (death) is outside a laboratory calculator.
- `lln` is the reporting laboratory's lower limit of normal. When it is omitted the defaults
  below are used (neutrophils 1.8, platelets 150, lymphocytes 1.0, white cells 4.0 ×10⁹/L,
  hemoglobin 120 g/L) and `reasons` says the default was used.
- The LLN only moves the boundary between grade 0 and grade 1; the grade 2–4 cut-offs are
  the fixed numbers of the table. When a laboratory's LLN lies at or below the grade-2
  cut-off (e.g. a neutrophil LLN of 1.4 ×10⁹/L, as in populations with Duffy-null
  neutropenia) the grade-1 interval is empty: a value below the LLN is graded 2 or worse by
  the table, and a value between the LLN and the grade-2 cut-off (1.4 ≤ ANC < 1.5) is
  grade 0, because it lies inside that laboratory's normal range. Both cases carry a warning
  so that a clinician can review them.
- Plausibility: counts and hemoglobin must be non-negative and below a per-term maximum;
  a hemoglobin below 20 g/L or an anemia LLN below 50 g/L is rejected as most likely entered
  in g/dL. The LLN must be positive and plausible for the term (e.g. a platelet LLN given
  per µL, 150000, is rejected).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from neurocart.standards._labels import by_integer
from neurocart.standards.frame import lookup
from neurocart.standards.inputs import CalcInput, Check, Columns, field
from neurocart.standards.reason import Reason
from neurocart.standards.registry import Grading, register

CITATION = (
    "National Cancer Institute. Common Terminology Criteria for Adverse Events (CTCAE) "
    "v5.0. U.S. Department of Health and Human Services, 27 November 2017"
)

Term = Literal[
    "neutrophil_count_decreased",
    "platelet_count_decreased",
    "lymphocyte_count_decreased",
    "white_blood_cell_decreased",
    "anemia",
]


@dataclass(frozen=True)
class TermRule:
    """One row of the CTCAE table plus neurocart's plausibility limits for it."""

    name: str
    analyte: str
    unit: str
    default_lln: float
    grade2_below: float
    grade3_below: float
    grade4_below: float | None  # None: grade 4 is not decidable from the value (anemia)
    value_max: float
    value_min: float  # below this the value is implausible (hemoglobin in g/dL)
    lln_min: float
    lln_max: float


RULES: dict[str, TermRule] = {
    "neutrophil_count_decreased": TermRule(
        "neutrophil count decreased", "neutrophils", "×10⁹/L", 1.8, 1.5, 1.0, 0.5,
        value_max=200.0, value_min=0.0, lln_min=0.1, lln_max=10.0,
    ),
    "platelet_count_decreased": TermRule(
        "platelet count decreased", "platelets", "×10⁹/L", 150.0, 75.0, 50.0, 25.0,
        value_max=5000.0, value_min=0.0, lln_min=10.0, lln_max=500.0,
    ),
    "lymphocyte_count_decreased": TermRule(
        "lymphocyte count decreased", "lymphocytes", "×10⁹/L", 1.0, 0.8, 0.5, 0.2,
        value_max=1000.0, value_min=0.0, lln_min=0.1, lln_max=10.0,
    ),
    "white_blood_cell_decreased": TermRule(
        "white blood cell decreased", "white blood cells", "×10⁹/L", 4.0, 3.0, 2.0, 1.0,
        value_max=1000.0, value_min=0.0, lln_min=0.5, lln_max=20.0,
    ),
    "anemia": TermRule(
        "anemia", "hemoglobin", "g/L", 120.0, 100.0, 80.0, None,
        value_max=250.0, value_min=20.0, lln_min=50.0, lln_max=200.0,
    ),
}  # fmt: skip
"""The CTCAE v5.0 table: the single place where the cut-offs live."""


class CtcaeLabInput(CalcInput):
    """One laboratory value with its CTCAE term and, optionally, the reporting laboratory's lower
    limit of normal."""

    term: Term = field(
        description="CTCAE v5.0 term: neutrophil_count_decreased, platelet_count_decreased, "
        "lymphocyte_count_decreased, white_blood_cell_decreased or anemia"
    )
    value: float = field(
        description="measured value: ×10⁹/L for the counts, g/L for hemoglobin (anemia)",
        unit="×10⁹/L or g/L",
        ge=0,
        le=5000,
    )
    lln: float | None = field(
        None,
        description="the laboratory's lower limit of normal in the same unit; default per term: "
        "neutrophils 1.8, platelets 150, lymphocytes 1.0, white cells 4.0 ×10⁹/L, "
        "hemoglobin 120 g/L",
        unit="×10⁹/L or g/L",
        gt=0,
        le=500,
    )


def _per_term(c: Columns, attribute: str) -> npt.NDArray[np.float64]:
    """The rule's `attribute` for each row's term (NaN where the rule has none).

    On a frame, one indexing operation over the term codes; on the single input the monitor
    grades for each new count, one dictionary lookup.
    """
    term = c["term"]
    table = _by_term(attribute)
    if np.ndim(term) == 0:
        return np.asarray(table.get(np.asarray(term).item(), np.nan), dtype=np.float64)
    return np.asarray(lookup(term, table, np.nan), dtype=np.float64)


@cache
def _by_term(attribute: str) -> dict[str, float]:
    return {name: _nan_if_none(getattr(rule, attribute)) for name, rule in RULES.items()}


def _nan_if_none(x: float | None) -> float:
    return np.nan if x is None else x


def _effective_lln(c: Columns) -> npt.NDArray[np.float64]:
    lln = np.asarray(c["lln"], dtype=np.float64)
    return np.asarray(np.where(np.isnan(lln), _per_term(c, "default_lln"), lln))


def _grades(c: Columns) -> npt.NDArray[np.int64]:
    value = np.asarray(c["value"], dtype=np.float64)
    lln = _effective_lln(c)
    g2 = _per_term(c, "grade2_below")
    g3 = _per_term(c, "grade3_below")
    g4 = _per_term(c, "grade4_below")
    with np.errstate(invalid="ignore"):
        grade = np.where(
            value >= lln,
            0,
            np.where(
                value < g4,  # NaN for anemia: never true
                4,
                np.where(value < g3, 3, np.where(value < g2, 2, 1)),
            ),
        )
    return np.asarray(grade, dtype=np.int64)


def _label(grade: int) -> str:
    return LABEL(grade=grade)


def _vectorized(c: Columns) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    grades = _grades(c)
    labels = by_integer(grades, _label)
    return grades, labels


def _outside(c: Columns, attribute: str, column: str, above: bool) -> npt.NDArray[np.bool_]:
    x = np.asarray(c[column], dtype=np.float64)
    limit = _per_term(c, attribute)
    with np.errstate(invalid="ignore"):
        bad = x > limit if above else x < limit
    return np.asarray(bad & ~np.isnan(x))


TOO_HIGH = Reason(
    "implausibly high for the term (neutrophils ≤ 200, platelets ≤ 5000, lymphocytes ≤ 1000, "
    "white cells ≤ 1000 ×10⁹/L, hemoglobin ≤ 250 g/L); check the unit (counts in ×10⁹/L, not "
    "per µL)"
)
HEMOGLOBIN_G_DL = Reason(
    "hemoglobin below 20 g/L is implausible: give hemoglobin in g/L, not g/dL (10.5 g/dL = 105 g/L)"
)
LLN_IMPLAUSIBLE = Reason(
    "implausible lower limit of normal for the term (neutrophils 0.1–10, platelets 10–500, "
    "lymphocytes 0.1–10, white cells 0.5–20 ×10⁹/L, hemoglobin 50–200 g/L); check the unit"
)
_NUMBERS = ("lln", "a", "b", "value", "grade", "g2")
_UNIT = {"unit": r"×10⁹/L|g/L"}
AT_OR_ABOVE_LLN = Reason("≥ LLN {lln} {unit}", numbers=_NUMBERS, patterns=_UNIT)
BELOW_LLN = Reason("< LLN {lln} and ≥ {b} {unit}", numbers=_NUMBERS, patterns=_UNIT)
BETWEEN = Reason("< {a} and ≥ {b} {unit}", numbers=_NUMBERS, patterns=_UNIT)
BELOW = Reason("< {a} {unit}", numbers=_NUMBERS, patterns=_UNIT)
GRADED = Reason(
    "{analyte} {value} {unit}: {interval} → CTCAE v5.0 {term} grade {grade}",
    numbers=_NUMBERS,
    patterns=_UNIT,
)
LLN_USED = Reason("{source} {lln} {unit}", numbers=_NUMBERS, patterns={
    "source": "laboratory LLN|neurocart default LLN", **_UNIT})  # fmt: skip
EMPTY_GRADE_1 = Reason(
    "LLN {lln} {unit} is at or below the CTCAE grade-2 cut-off {g2} {unit}: the grade-1 "
    "interval is empty; values from {lln} up to {g2} are graded 0 (within this laboratory's "
    "normal range), values below the LLN by the fixed table — review clinically",
    numbers=_NUMBERS,
    patterns=_UNIT,
)
ANEMIA_CEILING = Reason(
    "anemia grade 3 (hemoglobin < 80 g/L; transfusion indicated) is the highest grade the value "
    "can give: grade 4 (life-threatening consequences, urgent intervention indicated) needs a "
    "clinical judgement"
)
LABEL = Reason("grade {grade}", numbers=_NUMBERS)
WORDS = (
    "laboratory LLN",
    "neurocart default LLN",
    *sorted({rule.name for rule in RULES.values()} | {rule.analyte for rule in RULES.values()}),
)
"""The texts its reasons quote (the catalogues list them: `locale/sources.toml`)."""

CHECKS = (
    Check(
        field="value",
        message=TOO_HIGH(),
        violated=lambda c: _outside(c, "value_max", "value", above=True),
    ),
    Check(
        field="value",
        message=HEMOGLOBIN_G_DL(),
        violated=lambda c: _outside(c, "value_min", "value", above=False),
    ),
    Check(
        field="lln",
        message=LLN_IMPLAUSIBLE(),
        violated=lambda c: (
            _outside(c, "lln_max", "lln", above=True) | _outside(c, "lln_min", "lln", above=False)
        ),
    ),
)


def _interval_text(rule: TermRule, grade: int, lln: float) -> str:
    u = rule.unit
    if grade == 0:
        return AT_OR_ABOVE_LLN(lln=f"{lln:g}", unit=u)
    if grade == 1:
        return BELOW_LLN(lln=f"{lln:g}", b=f"{rule.grade2_below:g}", unit=u)
    if grade == 2:
        return BETWEEN(a=f"{rule.grade2_below:g}", b=f"{rule.grade3_below:g}", unit=u)
    if grade == 3:
        if rule.grade4_below is None:
            return BELOW(a=f"{rule.grade3_below:g}", unit=u)
        return BETWEEN(a=f"{rule.grade3_below:g}", b=f"{rule.grade4_below:g}", unit=u)
    return BELOW(a=f"{rule.grade4_below:g}", unit=u)


@register(
    name="ctcae_lab",
    title="CTCAE v5.0 laboratory decrease (blood counts, anemia)",
    citation=CITATION,
    input_model=CtcaeLabInput,
    vectorized=_vectorized,
    checks=CHECKS,
)
def ctcae_lab(inp: CtcaeLabInput) -> Grading:
    """Grade a neutrophil, platelet, lymphocyte or white-cell count, or a hemoglobin."""
    rule = RULES[inp.term]
    cols: dict[str, npt.NDArray[Any]] = {
        "term": np.asarray(inp.term, dtype=object),
        "value": np.asarray(inp.value, dtype=np.float64),
        "lln": np.asarray(np.nan if inp.lln is None else inp.lln, dtype=np.float64),
    }
    grade = int(_grades(cols))
    lln = inp.lln if inp.lln is not None else rule.default_lln
    source = "laboratory LLN" if inp.lln is not None else "neurocart default LLN"
    reasons = [
        GRADED(
            analyte=rule.analyte, value=f"{inp.value:g}", unit=rule.unit,
            interval=_interval_text(rule, grade, lln), term=rule.name, grade=grade,
        ),
        LLN_USED(source=source, lln=f"{lln:g}", unit=rule.unit),
    ]  # fmt: skip
    warnings: list[str] = []
    if lln <= rule.grade2_below:
        warnings.append(EMPTY_GRADE_1(lln=f"{lln:g}", unit=rule.unit, g2=f"{rule.grade2_below:g}"))
    if inp.term == "anemia" and grade == 3:
        warnings.append(ANEMIA_CEILING())
    return Grading(
        value=grade,
        label=_label(grade),
        reasons=reasons,
        warnings=warnings,
        details={"lln": lln, "lln_source": "laboratory" if inp.lln is not None else "default"},
    )
