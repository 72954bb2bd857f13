"""Annualized relapse rate (ARR) of one patient.

ARR = relapses ÷ (follow-up days ÷ 365.25): relapses per patient-year, the person-years
method described in Akaishi T, Ishii T, Aoki M, Nakashima I. Calculating and comparing the
annualized relapse rate and estimating the confidence interval in relapsing neurological
diseases. Front Neurol 2022;13:875456. doi:10.3389/fneur.2022.875456.

Neurocart conventions:

* **Year length 365.25 days** (the Julian year, which averages leap years). So 2 relapses in
  730 days give 2 ÷ (730 ÷ 365.25) = 1.0007, not 1.0; the `reasons` show the computation.
* Follow-up shorter than 365 days gives a warning: one relapse in a few weeks extrapolates to
  a large, unstable rate (a count over a short window has a wide confidence interval).
* A **cohort** ARR is total relapses ÷ total patient-years (pooled), **not** the mean of
  individual ARRs; trials model it with negative-binomial regression and an offset of
  log(patient-years). That belongs in the cohort layer, not in this per-patient calculator.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from neurocart.standards._labels import by_format
from neurocart.standards.inputs import CalcInput, Columns, field
from neurocart.standards.reason import Reason
from neurocart.standards.registry import Grading, register

DAYS_PER_YEAR = 365.25
"""Julian year: the average calendar year including leap days."""

SHORT_FOLLOW_UP_DAYS = 365
"""Below this follow-up the rate is flagged as an unstable estimate."""

CITATION = (
    "Akaishi T et al. Calculating and comparing the annualized relapse rate and estimating the "
    "confidence interval in relapsing neurological diseases. Front Neurol 2022;13:875456. "
    "doi:10.3389/fneur.2022.875456"
)


class ArrInput(CalcInput):
    """Relapse count and follow-up length, from which the annualized relapse rate (relapses per
    patient-year) is computed."""

    relapses: int = field(description="relapses during follow-up", ge=0, le=1000)
    follow_up_days: int = field(description="length of follow-up", unit="days", gt=0, le=36525)


def _rate(relapses: Any, days: Any) -> Any:
    return relapses / (days / DAYS_PER_YEAR)


def _labels(values: npt.NDArray[np.float64]) -> npt.NDArray[Any]:
    return by_format(values, "ARR %.2f")


def _frame(c: Columns) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    values = np.asarray(_rate(c["relapses"], c["follow_up_days"]), dtype=np.float64)
    return values, _labels(values)


_NUMBERS = ("days", "years", "relapses", "rate")
YEARS = Reason("follow-up {days} days ÷ 365.25 days/year = {years} patient-years", numbers=_NUMBERS)
RATE = Reason("ARR = {relapses} relapse(s) ÷ {years} years = {rate} per year", numbers=_NUMBERS)
SHORT = Reason(
    "follow-up {days} days < 1 year: unstable estimate (a short window extrapolates a few "
    "relapses to a large yearly rate)",
    numbers=_NUMBERS,
)


@register(
    name="arr",
    title="Annualized relapse rate (one patient)",
    citation=CITATION,
    input_model=ArrInput,
    vectorized=_frame,
)
def arr(inp: ArrInput) -> Grading:
    """Relapses per patient-year, with a year of 365.25 days."""
    years = inp.follow_up_days / DAYS_PER_YEAR
    value = float(_rate(float(inp.relapses), float(inp.follow_up_days)))
    warnings = []
    if inp.follow_up_days < SHORT_FOLLOW_UP_DAYS:
        warnings.append(SHORT(days=inp.follow_up_days))
    return Grading(
        value=value,
        label=str(_labels(np.asarray([value]))[0]),
        reasons=[
            YEARS(days=inp.follow_up_days, years=f"{years:.4f}"),
            RATE(relapses=inp.relapses, years=f"{years:.4f}", rate=f"{value:.4f}"),
        ],
        warnings=warnings,
        details={"patient_years": years, "days_per_year": DAYS_PER_YEAR},
    )
