"""CAR-HEMATOTOX: baseline risk of hematotoxicity after CAR T-cell therapy.

Rejeski K, Perez A, Sesques P, et al. CAR-HEMATOTOX: a model for CAR T-cell-related
hematologic toxicity in relapsed/refractory large B-cell lymphoma. Blood
2021;138(24):2499–2513. doi:10.1182/blood.2020010543.

Five values measured at baseline, before lymphodepletion, each scored and summed (0–7):

| variable              | 0 points | 1 point  | 2 points |
|-----------------------|----------|----------|----------|
| platelets (×10⁹/L)    | > 175    | 75–175   | < 75     |
| ANC (×10⁹/L)          | ≥ 1.2    | < 1.2    | —        |
| hemoglobin (g/L)      | ≥ 90     | < 90     | —        |
| CRP (mg/L)            | < 30     | ≥ 30     | —        |
| ferritin (µg/L)       | < 650    | 650–2000 | > 2000   |

Total 0–1: low risk ("low"); ≥ 2: high risk ("high"). The value is the total.

Boundaries. The paper presents the score as a figure in conventional units (platelets
> 175,000 / 75,000–175,000 / < 75,000 per µL; ANC 1200 per µL; hemoglobin 9.0 g/dL; CRP
3.0 mg/dL; ferritin < 650 / 650–2000 / > 2000 ng/mL). neurocart converts them once (µg/L =
ng/mL; g/L = 10 × g/dL; mg/L = 10 × mg/dL) and uses inclusive edges (neurocart's
convention): platelets 75 and 175 score 1, ferritin 650 and 2000 score 1, ANC 1.2 and
hemoglobin 90 score 0, CRP 30 scores 1. They are taken from a secondary transcription of the
paper's figure; they could not be checked against the figure itself with the tools at hand
(the stored copies carry its text tables, not the figure), so they are kept in
`POINTS` below — the one place both the scalar and the vectorized path read — and each edge
has a test. Confirm the ANC, hemoglobin and CRP edges against Figure 3 of the paper: a value
exactly on those edges is where a transcription may differ.

Scope. The score was derived and validated in large B-cell lymphoma (axi-cel, tisa-cel) and
later studied in myeloma and mantle-cell lymphoma. In autoimmune disease it has not been
validated: neurocart reports it as a risk indication, and `reasons` says so.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from neurocart.standards.inputs import CalcInput, Columns, field
from neurocart.standards.reason import Items, Reason
from neurocart.standards.registry import Grading, register

CITATION = (
    "Rejeski K, Perez A, Sesques P, et al. CAR-HEMATOTOX: a model for CAR T-cell-related "
    "hematologic toxicity in relapsed/refractory large B-cell lymphoma. Blood "
    "2021;138(24):2499–2513. doi:10.1182/blood.2020010543"
)

HIGH_RISK_FROM = 2
"""Totals ≥ 2 are high risk; 0–1 low risk."""

SCOPE_NOTE = Reason(
    "CAR-HEMATOTOX was derived and validated in relapsed/refractory large B-cell lymphoma; "
    "in autoimmune disease it is a risk indication only, not validated"
)

_OPS: dict[str, tuple[Callable[[Any, Any], Any], str]] = {
    "lt": (operator.lt, "<"),
    "le": (operator.le, "≤"),
    "gt": (operator.gt, ">"),
    "ge": (operator.ge, "≥"),
}


@dataclass(frozen=True)
class Variable:
    """One scored variable: each (op, threshold) pair that holds adds one point."""

    field: str
    name: str
    unit: str
    steps: tuple[tuple[str, float], ...]


POINTS: tuple[Variable, ...] = (
    Variable("platelets_10e9_l", "platelets", "×10⁹/L", (("le", 175.0), ("lt", 75.0))),
    Variable("anc_10e9_l", "ANC", "×10⁹/L", (("lt", 1.2),)),
    Variable("hemoglobin_g_l", "hemoglobin", "g/L", (("lt", 90.0),)),
    Variable("crp_mg_l", "CRP", "mg/L", (("ge", 30.0),)),
    Variable("ferritin_ug_l", "ferritin", "µg/L", (("ge", 650.0), ("gt", 2000.0))),
)
"""The CAR-HEMATOTOX points table: platelets ≤ 175 → +1, < 75 → +1 more; ANC < 1.2 → 1;
hemoglobin < 90 → 1; CRP ≥ 30 → 1; ferritin ≥ 650 → +1, > 2000 → +1 more."""


class CarHematotoxInput(CalcInput):
    """The five baseline labs (before lymphodepletion) the CAR-HEMATOTOX score is built from, in SI
    units."""

    anc_10e9_l: float = field(
        description="absolute neutrophil count at baseline, before lymphodepletion",
        unit="×10⁹/L",
        ge=0,
        le=200,
    )
    hemoglobin_g_l: float = field(
        description="hemoglobin at baseline, before lymphodepletion (g/L, not g/dL)",
        unit="g/L",
        ge=20,
        le=250,
    )
    platelets_10e9_l: float = field(
        description="platelet count at baseline, before lymphodepletion",
        unit="×10⁹/L",
        ge=0,
        le=5000,
    )
    crp_mg_l: float = field(
        description="C-reactive protein at baseline, before lymphodepletion",
        unit="mg/L",
        ge=0,
        le=1000,
    )
    ferritin_ug_l: float = field(
        description="ferritin at baseline, before lymphodepletion (µg/L = ng/mL)",
        unit="µg/L",
        ge=0,
        le=500000,
    )


def points(variable: Variable, value: Any) -> Any:
    """Points of `variable` for `value` (a number or an array of numbers)."""
    total: Any = 0
    for op, threshold in variable.steps:
        total = total + _OPS[op][0](value, threshold).astype(np.int64)
    return total


NOT = Reason("not {condition}", registered=False)
_CONDITIONS = {"conditions": Items(" and ", NOT)}
POINT = Reason(
    "{name} {value} {unit} ({conditions}): {p} point",
    numbers=("value", "p"),
    patterns={"unit": r"\S+"},
    lists=_CONDITIONS,
)
POINTS_REASON = Reason(
    "{name} {value} {unit} ({conditions}): {p} points",
    numbers=("value", "p"),
    patterns={"unit": r"\S+"},
    lists=_CONDITIONS,
)
TOTAL = Reason(
    "total {total} → {label} risk (0–1 low, ≥ {high} high) of CAR T-cell hematotoxicity "
    "(prolonged severe neutropenia)",
    numbers=("total", "high"),
)
BASELINE_ONLY = Reason("values must be from baseline, before lymphodepletion")
WORDS = ("high", *(v.name for v in POINTS))
"""The words its reasons quote (the catalogues list them: `locale/sources.toml`)."""


def _conditions_text(variable: Variable, value: float) -> str:
    held = [
        f"{_OPS[op][1]} {threshold:g}"
        for op, threshold in variable.steps
        if _OPS[op][0](value, threshold)
    ]
    if held:
        return " and ".join(held)
    op, threshold = variable.steps[0]
    return NOT(condition=f"{_OPS[op][1]} {threshold:g}")


def _label(total: Any) -> Any:
    return np.where(total >= HIGH_RISK_FROM, "high", "low")


def _vectorized(c: Columns) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    total = sum(
        (points(v, np.asarray(c[v.field], dtype=np.float64)) for v in POINTS),
        start=np.zeros(len(c[POINTS[0].field]), dtype=np.int64),
    )
    return np.asarray(total, dtype=np.int64), np.asarray(_label(total), dtype=object)


@register(
    name="car_hematotox",
    title="CAR-HEMATOTOX (baseline hematotoxicity risk before CAR-T)",
    citation=CITATION,
    input_model=CarHematotoxInput,
    vectorized=_vectorized,
)
def car_hematotox(inp: CarHematotoxInput) -> Grading:
    """Sum the five baseline points; 0–1 low risk, ≥ 2 high risk."""
    reasons: list[str] = []
    total = 0
    itemized: dict[str, int] = {}
    for v in POINTS:
        value = float(getattr(inp, v.field))
        p = int(points(v, np.asarray(value)))
        itemized[v.field] = p
        total += p
        said = {"name": v.name, "value": f"{value:g}", "unit": v.unit, "p": p}
        reasons.append(
            (POINT if p == 1 else POINTS_REASON)(**said, conditions=_conditions_text(v, value))
        )
    label = str(_label(np.asarray(total)))
    reasons.append(TOTAL(total=total, label=label, high=HIGH_RISK_FROM))
    reasons.append(SCOPE_NOTE())
    return Grading(
        value=total,
        label=label,
        reasons=reasons,
        warnings=[BASELINE_ONLY()],
        details={"points": itemized},
    )
