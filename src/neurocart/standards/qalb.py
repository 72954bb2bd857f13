"""Qalb — the CSF/serum albumin quotient, a measure of blood–CSF barrier function.

Reiber H, Peter JB. Cerebrospinal fluid analysis: disease-related data patterns and
evaluation programs. J Neurol Sci 2001;184:101–22; the age-dependent limit
Qalb < (4 + age/15) × 10⁻³ as drawn in Reiber et al., Fluids Barriers CNS 2012;9:17
(doi:10.1186/2045-8118-9-17, Fig 1) and in the German Society of Neurology S1 guideline
"Lumbar puncture and CSF analysis", Neurol Res Pract 2020 (doi:10.1186/s42466-020-0051-z,
Fig 2: "age/15 + 4", a 60-year-old 8 × 10⁻³).

value = CSF albumin (mg/L) ÷ serum albumin (g/L), which is Qalb × 10³ (mg/g = 10⁻³).

Choices neurocart made where the publications are silent
--------------------------------------------------------
* The limit itself belongs to the reference interval (Qalb × 10³ equal to 4 + age/15 is
  `normal`); Reiber writes "<".
* The formula is used from the age of 5 years; younger children (≤ 28 × 10⁻³ at birth,
  ≤ 3.5 × 10⁻³ from 4 months to 5 years in one laboratory's table) need the laboratory's
  limit (`qalb_uln_e3`), else the label is `no_reference`.
* `qalb_uln_e3`, when given, overrides the age formula.
* Degree bands (mild < 10, moderate < 20, severe > 20 × 10⁻³) are one laboratory's and only
  appear in `reasons`.
* Serum albumin outside 5–80 g/L is refused (a neurocart check, not a published limit): it is
  almost always g/dL sent as g/L.
* Qalb is invalid < 48 h after albumin infusion or plasma exchange, and implausible soon after
  IVIg: the pairing service warns when those dates are known; the calculator cannot see them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from neurocart.standards import _csf
from neurocart.standards.inputs import CalcInput, Columns
from neurocart.standards.reason import Reason
from neurocart.standards.registry import Grading, register

CITATION = (
    "Reiber H, et al. Fluids Barriers CNS 2012;9:17, doi:10.1186/2045-8118-9-17 (limit "
    "4 + age/15); DGN S1 guideline, Neurol Res Pract 2020, doi:10.1186/s42466-020-0051-z"
)


class QalbInput(CalcInput):
    """The inputs of the albumin quotient: CSF and serum albumin, with age or the lab's limit for
    the cut-off.
    """

    csf_albumin_mg_l: float | None = _csf.csf_albumin_mg_l()
    csf_albumin_mg_dl: float | None = _csf.csf_albumin_mg_dl()
    serum_albumin_g_l: float | None = _csf.serum_albumin_g_l()
    serum_albumin_g_dl: float | None = _csf.serum_albumin_g_dl()
    age_years: float | None = _csf.age_years()
    qalb_uln_e3: float | None = _csf.qalb_uln_e3()


CHECKS = (_csf.CSF_ALBUMIN.check(), _csf.SERUM_ALBUMIN.check(), _csf.QALB_BELOW_SERUM)


def _grade(c: Columns) -> tuple[npt.NDArray[np.float64], npt.NDArray[Any], npt.NDArray[Any]]:
    value = _csf.rounded(_csf.qalb_e3(c))
    limit = _csf.reference_limit_e3(c)
    with np.errstate(invalid="ignore"):
        elevated = value > _csf.rounded(limit)
    labels = np.where(np.isnan(limit), "no_reference", np.where(elevated, "elevated", "normal"))
    return value, labels.astype(object), limit


def _frame(c: Columns) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    value, labels, _ = _grade(c)
    return value, labels


DEGREES = ("mild (< 10 × 10⁻³)", "moderate (10–20 × 10⁻³)", "severe (> 20 × 10⁻³)")
"""One laboratory's bands of a raised Qalb (the catalogues list them: `locale/sources.toml`)."""
LABELS = ("elevated", "normal", "no_reference")
_NUMBERS = ("value", "limit", "uln", "age")
FORMULA = Reason(
    "Qalb × 10³ = CSF albumin ({csf}) ÷ serum albumin ({serum}) = {value}", numbers=_NUMBERS
)
LAB_LIMIT = Reason("limit: the laboratory's upper limit {uln} × 10⁻³", numbers=_NUMBERS)
AGE_LIMIT = Reason("limit: 4 + age/15 = 4 + {age}/15 = {limit} × 10⁻³", numbers=_NUMBERS)
NO_LIMIT = Reason("no age and no laboratory limit: Qalb cannot be judged")
TOO_YOUNG = Reason(
    "age {age} < 5 years: the 4 + age/15 formula does not apply; give the laboratory's infant "
    "limit (qalb_uln_e3)",
    numbers=_NUMBERS,
)
RAISED = Reason(
    "{value} > {limit}: blood–CSF barrier dysfunction; degree by one laboratory's bands: {degree}",
    numbers=_NUMBERS,
)
WITHIN = Reason("{value} ≤ {limit}: within the reference limit", numbers=_NUMBERS)
INVALID_AFTER = Reason(
    "Qalb is invalid < 48 h after albumin infusion or plasma exchange and implausible soon "
    "after IVIg"
)


def _degree(value: float) -> str:
    if value < 10:
        return DEGREES[0]
    if value < 20:
        return DEGREES[1]
    return DEGREES[2]


@register(
    name="qalb",
    title="Albumin quotient CSF/serum (Qalb × 10³) with Reiber's age limit",
    citation=CITATION,
    input_model=QalbInput,
    vectorized=_frame,
    checks=CHECKS,
)
def qalb(inp: QalbInput) -> Grading:
    """Qalb × 10³ against 4 + age/15 (or the laboratory's limit)."""
    c = _csf.columns_of(inp, (*_csf.ALBUMIN_FIELDS, "age_years", "qalb_uln_e3"))
    value_a, labels, limit_a = _grade(c)
    value, label, limit = float(value_a), str(labels.item()), float(limit_a)
    reasons = [
        FORMULA(
            csf=_csf.CSF_ALBUMIN.given(inp), serum=_csf.SERUM_ALBUMIN.given(inp), value=f"{value:g}"
        )
    ]
    details: dict[str, Any] = {"qalb_limit_e3": None if np.isnan(limit) else round(limit, 6)}
    if inp.qalb_uln_e3 is not None:
        reasons.append(LAB_LIMIT(uln=f"{inp.qalb_uln_e3:g}"))
        details["limit_source"] = "laboratory"
    elif label != "no_reference":
        reasons.append(AGE_LIMIT(age=f"{inp.age_years:g}", limit=f"{limit:.6g}"))
        details["limit_source"] = "age_formula"
    elif inp.age_years is None:
        reasons.append(NO_LIMIT())
    else:
        reasons.append(TOO_YOUNG(age=f"{inp.age_years:g}"))
    if label == "elevated":
        reasons.append(RAISED(value=f"{value:g}", limit=f"{limit:.6g}", degree=_degree(value)))
    elif label == "normal":
        reasons.append(WITHIN(value=f"{value:g}", limit=f"{limit:.6g}"))
    return Grading(
        value=value,
        label=label,
        reasons=reasons,
        warnings=[INVALID_AFTER()],
        details=details,
    )
