"""Reiber's intrathecal IgG fraction (IgG_IF): intrathecal synthesis above the hyperbolic
reference limit, valid also with barrier dysfunction.

Reiber H. Flow rate of cerebrospinal fluid (CSF) — a concept common to normal blood-CSF
barrier function and to dysfunction in neurological diseases. J Neurol Sci 1994;122:189–203
(and 126:243–5); the hyperbolic form a/b·√(QAlb² + b²) − c and the upper limit (mean + 3 SD of
4300 patients) as in Reiber et al., Fluids Barriers CNS 2012;9:17
(doi:10.1186/2045-8118-9-17).

With QAlb and QIgG as fractions (mg/L ÷ (g/L × 1000)):

* Qlim = 0.93·√(QAlb² + 6·10⁻⁶) − 1.7·10⁻³ (upper hyperbola),
* Qlow = 0.33·√(QAlb² + 2·10⁻⁶) − 0.3·10⁻³ (lower hyperbola),
* IgG_IF = (1 − Qlim/QIgG) × 100 % when QIgG > Qlim, else 0.

The constants of Qlim are those printed in a CSF vendor's manual and used by two open-source
Reibergram implementations; those of Qlow come from the implementations only. QIgG below Qlow
is labelled `below_reference` (a measurement problem: hook effect, recent IVIg). Comparisons
use the quotients × 10³ rounded to 6 decimals. `igg_loc_mg_l` = (QIgG − Qlim) × serum IgG,
the locally synthesised IgG in CSF (an estimate; 0 without synthesis). IgA and IgM hyperbolae
are not implemented (their constants could not all be confirmed).
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
    "Reiber H. J Neurol Sci 1994;122:189–203; Reiber H, et al. Fluids Barriers CNS 2012;9:17, "
    "doi:10.1186/2045-8118-9-17"
)


class IggIfInput(CalcInput):
    """The inputs of the intrathecal IgG fraction: CSF and serum albumin and IgG, each in either
    unit.
    """

    csf_albumin_mg_l: float | None = _csf.csf_albumin_mg_l()
    csf_albumin_mg_dl: float | None = _csf.csf_albumin_mg_dl()
    serum_albumin_g_l: float | None = _csf.serum_albumin_g_l()
    serum_albumin_g_dl: float | None = _csf.serum_albumin_g_dl()
    csf_igg_mg_l: float | None = _csf.csf_igg_mg_l()
    csf_igg_mg_dl: float | None = _csf.csf_igg_mg_dl()
    serum_igg_g_l: float | None = _csf.serum_igg_g_l()
    serum_igg_g_dl: float | None = _csf.serum_igg_g_dl()


def _labels(q: _csf.IggQuotients) -> npt.NDArray[Any]:
    return np.where(
        q.synthesis, "intrathecal_synthesis", np.where(q.below_lower, "below_reference", "none")
    ).astype(object)


def _frame(c: Columns) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    q = _csf.igg_quotients(c)
    return q.intrathecal_fraction, _labels(q)


LABELS = ("intrathecal_synthesis", "below_reference", "none")
"""Its labels (the catalogues list them: `locale/sources.toml`)."""
_NUMBERS = ("qalb", "qigg", "qlim", "qlow", "value")
QUOTIENTS = Reason("QAlb = {qalb} × 10⁻³, QIgG = {qigg} × 10⁻³", numbers=_NUMBERS)
LIMITS = Reason(
    "Qlim = 0.93·√(QAlb² + 6·10⁻⁶) − 1.7·10⁻³ = {qlim} × 10⁻³; "
    "Qlow = 0.33·√(QAlb² + 2·10⁻⁶) − 0.3·10⁻³ = {qlow} × 10⁻³",
    numbers=_NUMBERS,
)
SYNTHESIS = Reason(
    "QIgG {qigg} > Qlim {qlim}: intrathecal IgG synthesis, IgG_IF = (1 − Qlim/QIgG) × 100 = "
    "{value} %",
    numbers=_NUMBERS,
)
BELOW_REFERENCE = Reason(
    "QIgG {qigg} < Qlow {qlow}: below the reference range — a measurement problem (hook "
    "effect, recent IVIg), not a finding",
    numbers=_NUMBERS,
)
NO_SYNTHESIS = Reason("QIgG {qigg} ≤ Qlim {qlim}: no intrathecal IgG synthesis", numbers=_NUMBERS)


@register(
    name="igg_if",
    title="Intrathecal IgG fraction (Reiber hyperbolic function)",
    citation=CITATION,
    input_model=IggIfInput,
    vectorized=_frame,
    checks=_csf.IGG_CHECKS,
)
def igg_if(inp: IggIfInput) -> Grading:
    """IgG_IF % above Reiber's upper hyperbola Qlim."""
    c = _csf.columns_of(inp, (*_csf.ALBUMIN_FIELDS, *_csf.IGG_FIELDS))
    q = _csf.igg_quotients(c)
    value = float(q.intrathecal_fraction)
    label = str(_labels(q).item())
    qalb, qigg, qlim, qlow = (float(x) for x in (q.qalb_e3, q.qigg_e3, q.qlim_e3, q.qlow_e3))
    serum_igg = float(q.serum_igg_g_l)
    said = {"qalb": f"{qalb:g}", "qigg": f"{qigg:g}", "qlim": f"{qlim:g}", "qlow": f"{qlow:g}"}
    reasons = [QUOTIENTS(**said), LIMITS(**said)]
    if label == "intrathecal_synthesis":
        reasons.append(SYNTHESIS(**said, value=f"{value:g}"))
    elif label == "below_reference":
        reasons.append(BELOW_REFERENCE(**said))
    else:
        reasons.append(NO_SYNTHESIS(**said))
    loc = max(0.0, (qigg - qlim) / 1000.0 * serum_igg * 1000.0)
    return Grading(
        value=value,
        label=label,
        reasons=reasons,
        warnings=_csf.low_serum_igg_warning(serum_igg),
        details={
            "qalb_e3": qalb,
            "qigg_e3": qigg,
            "qlim_e3": qlim,
            "qlow_e3": qlow,
            "igg_loc_mg_l": round(loc, 6),
        },
    )
