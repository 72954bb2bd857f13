"""Non-compartmental analysis (NCA) of one concentration–time profile.

Conventions (the usual ones of cellular-kinetics reports of CAR-T products, e.g. the
tisagenlecleucel and ciltacabtagene autoleucel clinical-pharmacology reviews; neurocart states
them here because publications rarely do):

* Time is elapsed days since infusion (float). Samples before infusion are ignored.
* Values below the lower limit of quantification (`lloq`) are set to 0 ("BLQ = 0"). A value
  exactly at the LLOQ is quantifiable.
* Cmax is the highest observed value after infusion over the whole profile; Tmax its study day
  (floor of the elapsed days; the earliest sample when several share the maximum).
* AUC0–28 uses the linear-up/log-down trapezoidal rule: an interval whose value rises or stays
  equal, or that has a 0 (BLQ) end, uses the linear trapezoid (c1 + c2)/2·Δt; a falling interval
  with both ends > 0 uses the log trapezoid (c1 − c2)·Δt / ln(c1/c2).
* The profile starts at C(0) = 0 when there is no sample at exactly t = 0 (no transgene
  before the cells are given).
* If the last sample before day 28 is followed by one after it, the value at day 28 is
  interpolated in the same way (linear when rising or with a BLQ end, log-linear when falling)
  and the partial interval is integrated to day 28. Without a sample after day 28 the AUC ends at
  the last sample (AUC0–tlast, flagged `auc_truncated`); nothing is extrapolated.
* Last detectable day = the study day of the last quantifiable sample (persistence).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

AUC_END_DAYS = 28.0


@dataclass(frozen=True, slots=True)
class Profile:
    """NCA of one profile; `None` where the profile has no quantifiable value."""

    n_samples: int
    cmax: float | None
    tmax_day: int | None
    auc_0_28: float | None
    auc_truncated: bool
    last_detectable_day: int | None
    detected: bool


def segment_auc(t1: float, c1: float, t2: float, c2: float) -> float:
    """Area of one interval by the linear-up/log-down rule."""
    dt = t2 - t1
    if c2 >= c1 or c1 <= 0 or c2 <= 0:
        return (c1 + c2) / 2.0 * dt
    return (c1 - c2) * dt / math.log(c1 / c2)


def interpolate(t1: float, c1: float, t2: float, c2: float, t: float) -> float:
    """Value at `t` within [t1, t2]: linear when rising or with a 0 end, log-linear when falling."""
    if t2 == t1:
        return c2
    f = (t - t1) / (t2 - t1)
    if c2 >= c1 or c1 <= 0 or c2 <= 0:
        return c1 + (c2 - c1) * f
    return math.exp(math.log(c1) + (math.log(c2) - math.log(c1)) * f)


def auc(t: npt.ArrayLike, c: npt.ArrayLike, end: float = AUC_END_DAYS) -> tuple[float | None, bool]:
    """AUC from 0 to `end` (linear-up/log-down) and whether it stopped early at the last sample.

    `t` must be sorted, ≥ 0, without duplicates; `c` already has BLQ set to 0.
    """
    times = [float(x) for x in np.asarray(t, dtype=float)]
    values = [float(x) for x in np.asarray(c, dtype=float)]
    if not times:
        return None, True
    if times[0] > 0:
        times.insert(0, 0.0)
        values.insert(0, 0.0)
    area = 0.0
    for i in range(1, len(times)):
        t1, c1, t2, c2 = times[i - 1], values[i - 1], times[i], values[i]
        if t1 >= end:
            return area, False
        if t2 > end:
            c_end = interpolate(t1, c1, t2, c2, end)
            return area + segment_auc(t1, c1, end, c_end), False
        area += segment_auc(t1, c1, t2, c2)
    return area, times[-1] < end


def profile(
    t_days: npt.ArrayLike, values: npt.ArrayLike, *, lloq: float = 0.0, end: float = AUC_END_DAYS
) -> Profile:
    """NCA of one profile: elapsed days since infusion and values (any order)."""
    t = np.asarray(t_days, dtype=float)
    c = np.asarray(values, dtype=float)
    keep = (t >= 0) & ~np.isnan(c) & ~np.isnan(t)
    t, c = t[keep], c[keep]
    order = np.argsort(t, kind="stable")
    t, c = t[order], c[order]
    if len(t) and np.any(np.diff(t) == 0):
        # Replicates at one instant: their mean is the value at that time.
        uniq, inverse = np.unique(t, return_inverse=True)
        c = np.bincount(inverse, weights=c) / np.bincount(inverse)
        t = uniq
    c = np.where(c >= lloq, c, 0.0) if lloq > 0 else np.where(c > 0, c, 0.0)
    quantifiable = c > 0 if lloq <= 0 else c >= lloq
    n = len(t)
    if not quantifiable.any():
        area, truncated = auc(t, c, end) if n else (None, True)
        return Profile(n, None, None, area, truncated, None, False)
    i_max = int(np.argmax(c))
    area, truncated = auc(t, c, end)
    last = int(np.flatnonzero(quantifiable)[-1])
    return Profile(
        n_samples=n,
        cmax=float(c[i_max]),
        tmax_day=math.floor(t[i_max]),
        auc_0_28=area,
        auc_truncated=truncated,
        last_detectable_day=math.floor(t[last]),
        detected=True,
    )
