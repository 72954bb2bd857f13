"""IgG index (Link and Tibbling): intrathecal IgG production, as a linear ratio of quotients.

Link H, Tibbling G. Principles of albumin and IgG analyses in neurological disorders. III.
Evaluation of IgG synthesis within the central nervous system in multiple sclerosis. Scand J
Clin Lab Invest 1977;37:397–401. Formula and limits as in Kleine TO, "IgG-Index", Lexikon der
medizinischen Laboratoriumsdiagnostik (doi:10.1007/978-3-662-49054-9_1513) and the reference
laboratories' test catalogues (ARUP 0050676, LabCorp 029396, Mayo, UCSF).

value = (CSF IgG / serum IgG) ÷ (CSF albumin / serum albumin) — dimensionless.

The upper limit differs between sources: > 0.7 (borderline 0.6–0.7) in the textbook entry;
LabCorp 0.0–0.7, ARUP 0.28–0.66, UCSF 0.23–0.64, Mayo 0.00–0.85. neurocart's default is
**0.7**, the classical Link–Tibbling limit used by the textbook and two US reference
laboratories; a centre passes its laboratory's value as `igg_index_uln`. A value equal to the
limit is `normal` (elevated means above it).

Known failure: every linear formula fails when Qalb is raised (barrier dysfunction) — then the
index reads high without any intrathecal synthesis; the reasons point to `igg_if` (Reiber's
hyperbolic function). Low serum IgG also raises the index falsely: a warning is given below
7 g/L (a common adult lower limit; a neurocart choice, the laboratory's limit governs).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from neurocart.standards import _csf
from neurocart.standards.csf_limits import IGG_INDEX_ULN
from neurocart.standards.inputs import CalcInput, Columns, field
from neurocart.standards.reason import Reason
from neurocart.standards.registry import Grading, register

CITATION = (
    "Link H, Tibbling G. Scand J Clin Lab Invest 1977;37:397–401; Kleine TO, IgG-Index, Lexikon "
    "der medizinischen Laboratoriumsdiagnostik, doi:10.1007/978-3-662-49054-9_1513"
)
DEFAULT_ULN = IGG_INDEX_ULN


class IggIndexInput(CalcInput):
    """The inputs of the IgG index: CSF and serum albumin and IgG, and the lab's upper limit."""

    csf_albumin_mg_l: float | None = _csf.csf_albumin_mg_l()
    csf_albumin_mg_dl: float | None = _csf.csf_albumin_mg_dl()
    serum_albumin_g_l: float | None = _csf.serum_albumin_g_l()
    serum_albumin_g_dl: float | None = _csf.serum_albumin_g_dl()
    csf_igg_mg_l: float | None = _csf.csf_igg_mg_l()
    csf_igg_mg_dl: float | None = _csf.csf_igg_mg_dl()
    serum_igg_g_l: float | None = _csf.serum_igg_g_l()
    serum_igg_g_dl: float | None = _csf.serum_igg_g_dl()
    igg_index_uln: float = field(
        DEFAULT_ULN, description="upper limit of the IgG index (the laboratory's)", gt=0, le=5
    )


def _index(c: Columns) -> npt.NDArray[np.float64]:
    q_igg = _csf.CSF_IGG.value(c) / _csf.SERUM_IGG.value(c)
    q_alb = _csf.CSF_ALBUMIN.value(c) / _csf.SERUM_ALBUMIN.value(c)
    return np.asarray(_csf.rounded(q_igg / q_alb), dtype=np.float64)


def _frame(c: Columns) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    value = _index(c)
    labels = np.where(value > _csf.rounded(c["igg_index_uln"]), "elevated", "normal")
    return value, labels.astype(object)


FORMULA = Reason(
    "IgG index = (CSF IgG {csf} ÷ serum IgG {serum}) ÷ (CSF albumin {csf_albumin} ÷ serum "
    "albumin {serum_albumin}) = {value}",
    numbers=("value",),
)
AGAINST_LIMIT = Reason(
    "{value} {relation} upper limit {uln}: {label}",
    numbers=("value", "uln"),
    patterns={"relation": "[>≤]"},
)
QALB_CAVEAT = Reason(
    "Qalb × 10³ = {qalb}: the linear index fails when Qalb is raised (barrier dysfunction); "
    "read Reiber's intrathecal fraction (igg_if) then",
    numbers=("qalb",),
)
LABELS = ("elevated", "normal")
"""Its labels (the catalogues list them: `locale/sources.toml`)."""


@register(
    name="igg_index",
    title="IgG index (Link–Tibbling)",
    citation=CITATION,
    input_model=IggIndexInput,
    vectorized=_frame,
    checks=_csf.IGG_CHECKS,
)
def igg_index(inp: IggIndexInput) -> Grading:
    """(QIgG) ÷ (QAlb) against the upper limit (default 0.7)."""
    c = {
        **_csf.columns_of(inp, (*_csf.ALBUMIN_FIELDS, *_csf.IGG_FIELDS)),
        "igg_index_uln": np.asarray(inp.igg_index_uln),
    }
    values, labels = _frame(c)
    value, label = float(values), str(labels.item())
    serum_igg = float(_csf.SERUM_IGG.value(c))
    qalb_e3 = float(_csf.rounded(_csf.qalb_e3(c)))
    relation = ">" if label == "elevated" else "≤"
    reasons = [
        FORMULA(
            csf=_csf.CSF_IGG.given(inp),
            serum=_csf.SERUM_IGG.given(inp),
            csf_albumin=_csf.CSF_ALBUMIN.given(inp),
            serum_albumin=_csf.SERUM_ALBUMIN.given(inp),
            value=f"{value:g}",
        ),
        AGAINST_LIMIT(
            value=f"{value:g}", relation=relation, uln=f"{inp.igg_index_uln:g}", label=label
        ),
        QALB_CAVEAT(qalb=f"{qalb_e3:g}"),
    ]
    return Grading(
        value=value,
        label=label,
        reasons=reasons,
        warnings=_csf.low_serum_igg_warning(serum_igg),
        details={"qalb_e3": qalb_e3, "igg_index_uln": inp.igg_index_uln},
    )
