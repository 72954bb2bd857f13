"""ASTCT consensus grade of cytokine release syndrome (CRS).

Lee DW, Santomasso BD, Locke FL, et al. ASTCT consensus grading for cytokine release syndrome
and neurologic toxicity associated with immune effector cells. Biol Blood Marrow Transplant
2019;25(4):625–638. doi:10.1016/j.bbmt.2018.12.758.

Rules (the consensus CRS grading table and its footnotes):

- Fever ≥ 38.0 °C, not attributable to another cause, is required for CRS. Below 38.0 °C, or
  with no temperature at all, and fever not masked, the grade is 0 ("no CRS") whatever else is
  true: hypotension or an oxygen need without fever is not CRS.
- Once a patient with CRS has received antipyretic or anti-cytokine therapy (tocilizumab,
  corticosteroids), fever is no longer required: `fever_masked` = true and grading follows
  hypotension and hypoxia alone.
- Hypotension: not requiring vasopressors → 2; one vasopressor, with or without vasopressin
  → 3; multiple vasopressors (vasopressin not counted) → 4.
- Hypoxia, by the oxygen support required: low-flow nasal cannula (≤ 6 L/min) or blow-by → 2;
  high-flow nasal cannula (> 6 L/min), facemask, non-rebreather or Venturi mask → 3; positive
  pressure (CPAP, BiPAP, intubation and mechanical ventilation) → 4.
- The grade is the more severe of hypotension and hypoxia ("a febrile patient on one
  vasopressor and low-flow nasal cannula is grade 3"); fever without either is grade 1;
  death due to CRS with no other principal cause is grade 5.
- Intubation for airway protection because of neurotoxicity, not hypoxia, does not make CRS
  grade 4.

Choices neurocart made where the publication is silent or ambiguous (each is tested):

- Masked fever with neither hypotension nor hypoxia → grade 1. The consensus says that after
  antipyretic/anti-cytokine therapy "fever is no longer required to grade subsequent CRS
  severity"; the syndrome has not resolved because the fever was treated, so the lowest CRS
  grade applies. The reasons say so.
- Any vasopressor implies hypotension (the `hypotension` flag may be left false); the reasons
  say "vasopressor required: hypotension implied".
- Vasopressin alone (`vasopressors` = 0, `vasopressin` = true) → grade 3: vasopressin is a
  vasopressor, so the patient "requires a vasopressor"; the "(excluding vasopressin)" of
  grade 4 only stops it from counting towards *multiple* vasopressors.
- Nasal cannula with no flow given → graded as low-flow (grade 2), with a warning that a flow
  > 6 L/min makes it grade 3. A standard nasal cannula delivers at most 6 L/min; refusing the
  input would leave a patient on oxygen without any grade.
- `oxygen_flow_l_min` is accepted with every device but "none" (facemasks, non-rebreathers,
  Venturi masks and blow-by are all run at a prescribed flow, so the value is real data from
  a bedside feed); only a nasal cannula's flow changes the grade, and the reasons say when a
  flow was not used. Rejecting it would block the grading of exactly the sickest patients.
- Inconsistent inputs are errors naming the field: a flow with no oxygen device; airway-
  protection intubation without mechanical ventilation; a high-flow nasal cannula at ≤ 6 L/min
  (ASTCT defines high flow as > 6 L/min: say "nasal_cannula" or give the real flow); death due
  to CRS without fever and without masked fever (grade 5 needs CRS: give the fever or set
  `fever_masked`).
- Positive-pressure support always carries a warning: in neuroimmune patients it may be for
  myasthenic crisis or airway protection, which is not CRS hypoxia.
"""

from __future__ import annotations

import typing
from typing import TYPE_CHECKING, Any, Literal

from neurocart.standards.inputs import CalcInput, Check, Columns, field
from neurocart.standards.reason import Reason
from neurocart.standards.registry import Grading, register

if TYPE_CHECKING:  # numpy is imported by the vectorized path: the faces that read this module's
    import numpy.typing as npt  # vocabulary (the oxygen devices) do not load it

CITATION = (
    "Lee DW, Santomasso BD, Locke FL, et al. ASTCT consensus grading for cytokine release "
    "syndrome and neurologic toxicity associated with immune effector cells. Biol Blood Marrow "
    "Transplant 2019;25(4):625–638. doi:10.1016/j.bbmt.2018.12.758"
)

