"""Shared pieces of the CSF/serum quotient calculators (Qalb, IgG index, IgG_IF, Reibergram,
κFLC index): the unit variants of each concentration, the conversions labs need, and the
rounding applied before any cut-off comparison.

Every concentration can arrive in one of two units (serum albumin in g/L or g/dL, CSF albumin
and IgG in mg/L or mg/dL, free light chains in mg/L or mg/dL). Exactly one of the two must be
given; both or neither is an error naming the first field, because a silent choice between two
disagreeing numbers is how unit slips become diagnoses. Conversions: g/dL × 10 = g/L and
mg/dL × 10 = mg/L.

Ratios and percentages are rounded to 6 decimals before they are compared with a limit
(binary floating point: 38.4/32 − 1 = 0.19999…), and returned rounded the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from neurocart.standards.inputs import Check, Columns, field
from neurocart.standards.reason import Reason

DL_TO_L = 10.0
"""g/dL × 10 = g/L; mg/dL × 10 = mg/L."""

DECIMALS = 6


def rounded(x: Any) -> Any:
    """Round ratios and percentages (numpy scalars or arrays) to 6 decimals."""
    return np.round(x, DECIMALS)


@dataclass(frozen=True)
class Pair:
    """One quantity with its two unit variants: `per_l` (canonical) and `per_dl` (× 10)."""

    per_l: str
    per_dl: str

    def check(self) -> Check:
        """Exactly one of the two fields must be given."""
        return Check(
            self.per_l,
            f"give exactly one of {self.per_l} or {self.per_dl}",
            lambda c: np.isnan(c[self.per_l]) == np.isnan(c[self.per_dl]),
        )

    def value(self, c: Columns) -> npt.NDArray[np.float64]:
        """The quantity in the per-litre unit, whichever variant was given."""
        per_l = np.asarray(c[self.per_l], dtype=np.float64)
        per_dl = np.asarray(c[self.per_dl], dtype=np.float64)
        return np.where(np.isnan(per_l), per_dl * DL_TO_L, per_l)

    def given(self, model: Any) -> str:
        """Which field was used, with its value and the conversion, for the reasons."""
        a, b = getattr(model, self.per_l), getattr(model, self.per_dl)
        if a is not None:
            return GIVEN(field=self.per_l, value=f"{a:g}")
        return GIVEN_DL(field=self.per_dl, value=f"{b:g}")


_FIELD_NAME = r"(?:csf|serum)_[a-z]+_(?:mg|g)_d?l"
GIVEN = Reason("{field} {value}", patterns={"field": _FIELD_NAME}, numbers=("value",))
"""The input a quotient used: its field (which names the unit) and value."""
GIVEN_DL = Reason("{field} {value} (× 10)", patterns={"field": _FIELD_NAME}, numbers=("value",))

CSF_ALBUMIN = Pair("csf_albumin_mg_l", "csf_albumin_mg_dl")
SERUM_ALBUMIN = Pair("serum_albumin_g_l", "serum_albumin_g_dl")
CSF_IGG = Pair("csf_igg_mg_l", "csf_igg_mg_dl")
SERUM_IGG = Pair("serum_igg_g_l", "serum_igg_g_dl")
CSF_KFLC = Pair("csf_kflc_mg_l", "csf_kflc_mg_dl")
SERUM_KFLC = Pair("serum_kflc_mg_l", "serum_kflc_mg_dl")
FIELDS = tuple(
    name
    for pair in (CSF_ALBUMIN, SERUM_ALBUMIN, CSF_IGG, SERUM_IGG, CSF_KFLC, SERUM_KFLC)
    for name in (pair.per_l, pair.per_dl)
)
"""The concentration fields the reasons name (a face shows each as its unit)."""


def csf_albumin_mg_l() -> Any:
    """The CSF albumin input in mg/L, shared by the CSF calculators."""
    return field(None, description="CSF albumin", unit="mg/L", gt=0, le=30000)


def csf_albumin_mg_dl() -> Any:
    """The CSF albumin input in mg/dL, shared by the CSF calculators."""
    return field(None, description="CSF albumin", unit="mg/dL", gt=0, le=3000)


def serum_albumin_g_l() -> Any:
    """The serum albumin input in g/L, shared by the CSF calculators."""
    # neurocart check: outside 5–80 g/L is not a living patient's serum albumin, and the
    # floor catches g/dL sent as g/L.
    return field(None, description="serum albumin (neurocart check 5–80 g/L)", unit="g/L",
                 ge=5, le=80)  # fmt: skip


def serum_albumin_g_dl() -> Any:
    """The serum albumin input in g/dL, shared by the CSF calculators."""
    return field(None, description="serum albumin (neurocart check 0.5–8 g/dL)", unit="g/dL",
                 ge=0.5, le=8)  # fmt: skip


def csf_igg_mg_l() -> Any:
    """The CSF IgG input in mg/L, shared by the IgG calculators."""
    return field(None, description="CSF IgG", unit="mg/L", gt=0, le=20000)


def csf_igg_mg_dl() -> Any:
    """The CSF IgG input in mg/dL, shared by the IgG calculators."""
    return field(None, description="CSF IgG", unit="mg/dL", gt=0, le=2000)


def serum_igg_g_l() -> Any:
    """The serum IgG input in g/L, shared by the IgG calculators."""
    return field(None, description="serum IgG (neurocart check ≤ 100 g/L)", unit="g/L",
                 gt=0, le=100)  # fmt: skip


def serum_igg_g_dl() -> Any:
    """The serum IgG input in g/dL, shared by the IgG calculators."""
    return field(None, description="serum IgG (neurocart check ≤ 10 g/dL)", unit="g/dL",
                 gt=0, le=10)  # fmt: skip


def age_years() -> Any:
    """The age input, which sets the age-dependent upper limit of Qalb."""
    return field(None, description="age at the lumbar puncture", unit="years", ge=0, le=120)


def qalb_uln_e3() -> Any:
    """The laboratory's own upper limit of Qalb, used instead of the age formula."""
    return field(
        None,
        description="the laboratory's upper limit of Qalb × 10³ (overrides the age formula)",
        unit="× 10⁻³",
        gt=0,
        lt=1000,
    )


