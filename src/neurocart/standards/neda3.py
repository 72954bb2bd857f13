"""NEDA-3: no evidence of disease activity (multiple sclerosis), three domains.

Havrdova E, Galetta S, Hutchinson M, et al. Effect of natalizumab on clinical and radiological
disease activity in multiple sclerosis: a retrospective analysis of the Natalizumab Safety and
Efficacy in Relapsing-Remitting Multiple Sclerosis (AFFIRM) study. Lancet Neurol
2009;8(3):254–260. doi:10.1016/S1474-4422(09)70021-3.

NEDA-3 holds over an assessment period when all three hold:

1. no relapse,
2. no confirmed disability worsening (confirmed EDSS worsening; see `disability_change`),
3. no MRI activity: no new or enlarging T2 lesion **and** no gadolinium-enhancing lesion.

value 1 = NEDA-3 achieved, 0 = evidence of disease activity; `reasons` name every failed
component. The caller decides the assessment period and the MRI comparison scan (typically the
re-baseline scan after treatment start); the counts given here are for that period. NEDA-4
(adds brain-volume loss) is not implemented. The origin of the concept is cited from memory
(not checked against the paper here).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from neurocart.standards.inputs import CalcInput, Columns, field
from neurocart.standards.reason import Reason
from neurocart.standards.registry import Grading, register

CITATION = (
    "Havrdova E et al. Effect of natalizumab on clinical and radiological disease activity in "
    "multiple sclerosis: a retrospective analysis of the AFFIRM study. Lancet Neurol "
    "2009;8(3):254–260. doi:10.1016/S1474-4422(09)70021-3"
)

LABEL_NEDA = "NEDA-3"
LABEL_ACTIVITY = "evidence of disease activity"
WORDS = (LABEL_ACTIVITY,)
"""Its labels (the catalogues list them: `locale/sources.toml`)."""
RELAPSES = Reason("{n} relapse(s): clinical activity", numbers=("n",))
WORSENING = Reason("confirmed disability worsening: disability activity")
T2 = Reason("{n} new or enlarging T2 lesion(s): MRI activity", numbers=("n",))
GD = Reason("{n} gadolinium-enhancing lesion(s): MRI activity", numbers=("n",))
NONE = Reason(
    "no relapse, no confirmed disability worsening, no new or enlarging T2 lesion and no "
    "gadolinium-enhancing lesion: NEDA-3"
)


class Neda3Input(CalcInput):
    """Relapses, confirmed disability worsening and MRI activity over one assessment period, the
    three parts of NEDA-3."""

    relapses: int = field(description="relapses during the assessment period", ge=0, le=100)
    confirmed_worsening: bool = field(
        description="confirmed disability worsening during the assessment period"
    )
    new_or_enlarging_t2: int = field(
        description="new or enlarging T2 lesions against the reference MRI", ge=0, le=1000
    )
    gd_enhancing: int = field(description="gadolinium-enhancing lesions", ge=0, le=1000)


def _neda(relapses: Any, worsening: Any, t2: Any, gd: Any) -> Any:
    """True where no component shows activity (numpy: scalars and arrays alike)."""
    return (relapses == 0) & ~np.asarray(worsening, dtype=bool) & (t2 == 0) & (gd == 0)


def _frame(c: Columns) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    ok = _neda(c["relapses"], c["confirmed_worsening"], c["new_or_enlarging_t2"], c["gd_enhancing"])
    values = np.where(ok, 1, 0).astype(np.int64)
    labels = np.where(ok, LABEL_NEDA, LABEL_ACTIVITY).astype(object)
    return values, labels


@register(
    name="neda3",
    title="NEDA-3 (no evidence of disease activity: relapse, disability, MRI)",
    citation=CITATION,
    input_model=Neda3Input,
    vectorized=_frame,
)
def neda3(inp: Neda3Input) -> Grading:
    """1 when no relapse, no confirmed worsening, no new/enlarging T2 and no Gd lesion."""
    failed: list[str] = []
    if inp.relapses > 0:
        failed.append(RELAPSES(n=inp.relapses))
    if inp.confirmed_worsening:
        failed.append(WORSENING())
    if inp.new_or_enlarging_t2 > 0:
        failed.append(T2(n=inp.new_or_enlarging_t2))
    if inp.gd_enhancing > 0:
        failed.append(GD(n=inp.gd_enhancing))
    achieved = bool(
        _neda(inp.relapses, inp.confirmed_worsening, inp.new_or_enlarging_t2, inp.gd_enhancing)
    )
    assert achieved == (not failed)
    reasons = failed or [NONE()]
    return Grading(
        value=1 if achieved else 0,
        label=LABEL_NEDA if achieved else LABEL_ACTIVITY,
        reasons=reasons,
        details={
            "clinical_relapse_free": inp.relapses == 0,
            "disability_worsening_free": not inp.confirmed_worsening,
            "mri_activity_free": inp.new_or_enlarging_t2 == 0 and inp.gd_enhancing == 0,
        },
    )