FEVER_C = 38.0
"""Fever: temperature ≥ 38.0 °C."""
LOW_FLOW_MAX_L_MIN = 6.0
"""Nasal cannula ≤ 6 L/min is low-flow; > 6 L/min is high-flow."""
MULTIPLE_VASOPRESSORS = 2
"""Number of vasopressors (vasopressin not counted) that makes hypotension grade 4."""

GRADE_FEVER_ONLY = 1
GRADE_HYPOTENSION_NO_VASOPRESSOR = 2
GRADE_ONE_VASOPRESSOR = 3
GRADE_MULTIPLE_VASOPRESSORS = 4
GRADE_NASAL_CANNULA_HIGH_FLOW = 3
GRADE_DEATH = 5

OxygenDevice = Literal[
    "none",
    "blow_by",
    "nasal_cannula",
    "high_flow_nasal_cannula",
    "facemask",
    "nonrebreather",
    "venturi",
    "cpap",
    "bipap",
    "mechanical_ventilation",
]

OXYGEN_DEVICE_GRADE: dict[str, int] = {
    "none": 0,
    "blow_by": 2,
    "nasal_cannula": 2,  # low-flow; > 6 L/min → GRADE_NASAL_CANNULA_HIGH_FLOW
    "high_flow_nasal_cannula": 3,
    "facemask": 3,
    "nonrebreather": 3,
    "venturi": 3,
    "cpap": 4,
    "bipap": 4,
    "mechanical_ventilation": 4,
}
"""Hypoxia grade by the oxygen support required (ASTCT CRS grading table)."""

DEVICE_WORDS: dict[str, str] = {
    "none": "no supplemental oxygen",
    "blow_by": "blow-by oxygen (low-flow)",
    "nasal_cannula": "nasal cannula",
    "high_flow_nasal_cannula": "high-flow nasal cannula",
    "facemask": "facemask",
    "nonrebreather": "non-rebreather mask",
    "venturi": "Venturi mask",
    "cpap": "CPAP (positive pressure)",
    "bipap": "BiPAP (positive pressure)",
    "mechanical_ventilation": "intubation and mechanical ventilation (positive pressure)",
}

POSITIVE_PRESSURE = frozenset(d for d, g in OXYGEN_DEVICE_GRADE.items() if g == 4)

LABELS: tuple[str, ...] = ("no CRS", "grade 1", "grade 2", "grade 3", "grade 4", "grade 5")
"""Label of each grade 0–5; the scalar and the vectorized paths both read it."""

assert set(OXYGEN_DEVICE_GRADE) == set(typing.get_args(OxygenDevice)) == set(DEVICE_WORDS)


class CrsInput(CalcInput):
    """The worst findings in the grading window (fever, hypotension and its treatment, oxygen
    support), read as ASTCT defines them."""

    temperature_c: float | None = field(
        None,
        description="highest temperature in the window, not attributable to another cause",
        unit="°C",
        ge=30.0,
        le=45.0,
    )
    fever_masked: bool = field(
        False,
        description=(
            "fever was present but is now suppressed by antipyretic or anti-cytokine therapy "
            "(tocilizumab, steroids): grading then goes by hypotension and hypoxia alone"
        ),
    )
    hypotension: bool = field(False, description="hypotension not attributable to another cause")
    vasopressors: int = field(
        0,
        description="number of vasopressors required, excluding vasopressin",
        ge=0,
        le=5,
    )
    vasopressin: bool = field(False, description="vasopressin given (alone or in addition)")
    oxygen_device: OxygenDevice = field(
        "none", description="oxygen support required for hypoxia not attributable to another cause"
    )
    oxygen_flow_l_min: float | None = field(
        None,
        description="oxygen flow; for a nasal cannula > 6 L/min counts as high flow",
        unit="L/min",
        gt=0.0,
        le=100.0,
    )
    intubated_for_airway_protection_only: bool = field(
        False,
        description=(
            "intubated for airway protection (ICANS, myasthenic crisis), not for hypoxia: "
            "does not raise the CRS grade"
        ),
    )
    died_of_crs: bool = field(
        False, description="death due to CRS, no other principal cause (grade 5)"
    )


def _given(values: Any) -> Any:
    """Where a number was given (not NaN, the columns' "absent")."""
    import numpy as np

    return ~np.isnan(values)


def _fever(c: Columns) -> Any:
    return c["temperature_c"] >= FEVER_C  # NaN (absent) compares false


