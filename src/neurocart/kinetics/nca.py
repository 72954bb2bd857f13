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


@dataclass(frozen=True, slots=True)
class Profiles:
    """`profile` of many profiles, one entry per profile (NaN where `Profile` has None)."""

    n_samples: npt.NDArray[np.int64]
    cmax: npt.NDArray[np.float64]
    tmax_day: npt.NDArray[np.float64]
    auc_0_28: npt.NDArray[np.float64]
    auc_truncated: npt.NDArray[np.bool_]
    last_detectable_day: npt.NDArray[np.float64]
    detected: npt.NDArray[np.bool_]


def profiles(
    profile_of: npt.ArrayLike,
    t_days: npt.ArrayLike,
    values: npt.ArrayLike,
    count: int,
    *,
    lloq: float = 0.0,
    end: float = AUC_END_DAYS,
) -> Profiles:
    """`profile` of `count` profiles at once: `profile_of` numbers each sample's profile
    (0 … count − 1, samples in any order), with its elapsed days and value.

    A cohort has ~16,000 profiles of a few samples each; one `profile` call apiece spends its
    time in numpy's per-call overhead. The same steps run here on all samples at once, the
    same floating-point operations in the same order (the areas of a profile are added one
    after the other, as `auc` does; logarithms and the interpolation at `end` by `math`, as
    there), so every entry equals its `profile` exactly (a test holds them to it).
    """
    group = np.asarray(profile_of, dtype=np.intp)
    t = np.asarray(t_days, dtype=float)
    c = np.asarray(values, dtype=float)
    keep = (t >= 0) & ~np.isnan(c) & ~np.isnan(t)
    order = np.lexsort((t[keep], group[keep]))  # stable: by profile, then time, ties as given
    group, t, c = group[keep][order], t[keep][order], c[keep][order]
    if len(t):  # replicates at one instant: their mean (summed in order, as `profile` does)
        new = np.r_[True, (group[1:] != group[:-1]) | (t[1:] != t[:-1])]
        point = np.cumsum(new) - 1
        c = np.bincount(point, weights=c) / np.bincount(point)
        group, t = group[new], t[new]
    c = np.where(c >= lloq, c, 0.0) if lloq > 0 else np.where(c > 0, c, 0.0)
    quantifiable = c > 0 if lloq <= 0 else c >= lloq
    n = np.bincount(group, minlength=count).astype(np.int64)
    detected = np.zeros(count, dtype=bool)
    detected[group[quantifiable]] = True
    cmax = np.zeros(count)
    np.maximum.at(cmax, group, c)
    at_max = np.flatnonzero(c == cmax[group])
    first_max = np.full(count, len(t))  # the earliest sample of the maximum
    np.minimum.at(first_max, group[at_max], at_max)
    last = np.full(count, -1)  # the latest quantifiable sample
    np.maximum.at(last, group[quantifiable], np.flatnonzero(quantifiable))
    days = np.floor(np.r_[t, np.nan])  # a profile without a sample points past the end
    area, truncated = _areas(group, t, c, n, end)
    return Profiles(
        n_samples=n,
        cmax=np.where(detected, cmax, np.nan),
        tmax_day=np.where(detected, days[first_max], np.nan),
        auc_0_28=area,
        auc_truncated=truncated,
        last_detectable_day=np.where(detected, days[np.where(detected, last, len(t))], np.nan),
        detected=detected,
    )


def _areas(
    group: npt.NDArray[np.intp],
    t: npt.NDArray[np.float64],
    c: npt.NDArray[np.float64],
    n: npt.NDArray[np.int64],
    end: float,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """`auc` of each profile (points by profile and time, times unique within one).

    The intervals wholly up to `end` count in full, the one across it up to `end` (the
    interpolated value there), none after; `auc` stops at the same interval.
    """
    count = len(n)
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]]) if len(t) else np.zeros(0, int)
    late = starts[t[starts] > 0]  # C(0) = 0 before a profile without a sample at 0
    group = np.insert(group, late, group[late])
    t = np.insert(t, late, 0.0)
    c = np.insert(c, late, 0.0)
    same = group[1:] == group[:-1]
    t1, c1, t2, c2 = t[:-1][same], c[:-1][same], t[1:][same], c[1:][same]
    owner = group[1:][same]
    linear = (c2 >= c1) | (c1 <= 0) | (c2 <= 0)
    dt = t2 - t1
    segment = (c1 + c2) / 2.0 * dt
    falling = np.flatnonzero(~linear)
    with np.errstate(over="ignore"):  # a ratio past the largest float: inf, as in Python
        ratios = (c1[falling] / c2[falling]).tolist()
    logs = np.array([math.log(x) for x in ratios], dtype=float)
    segment[falling] = (c1[falling] - c2[falling]) * dt[falling] / logs
    across = np.flatnonzero((t1 < end) & (t2 > end))
    ends = zip(t1[across].tolist(), c1[across].tolist(), t2[across].tolist(),
               c2[across].tolist(), strict=True)  # fmt: skip
    segment[across] = [segment_auc(a, b, end, interpolate(a, b, d, e, end)) for a, b, d, e in ends]
    counted = t2 <= end
    counted[across] = True
    area = np.where(n > 0, 0.0, np.nan)
    if counted.any():  # each profile's areas added in order, as `auc` adds them
        first = np.searchsorted(owner, owner)  # the profile's first interval
        column = np.arange(len(owner)) - first
        table = np.zeros((count, int(column.max()) + 1))
        table[owner[counted], column[counted]] = segment[counted]
        for k in range(table.shape[1]):
            area += table[:, k]
    last_t = np.full(count, -np.inf)
    np.maximum.at(last_t, group, t)
    return area, (n == 0) | (last_t < end)