QALB_BELOW_SERUM = Check(
    "csf_albumin_mg_l",
    "CSF albumin must be below serum albumin (Qalb × 10³ < 1000): check the units",
    lambda c: qalb_e3(c) >= 1000,
)


def qalb_e3(c: Columns) -> npt.NDArray[np.float64]:
    """Qalb × 10³ = CSF albumin (mg/L) ÷ serum albumin (g/L)."""
    return np.asarray(CSF_ALBUMIN.value(c) / SERUM_ALBUMIN.value(c), dtype=np.float64)


def qalb_limit_e3(age: Any) -> Any:
    """Reiber's age-dependent upper limit of Qalb × 10³: 4 + age/15 (valid from age 5)."""
    return 4.0 + np.asarray(age, dtype=np.float64) / 15.0


AGE_FORMULA_FROM = 5.0
"""The 4 + age/15 formula applies from 5 years; infant limits come from the laboratory."""


def reference_limit_e3(c: Columns) -> npt.NDArray[np.float64]:
    """The Qalb limit in force: the lab's ULN when given, else the age formula; NaN if none."""
    age = np.asarray(c["age_years"], dtype=np.float64)
    uln = np.asarray(c["qalb_uln_e3"], dtype=np.float64)
    with np.errstate(invalid="ignore"):
        by_age = np.where(age >= AGE_FORMULA_FROM, qalb_limit_e3(age), np.nan)
    return np.asarray(np.where(np.isnan(uln), by_age, uln), dtype=np.float64)


def columns_of(model: Any, names: tuple[str, ...]) -> dict[str, npt.NDArray[Any]]:
    """The named fields of one validated input as 0-d float arrays (NaN when absent)."""
    out: dict[str, npt.NDArray[Any]] = {}
    for name in names:
        v = getattr(model, name)
        out[name] = np.asarray(np.nan if v is None else float(v))
    return out


ALBUMIN_FIELDS = (
    "csf_albumin_mg_l",
    "csf_albumin_mg_dl",
    "serum_albumin_g_l",
    "serum_albumin_g_dl",
)
IGG_FIELDS = ("csf_igg_mg_l", "csf_igg_mg_dl", "serum_igg_g_l", "serum_igg_g_dl")

