"""κ free light chain index: intrathecal B-cell activity, interchangeable with oligoclonal
bands as evidence of CSF-specific immunoglobulin in the 2024 McDonald criteria.

Formula: (CSF κFLC / serum κFLC) ÷ QAlb, QAlb as a fraction — Presslauer S, et al. Mult Scler
2016; Leurs CE, et al. Mult Scler 2020;26:912–23 (doi:10.1177/1352458519845844); Hegen H, et al.
Mult Scler 2023;29:169–81 (doi:10.1177/13524585221134213).
Cut-off: **≥ 6.1**, the value "performing best" for the 2024 McDonald CSF panel — Deisenhammer
F, Hegen H, et al. eBioMedicine 2025;120:105905. Other published cut-offs: 6.6 (Leurs 2020,
Gaussian mixture), a literature range of 4.25–12.3 (J Neurol 2023, doi:10.1007/s00415-023-11952-3);
all are assay-specific (validated turbidimetric or nephelometric assays): a centre passes its
own as `kflc_index_cutoff` and should store which assay it used.

Below the limit of detection a CSF κFLC is never entered as 0: the LoD is given as the value
and `csf_kflc_below_lod` set. The index is then an upper bound (`censored: "upper"`): `negative`
when the bound is below the cut-off, otherwise `indeterminate`.

Not this index: Mayo's absolute CSF κFLC (positive ≥ 0.1 mg/dL) is a different test. The λFLC
index uses the same formula (cut-off 6.9, less accurate than OCB) and is stored, not graded.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from neurocart.standards import _csf
from neurocart.standards.csf_limits import KFLC_INDEX_CUTOFF
from neurocart.standards.inputs import CalcInput, Columns, field
from neurocart.standards.reason import Reason
from neurocart.standards.registry import Grading, register

CITATION = (
    "Deisenhammer F, Hegen H, et al. eBioMedicine 2025;120:105905 (cut-off 6.1); Leurs CE, et "
    "al. Mult Scler 2020;26:912–23, doi:10.1177/1352458519845844; Hegen H, et al. Mult Scler "
    "2023;29:169–81, doi:10.1177/13524585221134213"
)
DEFAULT_CUTOFF = KFLC_INDEX_CUTOFF


class KflcIndexInput(CalcInput):
    """The inputs of the κ free light chain index: CSF and serum κFLC and albumin, each in either
    unit.
    """

    csf_kflc_mg_l: float | None = field(
        None, description="CSF κ free light chains (the LoD when below it)", unit="mg/L",
        gt=0, le=10000,
    )  # fmt: skip
    csf_kflc_mg_dl: float | None = field(
        None, description="CSF κ free light chains (the LoD when below it)", unit="mg/dL",
        gt=0, le=1000,
    )  # fmt: skip
    serum_kflc_mg_l: float | None = field(
        None, description="serum κ free light chains", unit="mg/L", gt=0, le=200000
    )
    serum_kflc_mg_dl: float | None = field(
        None, description="serum κ free light chains", unit="mg/dL", gt=0, le=20000
    )
    csf_albumin_mg_l: float | None = _csf.csf_albumin_mg_l()
    csf_albumin_mg_dl: float | None = _csf.csf_albumin_mg_dl()
    serum_albumin_g_l: float | None = _csf.serum_albumin_g_l()
    serum_albumin_g_dl: float | None = _csf.serum_albumin_g_dl()
    kflc_index_cutoff: float = field(
        DEFAULT_CUTOFF, description="positive at or above this index (assay-specific)", gt=0,
        le=100,
    )  # fmt: skip
    csf_kflc_below_lod: bool = field(
        False, description="CSF κFLC was below the limit of detection (value = the LoD)"
    )


KFLC_FIELDS = ("csf_kflc_mg_l", "csf_kflc_mg_dl", "serum_kflc_mg_l", "serum_kflc_mg_dl")
CHECKS = (
    _csf.CSF_KFLC.check(),
    _csf.SERUM_KFLC.check(),
    _csf.CSF_ALBUMIN.check(),
    _csf.SERUM_ALBUMIN.check(),
    _csf.QALB_BELOW_SERUM,
)


def _index(c: Columns) -> npt.NDArray[np.float64]:
    q_kappa = _csf.CSF_KFLC.value(c) / _csf.SERUM_KFLC.value(c)
    q_alb = _csf.q_fraction(_csf.CSF_ALBUMIN.value(c), _csf.SERUM_ALBUMIN.value(c))
    return np.asarray(_csf.rounded(q_kappa / q_alb), dtype=np.float64)


def _frame(c: Columns) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    value = _index(c)
    reaches = value >= _csf.rounded(c["kflc_index_cutoff"])
    censored = np.asarray(c["csf_kflc_below_lod"], dtype=bool)
    labels = np.where(reaches, np.where(censored, "indeterminate", "positive"), "negative").astype(
        object
    )
    return value, labels


FORMULA = Reason(
    "κFLC index = (CSF κFLC {csf} ÷ serum κFLC {serum}) ÷ QAlb (CSF albumin {csf_albumin} ÷ "
    "serum albumin {serum_albumin}) = {value}",
    numbers=("value",),
)
BELOW_LOD = Reason("CSF κFLC below the limit of detection: the index is an upper bound")
_NUMBERS = ("value", "cutoff")
POSITIVE = Reason("{value} ≥ cut-off {cutoff}: intrathecal κFLC synthesis", numbers=_NUMBERS)
INDETERMINATE = Reason(
    "upper bound {value} ≥ cut-off {cutoff}: cannot say whether the index reaches it",
    numbers=_NUMBERS,
)
NEGATIVE = Reason("{value} < cut-off {cutoff}: no intrathecal κFLC synthesis", numbers=_NUMBERS)
OTHER_CUTOFF = Reason(
    "cut-off {cutoff} instead of the consensus 6.1 (assay-specific)", numbers=_NUMBERS
)
LABELS = ("positive", "indeterminate", "negative")
"""Its labels (the catalogues list them: `locale/sources.toml`)."""


@register(
    name="kflc_index",
    title="κ free light chain index (CSF/serum κFLC ÷ QAlb)",
    citation=CITATION,
    input_model=KflcIndexInput,
    vectorized=_frame,
    checks=CHECKS,
)
def kflc_index(inp: KflcIndexInput) -> Grading:
    """κFLC quotient ÷ albumin quotient against the cut-off (default 6.1)."""
    c = {
        **_csf.columns_of(inp, (*KFLC_FIELDS, *_csf.ALBUMIN_FIELDS)),
        "kflc_index_cutoff": np.asarray(inp.kflc_index_cutoff),
        "csf_kflc_below_lod": np.asarray(inp.csf_kflc_below_lod),
    }
    values, labels = _frame(c)
    value, label = float(values), str(labels.item())
    cutoff = inp.kflc_index_cutoff
    reasons = [
        FORMULA(
            csf=_csf.CSF_KFLC.given(inp),
            serum=_csf.SERUM_KFLC.given(inp),
            csf_albumin=_csf.CSF_ALBUMIN.given(inp),
            serum_albumin=_csf.SERUM_ALBUMIN.given(inp),
            value=f"{value:g}",
        )
    ]
    details: dict[str, Any] = {"kflc_index_cutoff": cutoff}
    if inp.csf_kflc_below_lod:
        details["censored"] = "upper"
        reasons.append(BELOW_LOD())
    said = {"value": f"{value:g}", "cutoff": f"{cutoff:g}"}
    if label == "positive":
        reasons.append(POSITIVE(**said))
    elif label == "indeterminate":
        reasons.append(INDETERMINATE(**said))
    else:
        reasons.append(NEGATIVE(**said))
    warnings = []
    if cutoff != DEFAULT_CUTOFF:
        warnings.append(OTHER_CUTOFF(cutoff=f"{cutoff:g}"))
    return Grading(value=value, label=label, reasons=reasons, warnings=warnings, details=details)
