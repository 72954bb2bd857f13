"""Oligoclonal IgG bands: the CSF/serum pattern type (1–5) from isoelectric focusing.

Isoelectric focusing on agarose with IgG immunoblot is the reference method — Freedman MS, et
al. Recommended standard of cerebrospinal fluid analysis in the diagnosis of multiple
sclerosis: a consensus statement. Arch Neurol 2005;62:865–70 (doi:10.1001/archneur.62.6.865);
laboratories report the five CSF/serum patterns — Andersson M, et al. JNNP 1994;57:897–902;
type 4 is the "mirror pattern" (Marastoni D, et al. J Neurol 2025;272:207,
doi:10.1007/s00415-025-12947-y).

1. no CSF-restricted bands; 2. CSF-restricted bands (intrathecal synthesis); 3. CSF-restricted
bands plus identical bands in CSF and serum; 4. identical bands in CSF and serum only (mirror:
systemic); 5. monoclonal band(s) in CSF and serum (paraprotein).

Rule, in order: monoclonal → 5 if the restricted bands are fewer than the threshold, else 3;
restricted ≥ threshold → 2 without identical bands, else 3; identical ≥ 2 → 4; else 1.

Threshold: ≥ 2 CSF-restricted bands is positive (2017 McDonald criteria, as reintroduced by
Mayo and used by ARUP) — the default; ≥ 4 only to match an older local laboratory report.
A single identical band is type 1 with a warning to ask the laboratory whether it is
monoclonal (a neurocart convention). The counts, not only "positive", are what is stored.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from neurocart.standards.inputs import CalcInput, Columns, field
from neurocart.standards.reason import Reason
from neurocart.standards.registry import Grading, register

CITATION = (
    "Freedman MS, et al. Arch Neurol 2005;62:865–70, doi:10.1001/archneur.62.6.865; Andersson M, "
    "et al. J Neurol Neurosurg Psychiatry 1994;57:897–902; Thompson AJ, et al. Lancet Neurol "
    "2018;17:162–73 (2017 McDonald criteria, ≥ 2 bands)"
)

LABELS = {
    1: "negative",
    2: "positive",
    3: "positive (intrathecal + systemic)",
    4: "systemic/mirror",
    5: "monoclonal",
}


class OcbPatternInput(CalcInput):
    """The inputs of the oligoclonal band pattern: the bands seen in CSF and serum."""

    csf_restricted_bands: int = field(
        description="IgG bands in CSF that are absent from serum", ge=0, le=100
    )
    identical_bands: int = field(0, description="bands identical in CSF and serum", ge=0, le=100)
    monoclonal: bool = field(False, description="monoclonal band(s) in CSF and serum")
    csf_specific_threshold: int = field(
        2, description="CSF-restricted bands needed for a positive result", ge=1, le=20
    )


def _types(c: Columns) -> npt.NDArray[np.int64]:
    restricted = c["csf_restricted_bands"]
    identical = c["identical_bands"]
    threshold = c["csf_specific_threshold"]
    monoclonal = np.asarray(c["monoclonal"], dtype=bool)
    reaches = restricted >= threshold
    return np.asarray(
        np.where(
            monoclonal,
            np.where(reaches, 3, 5),
            np.where(reaches, np.where(identical == 0, 2, 3), np.where(identical >= 2, 4, 1)),
        ),
        dtype=np.int64,
    )


def _frame(c: Columns) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    types = _types(c)
    labels = np.asarray([LABELS[int(t)] for t in np.atleast_1d(types)], dtype=object)
    return types, labels.reshape(np.shape(types))


_NUMBERS = ("restricted", "identical", "t", "kind")
BANDS = Reason(
    "{restricted} CSF-restricted band(s), {identical} identical band(s); positive from {t} "
    "CSF-restricted bands",
    numbers=_NUMBERS,
)
BANDS_MONOCLONAL = Reason(
    "{restricted} CSF-restricted band(s), {identical} identical band(s), monoclonal band(s); "
    "positive from {t} CSF-restricted bands",
    numbers=_NUMBERS,
)
TOO_FEW = Reason(
    "{restricted} CSF-restricted band(s) < {t}: not counted as CSF-specific", numbers=_NUMBERS
)
TYPE = Reason("type {kind}: {label}", numbers=_NUMBERS)
SINGLE_BAND = Reason(
    "a single band identical in CSF and serum: ask the laboratory whether it is monoclonal "
    "(neurocart convention)"
)
OTHER_THRESHOLD = Reason(
    "threshold {t} instead of the McDonald definition (≥ 2 bands)", numbers=_NUMBERS
)
WORDS = tuple(LABELS.values())
"""Its labels (the catalogues list them: `locale/sources.toml`)."""


@register(
    name="ocb_pattern",
    title="Oligoclonal band pattern type (1–5)",
    citation=CITATION,
    input_model=OcbPatternInput,
    vectorized=_frame,
)
def ocb_pattern(inp: OcbPatternInput) -> Grading:
    """Pattern type 1–5 from the CSF-restricted and identical band counts."""
    c = {
        "csf_restricted_bands": np.asarray(float(inp.csf_restricted_bands)),
        "identical_bands": np.asarray(float(inp.identical_bands)),
        "csf_specific_threshold": np.asarray(float(inp.csf_specific_threshold)),
        "monoclonal": np.asarray(inp.monoclonal),
    }
    kind = int(_types(c))
    t = inp.csf_specific_threshold
    counts = {"restricted": inp.csf_restricted_bands, "identical": inp.identical_bands, "t": t}
    reasons = [(BANDS_MONOCLONAL if inp.monoclonal else BANDS)(**counts)]
    warnings: list[str] = []
    if 0 < inp.csf_restricted_bands < t:
        reasons.append(TOO_FEW(**counts))
    if kind == 1 and inp.identical_bands == 1:
        warnings.append(SINGLE_BAND())
    if t != 2:
        warnings.append(OTHER_THRESHOLD(t=t))
    reasons.append(TYPE(kind=kind, label=LABELS[kind]))
    return Grading(
        value=kind,
        label=LABELS[kind],
        reasons=reasons,
        warnings=warnings,
        details={"csf_specific_positive": kind in (2, 3)},
    )
