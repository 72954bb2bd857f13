"""EASIX and modified EASIX: endothelial activation and stress indices.

EASIX = LDH (U/L) × creatinine (mg/dL) ÷ platelets (10⁹/L).
    Luft T, Benner A, Jodele S, et al. EASIX in patients with acute graft-versus-host disease:
    a retrospective cohort analysis. Lancet Haematol 2017;4(9):e414–e423.
    doi:10.1016/S2352-3026(17)30108-4.
m-EASIX = LDH (U/L) × CRP (mg/dL) ÷ platelets (10⁹/L).
    Pennisi M, Sanchez-Escamilla M, Flynn JR, et al. Modified EASIX predicts severe cytokine
    release syndrome and neurotoxicity after chimeric antigen receptor T cells. Blood Adv
    2021;5(17):3397–3406. doi:10.1182/bloodadvances.2020003885.

Both are continuous early-warning indices, not grades: their cut-offs are cohort-specific and
live in the monitoring rule file with their source, never here. Inputs arrive in SI units and
are converted once: creatinine mg/dL = µmol/L ÷ 88.42; CRP mg/dL = mg/L ÷ 10.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from neurocart.standards._labels import by_format
from neurocart.standards.inputs import CalcInput, Columns, field
from neurocart.standards.reason import Reason
from neurocart.standards.registry import Grading, register

CREATININE_UMOL_PER_MG_DL = 88.42
CRP_MG_L_PER_MG_DL = 10.0

EASIX_CITATION = (
    "Luft T et al. EASIX in patients with acute graft-versus-host disease. "
    "Lancet Haematol 2017;4(9):e414–e423. doi:10.1016/S2352-3026(17)30108-4"
)
M_EASIX_CITATION = (
    "Pennisi M et al. Modified EASIX predicts severe cytokine release syndrome and "
    "neurotoxicity after CAR T cells. Blood Adv 2021;5(17):3397–3406. "
    "doi:10.1182/bloodadvances.2020003885"
)


def _ldh() -> Any:
    return field(description="lactate dehydrogenase", unit="U/L", gt=0, le=20000)


def _platelets() -> Any:
    return field(description="platelet count", unit="×10⁹/L", gt=0, le=2000)


class EasixInput(CalcInput):
    """LDH, creatinine and platelets, the three labs of EASIX, in SI units (creatinine in µmol/L;
    converted to mg/dL as the score expects)."""

    ldh_u_l: float = _ldh()
    creatinine_umol_l: float = field(description="serum creatinine", unit="µmol/L", gt=0, le=3000)
    platelets_10e9_l: float = _platelets()


class MEasixInput(CalcInput):
    """LDH, CRP and platelets, the three labs of m-EASIX (CRP in mg/L, converted to mg/dL as the
    score expects)."""

    ldh_u_l: float = _ldh()
    crp_mg_l: float = field(description="C-reactive protein", unit="mg/L", ge=0, le=1000)
    platelets_10e9_l: float = _platelets()


def _index(ldh: Any, marker_mg_dl: Any, platelets: Any) -> Any:
    return ldh * marker_mg_dl / platelets


def _labels(values: npt.NDArray[np.float64]) -> npt.NDArray[Any]:
    return by_format(values, "%.3g")


def _label(value: float) -> str:
    return str(_labels(np.asarray([value]))[0])


def _easix_frame(c: Columns) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    values = _index(
        c["ldh_u_l"], c["creatinine_umol_l"] / CREATININE_UMOL_PER_MG_DL, c["platelets_10e9_l"]
    )
    return values, _labels(values)


def _m_easix_frame(c: Columns) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    values = _index(c["ldh_u_l"], c["crp_mg_l"] / CRP_MG_L_PER_MG_DL, c["platelets_10e9_l"])
    return values, _labels(values)


_NUMBERS = ("umol", "mg", "mg_l", "ldh", "marker", "platelets", "value")
CREATININE = Reason("creatinine {umol} µmol/L = {mg} mg/dL (÷ 88.42)", numbers=_NUMBERS)
EASIX = Reason(
    "EASIX = LDH {ldh} U/L × creatinine {marker} mg/dL ÷ platelets {platelets} ×10⁹/L = {value}",
    numbers=_NUMBERS,
)
CRP = Reason("CRP {mg_l} mg/L = {mg} mg/dL (÷ 10)", numbers=_NUMBERS)
M_EASIX = Reason(
    "m-EASIX = LDH {ldh} U/L × CRP {marker} mg/dL ÷ platelets {platelets} ×10⁹/L = {value}",
    numbers=_NUMBERS,
)
CONTINUOUS = Reason("continuous index: its cut-offs are cohort-specific (see the monitoring rules)")


@register(
    name="easix",
    title="EASIX (endothelial activation and stress index)",
    citation=EASIX_CITATION,
    input_model=EasixInput,
    vectorized=_easix_frame,
)
def easix(inp: EasixInput) -> Grading:
    """LDH × creatinine (mg/dL) ÷ platelets."""
    creatinine_mg_dl = inp.creatinine_umol_l / CREATININE_UMOL_PER_MG_DL
    value = float(_index(inp.ldh_u_l, creatinine_mg_dl, inp.platelets_10e9_l))
    return Grading(
        value=value,
        label=_label(value),
        reasons=[
            CREATININE(umol=f"{inp.creatinine_umol_l:g}", mg=f"{creatinine_mg_dl:.3g}"),
            EASIX(
                ldh=f"{inp.ldh_u_l:g}",
                marker=f"{creatinine_mg_dl:.3g}",
                platelets=f"{inp.platelets_10e9_l:g}",
                value=f"{value:.3g}",
            ),
        ],
        warnings=[CONTINUOUS()],
    )


@register(
    name="m_easix",
    title="Modified EASIX (CRP in place of creatinine)",
    citation=M_EASIX_CITATION,
    input_model=MEasixInput,
    vectorized=_m_easix_frame,
)
def m_easix(inp: MEasixInput) -> Grading:
    """LDH × CRP (mg/dL) ÷ platelets."""
    crp_mg_dl = inp.crp_mg_l / CRP_MG_L_PER_MG_DL
    value = float(_index(inp.ldh_u_l, crp_mg_dl, inp.platelets_10e9_l))
    return Grading(
        value=value,
        label=_label(value),
        reasons=[
            CRP(mg_l=f"{inp.crp_mg_l:g}", mg=f"{crp_mg_dl:.3g}"),
            M_EASIX(
                ldh=f"{inp.ldh_u_l:g}",
                marker=f"{crp_mg_dl:.3g}",
                platelets=f"{inp.platelets_10e9_l:g}",
                value=f"{value:.3g}",
            ),
        ],
        warnings=[CONTINUOUS()],
    )