CHECKS = (
    Check(
        field="oxygen_flow_l_min",
        message='an oxygen flow needs an oxygen device: oxygen_device is "none"',
        violated=lambda c: (c["oxygen_device"] == "none") & _given(c["oxygen_flow_l_min"]),
    ),
    Check(
        field="oxygen_flow_l_min",
        message=(
            f"a high-flow nasal cannula runs at > {LOW_FLOW_MAX_L_MIN:g} L/min (ASTCT); at "
            f"≤ {LOW_FLOW_MAX_L_MIN:g} L/min it is low-flow: give oxygen_device "
            '"nasal_cannula" or the real flow'
        ),
        violated=lambda c: (
            (c["oxygen_device"] == "high_flow_nasal_cannula")
            & (c["oxygen_flow_l_min"] <= LOW_FLOW_MAX_L_MIN)
        ),
    ),
    Check(
        field="intubated_for_airway_protection_only",
        message='only applies with oxygen_device "mechanical_ventilation"',
        violated=lambda c: (
            c["intubated_for_airway_protection_only"]
            & (c["oxygen_device"] != "mechanical_ventilation")
        ),
    ),
    Check(
        field="died_of_crs",
        message=(
            f"death due to CRS needs CRS: give the fever (temperature_c ≥ {FEVER_C:.1f} °C) "
            "or set fever_masked"
        ),
        violated=lambda c: c["died_of_crs"] & ~_fever(c) & ~c["fever_masked"],
    ),
)


def _crs_frame(c: Columns) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """Vectorized grade: numpy over whole columns, the same tables as `crs`."""
    import numpy as np

    from neurocart.standards.frame import lookup

    n = c["vasopressors"]
    pressor = (n >= 1) | c["vasopressin"]
    hypotension = np.where(
        n >= MULTIPLE_VASOPRESSORS,
        GRADE_MULTIPLE_VASOPRESSORS,
        np.where(
            pressor,
            GRADE_ONE_VASOPRESSOR,
            np.where(c["hypotension"], GRADE_HYPOTENSION_NO_VASOPRESSOR, 0),
        ),
    )
    device = c["oxygen_device"]
    hypoxia = lookup(device, OXYGEN_DEVICE_GRADE).astype(np.int64)  # one take over the codes
    high_flow_nc = (device == "nasal_cannula") & (c["oxygen_flow_l_min"] > LOW_FLOW_MAX_L_MIN)
    hypoxia[high_flow_nc] = GRADE_NASAL_CANNULA_HIGH_FLOW
    hypoxia[c["intubated_for_airway_protection_only"]] = 0  # checked: only with ventilation
    grade = np.maximum(np.maximum(hypotension, hypoxia), GRADE_FEVER_ONLY)
    grade = np.where(c["died_of_crs"], GRADE_DEATH, grade)
    grade = np.where(_fever(c) | c["fever_masked"], grade, 0).astype(np.int64)
    return grade, np.asarray(LABELS, dtype=object)[grade]


