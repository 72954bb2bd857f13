"""Reibergram region for IgG: barrier function and intrathecal synthesis read together.

Reiber H, Peter JB. J Neurol Sci 2001;184:101–22; the five constellations as in the German
Society of Neurology S1 guideline "Lumbar puncture and CSF analysis", Neurol Res Pract 2020
(doi:10.1186/s42466-020-0051-z, Fig 2); hyperbolae as in `igg_if` (Reiber 1994; Reiber et
al., Fluids Barriers CNS 2012;9:17, doi:10.1186/2045-8118-9-17).

value (int):

1. normal — Qalb ≤ its limit and QIgG ≤ Qlim;
2. isolated barrier dysfunction — Qalb above its limit, QIgG ≤ Qlim;
3. isolated intrathecal IgG synthesis — Qalb ≤ its limit, QIgG > Qlim;
4. barrier dysfunction with intrathecal IgG synthesis;
5. QIgG below the lower hyperbola Qlow — implausible (hook effect, recent IVIg).

The Qalb limit is 4 + age/15 (× 10⁻³, from 5 years; see `qalb`) or the laboratory's
`qalb_uln_e3`; one of them is required, and an age below 5 needs the laboratory's limit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from neurocart.standards import _csf
from neurocart.standards.inputs import CalcInput, Check, Columns
from neurocart.standards.reason import Reason
from neurocart.standards.registry import Grading, register

CITATION = (
    "Reiber H, Peter JB. J Neurol Sci 2001;184:101–22; DGN S1 guideline, Neurol Res Pract "
    "2020, doi:10.1186/s42466-020-0051-z (Fig 2); Reiber H, et al. Fluids Barriers CNS "
    "2012;9:17, doi:10.1186/2045-8118-9-17"
)

LABELS = {
    1: "normal",
    2: "isolated barrier dysfunction",
    3: "isolated intrathecal IgG synthesis",
    4: "barrier dysfunction with intrathecal IgG synthesis",
    5: "implausible: QIgG below the lower hyperbola",
}


class ReibergramIggInput(CalcInput):
    """The inputs of the IgG Reibergram: CSF and serum albumin and IgG, with age or the lab's Qalb
    limit.
    """

    csf_albumin_mg_l: float | None = _csf.csf_albumin_mg_l()
    csf_albumin_mg_dl: float | None = _csf.csf_albumin_mg_dl()
    serum_albumin_g_l: float | None = _csf.serum_albumin_g_l()
    serum_albumin_g_dl: float | None = _csf.serum_albumin_g_dl()
    csf_igg_mg_l: float | None = _csf.csf_igg_mg_l()
    csf_igg_mg_dl: float | None = _csf.csf_igg_mg_dl()
    serum_igg_g_l: float | None = _csf.serum_igg_g_l()
    serum_igg_g_dl: float | None = _csf.serum_igg_g_dl()
    age_years: float | None = _csf.age_years()
    qalb_uln_e3: float | None = _csf.qalb_uln_e3()


NEEDS_LIMIT = Check(
    "age_years",
    "give age_years (≥ 5) or the laboratory's qalb_uln_e3: the Qalb limit is needed",
    lambda c: np.isnan(_csf.reference_limit_e3(c)),
)


def _regions(c: Columns) -> tuple[npt.NDArray[np.int64], _csf.IggQuotients, npt.NDArray[Any]]:
    q = _csf.igg_quotients(c)
    limit = _csf.rounded(_csf.reference_limit_e3(c))
    barrier = q.qalb_e3 > limit
    synthesis = q.synthesis
    region = np.where(
        q.below_lower,
        5,
        np.where(barrier & synthesis, 4, np.where(synthesis, 3, np.where(barrier, 2, 1))),
    ).astype(np.int64)
    return region, q, limit


def _frame(c: Columns) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    region, _, _ = _regions(c)
    labels = np.asarray([LABELS[int(r)] for r in np.atleast_1d(region)], dtype=object)
    return region, labels.reshape(np.shape(region))


SOURCES = ("laboratory limit", "4 + age/15")
_NUMBERS = ("qalb", "limit", "qigg", "qlim", "qlow", "region")
_RELATION = {"relation": "[>≤]"}
QALB = Reason(
    "Qalb {qalb} × 10⁻³ {relation} {limit} ({source})", numbers=_NUMBERS, patterns=_RELATION
)
QIGG = Reason("QIgG {qigg} × 10⁻³ {relation} Qlim {qlim}", numbers=_NUMBERS, patterns=_RELATION)
IMPLAUSIBLE = Reason(
    "QIgG {qigg} < Qlow {qlow}: implausible (hook effect, recent IVIg); repeat", numbers=_NUMBERS
)
REGION = Reason("region {region}: {label}", numbers=_NUMBERS)
WORDS = (*SOURCES, *LABELS.values())
"""The texts its reasons quote (the catalogues list them: `locale/sources.toml`)."""


@register(
    name="reibergram_igg",
    title="Reibergram region for IgG (1–5)",
    citation=CITATION,
    input_model=ReibergramIggInput,
    vectorized=_frame,
    checks=(*_csf.IGG_CHECKS, NEEDS_LIMIT),
)
def reibergram_igg(inp: ReibergramIggInput) -> Grading:
    """Region 1–5 of the IgG Reibergram."""
    c = _csf.columns_of(inp, (*_csf.ALBUMIN_FIELDS, *_csf.IGG_FIELDS, "age_years", "qalb_uln_e3"))
    region_a, q, limit_a = _regions(c)
    region, limit = int(region_a), float(limit_a)
    qalb, qigg, qlim, qlow = (float(x) for x in (q.qalb_e3, q.qigg_e3, q.qlim_e3, q.qlow_e3))
    source = SOURCES[0] if inp.qalb_uln_e3 is not None else SOURCES[1]
    reasons = [
        QALB(qalb=f"{qalb:g}", relation=">" if qalb > limit else "≤", limit=f"{limit:g}",
             source=source),
        QIGG(qigg=f"{qigg:g}", relation=">" if qigg > qlim else "≤", qlim=f"{qlim:g}"),
    ]  # fmt: skip
    if region == 5:
        reasons.append(IMPLAUSIBLE(qigg=f"{qigg:g}", qlow=f"{qlow:g}"))
    reasons.append(REGION(region=region, label=LABELS[region]))
    return Grading(
        value=region,
        label=LABELS[region],
        reasons=reasons,
        warnings=_csf.low_serum_igg_warning(float(q.serum_igg_g_l)),
        details={
            "qalb_e3": qalb,
            "qigg_e3": qigg,
            "qlim_e3": qlim,
            "qlow_e3": qlow,
            "qalb_limit_e3": limit,
        },
    )