CITATION_REIBER_2012 = (
    "Reiber H, et al. Fluids Barriers CNS 2012;9:17 (doi:10.1186/2045-8118-9-17); Reiber H. "
    "J Neurol Sci 1994;122:189–203"
)
CITATION_DGN_2020 = (
    "DGN S1 guideline lumbar puncture and CSF analysis, Neurol Res Pract 2020 "
    "(doi:10.1186/s42466-020-0051-z)"
)


def q_fraction(csf_mg_l: Any, serum_g_l: Any) -> Any:
    """A CSF/serum quotient as a fraction: mg/L ÷ (g/L × 1000)."""
    return csf_mg_l / (serum_g_l * 1000.0)


def igg_qlim(qalb: Any) -> Any:
    """Reiber's upper hyperbola of QIgG (mean + 3 SD): 0.93·√(QAlb² + 6·10⁻⁶) − 1.7·10⁻³."""
    return 0.93 * np.sqrt(qalb**2 + 6e-6) - 1.7e-3


def igg_qlow(qalb: Any) -> Any:
    """Reiber's lower hyperbola of QIgG: 0.33·√(QAlb² + 2·10⁻⁶) − 0.3·10⁻³."""
    return 0.33 * np.sqrt(qalb**2 + 2e-6) - 0.3e-3


@dataclass(frozen=True)
class IggQuotients:
    """QAlb, QIgG and the hyperbola limits for one or many inputs, all × 10³ and rounded."""

    qalb_e3: npt.NDArray[np.float64]
    qigg_e3: npt.NDArray[np.float64]
    qlim_e3: npt.NDArray[np.float64]
    qlow_e3: npt.NDArray[np.float64]
    serum_igg_g_l: npt.NDArray[np.float64]
    qlim_over_qigg: npt.NDArray[np.float64]
    """Qlim/QIgG unrounded: the fraction is computed before rounding, the comparisons after."""

    @property
    def synthesis(self) -> npt.NDArray[np.bool_]:
        return np.asarray(self.qigg_e3 > self.qlim_e3)

    @property
    def below_lower(self) -> npt.NDArray[np.bool_]:
        return np.asarray(self.qigg_e3 < self.qlow_e3)

    @property
    def intrathecal_fraction(self) -> npt.NDArray[np.float64]:
        """IgG_IF in %: (1 − Qlim/QIgG) × 100 above Qlim, else 0."""
        with np.errstate(invalid="ignore"):
            raw = (1.0 - self.qlim_over_qigg) * 100.0
        return np.asarray(rounded(np.where(self.synthesis, raw, 0.0)), dtype=np.float64)


def igg_quotients(c: Columns) -> IggQuotients:
    """Compute Qalb, QIgG and Reiber's Qlim and Qlow (× 10³) from the albumin and IgG inputs."""
    albumin = q_fraction(CSF_ALBUMIN.value(c), SERUM_ALBUMIN.value(c))
    serum_igg = SERUM_IGG.value(c)
    igg = q_fraction(CSF_IGG.value(c), serum_igg)
    qlim = igg_qlim(albumin)
    return IggQuotients(
        qalb_e3=rounded(albumin * 1000.0),
        qigg_e3=rounded(igg * 1000.0),
        qlim_e3=rounded(qlim * 1000.0),
        qlow_e3=rounded(igg_qlow(albumin) * 1000.0),
        serum_igg_g_l=serum_igg,
        qlim_over_qigg=np.asarray(qlim / igg, dtype=np.float64),
    )


IGG_CHECKS = (
    CSF_ALBUMIN.check(),
    SERUM_ALBUMIN.check(),
    CSF_IGG.check(),
    SERUM_IGG.check(),
    QALB_BELOW_SERUM,
)

SERUM_IGG_LOW_G_L = 7.0
"""A common adult lower limit of serum IgG; below it linear indices read falsely high."""


def low_serum_igg_warning(serum_igg_g_l: float) -> list[str]:
    """Warn when serum IgG is low enough to make IgG indices falsely positive."""
    if serum_igg_g_l < SERUM_IGG_LOW_G_L:
        return [LOW_SERUM_IGG(igg=f"{serum_igg_g_l:g}", limit=f"{SERUM_IGG_LOW_G_L:g}")]
    return []


LOW_SERUM_IGG = Reason(
    "serum IgG {igg} g/L is below a common lower limit ({limit} g/L; check the laboratory's): "
    "low serum IgG gives false-positive indices (common after BCMA CAR-T and with IVIg "
    "substitution)",
    numbers=("igg", "limit"),
)