_NUMBERS = (
    "t", "limit", "grade", "n", "flow", "ice", "top", "baseline", "effective", "hypotension",
    "hypoxia", "points", "total",
)  # fmt: skip
"""Fields of its reasons that are always a number (see `Reason.numbers`)."""
FEVER = Reason("temperature {t} °C ≥ {limit} °C: fever", numbers=_NUMBERS)
FEVER_MASKED = Reason(
    "fever masked by antipyretic or anti-cytokine therapy: fever no longer required, "
    "grading by hypotension and hypoxia"
)
NO_FEVER = Reason(
    "temperature {t} °C < {limit} °C and fever not masked: no fever, so not CRS (ASTCT requires "
    "fever) → no CRS",
    numbers=_NUMBERS,
)
NO_TEMPERATURE = Reason(
    "no temperature and fever not masked: no fever, so not CRS (ASTCT requires fever) → no CRS"
)
HYPOTENSION_NO_VASOPRESSOR = Reason(
    "hypotension not requiring vasopressors → grade {grade}", numbers=_NUMBERS
)
VASOPRESSOR_IMPLIES = Reason("vasopressor required: hypotension implied")
MULTIPLE_VASOPRESSORS_ = Reason(
    "{n} vasopressors, vasopressin not counted: hypotension requiring multiple vasopressors "
    "→ grade {grade}",
    numbers=_NUMBERS,
)
MULTIPLE_WITH_VASOPRESSIN = Reason(
    "{n} vasopressors, vasopressin not counted (vasopressin given too, not counted): "
    "hypotension requiring multiple vasopressors → grade {grade}",
    numbers=_NUMBERS,
)
ONE_VASOPRESSOR = Reason(
    "1 vasopressor: hypotension requiring a vasopressor with or without vasopressin → grade "
    "{grade}",
    numbers=_NUMBERS,
)
ONE_WITH_VASOPRESSIN = Reason(
    "1 vasopressor with vasopressin: hypotension requiring a vasopressor with or without "
    "vasopressin → grade {grade}",
    numbers=_NUMBERS,
)
VASOPRESSIN_ALONE = Reason(
    "vasopressin alone: it is a vasopressor, so hypotension requires a vasopressor → grade "
    "{grade} (vasopressin only does not count towards multiple vasopressors)",
    numbers=_NUMBERS,
)
AIRWAY_ONLY = Reason(
    "mechanical ventilation for airway protection only (not for hypoxia): does not raise the "
    "CRS grade (ASTCT)"
)
CANNULA_NO_FLOW = Reason(
    "nasal cannula, flow not given: graded as low-flow (≤ {limit} L/min) → grade {grade}",
    numbers=_NUMBERS,
)
CANNULA_HIGH = Reason(
    "nasal cannula at {flow} L/min > {limit} L/min: high-flow → grade {grade}", numbers=_NUMBERS
)
CANNULA_LOW = Reason(
    "nasal cannula at {flow} L/min ≤ {limit} L/min: low-flow → grade {grade}", numbers=_NUMBERS
)
HYPOXIA = Reason("hypoxia requiring {device} → grade {grade}", numbers=_NUMBERS)
HYPOXIA_FLOW = Reason(
    "hypoxia requiring {device} (flow {flow} L/min: the device, not the flow, sets the grade) "
    "→ grade {grade}",
    numbers=_NUMBERS,
)
FEVER_ONLY = Reason("fever without hypotension or hypoxia → grade {grade}", numbers=_NUMBERS)
MASKED_FEVER_ONLY = Reason(
    "masked fever without hypotension or hypoxia: CRS persists → grade {grade} (neurocart "
    "reading of ASTCT)",
    numbers=_NUMBERS,
)
WORSE_OF = Reason(
    "grade {grade}: the more severe of hypotension (grade {hypotension}) and hypoxia "
    "(grade {hypoxia})",
    numbers=_NUMBERS,
)
DEATH = Reason("death due to CRS → grade {grade}", numbers=_NUMBERS)
AIRWAY_WARNING = Reason(
    "intubated for airway protection: if the patient is also hypoxic, the CRS grade from the "
    "oxygen requirement must be judged by a clinician"
)
CANNULA_FLOW_WARNING = Reason(
    "nasal cannula flow not given: if it is > {limit} L/min the hypoxia grade is {high}, not "
    "{grade}",
    numbers=(*_NUMBERS, "high"),
)
POSITIVE_PRESSURE_WARNING = Reason(
    "positive-pressure support: in neuroimmune patients it may be for myasthenic crisis or "
    "airway protection, which is not CRS hypoxia — a clinician must adjudicate (set "
    "intubated_for_airway_protection_only when it applies)"
)
WITHOUT_FEVER_WARNING = Reason(
    "hypotension or an oxygen need without fever is not graded as CRS: look for another cause, "
    "or set fever_masked if antipyretics, tocilizumab or steroids were given"
)


def _hypotension(inp: CrsInput, reasons: list[str]) -> int:
    n, vasopressin = inp.vasopressors, inp.vasopressin
    if n == 0 and not vasopressin:
        if inp.hypotension:
            reasons.append(HYPOTENSION_NO_VASOPRESSOR(grade=GRADE_HYPOTENSION_NO_VASOPRESSOR))
            return GRADE_HYPOTENSION_NO_VASOPRESSOR
        return 0
    if not inp.hypotension:
        reasons.append(VASOPRESSOR_IMPLIES())
    if n >= MULTIPLE_VASOPRESSORS:
        template = MULTIPLE_WITH_VASOPRESSIN if vasopressin else MULTIPLE_VASOPRESSORS_
        reasons.append(template(n=n, grade=GRADE_MULTIPLE_VASOPRESSORS))
        return GRADE_MULTIPLE_VASOPRESSORS
    if n == 1:
        template = ONE_WITH_VASOPRESSIN if vasopressin else ONE_VASOPRESSOR
        reasons.append(template(grade=GRADE_ONE_VASOPRESSOR))
    else:
        reasons.append(VASOPRESSIN_ALONE(grade=GRADE_ONE_VASOPRESSOR))
    return GRADE_ONE_VASOPRESSOR


def _hypoxia(inp: CrsInput, reasons: list[str], warnings: list[str]) -> int:
    device, flow = inp.oxygen_device, inp.oxygen_flow_l_min
    if device == "none":
        return 0
    words = DEVICE_WORDS[device]
    if inp.intubated_for_airway_protection_only:
        reasons.append(AIRWAY_ONLY())
        warnings.append(AIRWAY_WARNING())
        return 0
    grade = OXYGEN_DEVICE_GRADE[device]
    if device == "nasal_cannula":
        if flow is None:
            reasons.append(CANNULA_NO_FLOW(limit=f"{LOW_FLOW_MAX_L_MIN:g}", grade=grade))
            warnings.append(
                CANNULA_FLOW_WARNING(
                    limit=f"{LOW_FLOW_MAX_L_MIN:g}", high=GRADE_NASAL_CANNULA_HIGH_FLOW, grade=grade
                )
            )
        elif flow > LOW_FLOW_MAX_L_MIN:
            grade = GRADE_NASAL_CANNULA_HIGH_FLOW
            reasons.append(
                CANNULA_HIGH(flow=f"{flow:g}", limit=f"{LOW_FLOW_MAX_L_MIN:g}", grade=grade)
            )
        else:
            reasons.append(
                CANNULA_LOW(flow=f"{flow:g}", limit=f"{LOW_FLOW_MAX_L_MIN:g}", grade=grade)
            )
        return grade
    if flow is None:
        reasons.append(HYPOXIA(device=words, grade=grade))
    else:
        reasons.append(HYPOXIA_FLOW(device=words, flow=f"{flow:g}", grade=grade))
    if device in POSITIVE_PRESSURE:
        warnings.append(POSITIVE_PRESSURE_WARNING())
    return grade


@register(
    name="crs",
    title="ASTCT consensus grade of cytokine release syndrome",
    citation=CITATION,
    input_model=CrsInput,
    vectorized=_crs_frame,
    checks=CHECKS,
)
def crs(inp: CrsInput) -> Grading:
    """ASTCT CRS grade 0–5: fever required (unless masked), then the worse of hypotension and
    hypoxia; a masked fever with neither is grade 1 (see the module docstring)."""
    reasons: list[str] = []
    warnings: list[str] = []
    t = inp.temperature_c
    fever = t is not None and t >= FEVER_C
    if fever:
        reasons.append(FEVER(t=f"{t:g}", limit=f"{FEVER_C:.1f}"))
    elif inp.fever_masked:
        reasons.append(FEVER_MASKED())
    else:
        if t is not None:
            reasons.append(NO_FEVER(t=f"{t:g}", limit=f"{FEVER_C:.1f}"))
        else:
            reasons.append(NO_TEMPERATURE())
        if inp.hypotension or inp.vasopressors or inp.vasopressin or inp.oxygen_device != "none":
            warnings.append(WITHOUT_FEVER_WARNING())
        return Grading(0, LABELS[0], reasons, warnings, {"fever": False, "crs": False})

    hypotension = _hypotension(inp, reasons)
    hypoxia = _hypoxia(inp, reasons, warnings)
    grade = max(hypotension, hypoxia, GRADE_FEVER_ONLY)
    if hypotension == 0 and hypoxia == 0:
        if fever:
            reasons.append(FEVER_ONLY(grade=GRADE_FEVER_ONLY))
        else:
            reasons.append(MASKED_FEVER_ONLY(grade=GRADE_FEVER_ONLY))
    elif hypotension and hypoxia:
        reasons.append(WORSE_OF(grade=grade, hypotension=hypotension, hypoxia=hypoxia))
    if inp.died_of_crs:
        grade = GRADE_DEATH
        reasons.append(DEATH(grade=GRADE_DEATH))
    details = {
        "fever": fever,
        "fever_masked": inp.fever_masked,
        "crs": True,
        "hypotension_grade": hypotension,
        "hypoxia_grade": hypoxia,
    }
    return Grading(grade, LABELS[grade], reasons, warnings, details)
