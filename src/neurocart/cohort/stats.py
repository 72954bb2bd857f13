"""Small statistics the cohort tables need: exact binomial CIs and effect sizes."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy import stats  # type: ignore[import-untyped]

Z95 = 1.959963984540054


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper–Pearson) confidence interval of k successes in n trials.

    Clopper CJ, Pearson ES. Biometrika 1934;26:404–13. Computed by scipy's binomtest
    (`proportion_ci(method="exact")`). n = 0 gives (nan, nan).
    """
    if n == 0:
        return math.nan, math.nan
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
    return float(ci.low), float(ci.high)


def standardized_mean_difference(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """Cohen's d with the pooled SD of the two groups' variances (Austin PC, Stat Med 2009).

    SMD = (mean_a − mean_b) / sqrt((var_a + var_b) / 2); NaNs ignored.
    """
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    x, y = x[~np.isnan(x)], y[~np.isnan(y)]
    if len(x) < 2 or len(y) < 2:
        return math.nan
    pooled = math.sqrt((np.var(x, ddof=1) + np.var(y, ddof=1)) / 2.0)
    if pooled == 0:
        return 0.0 if x.mean() == y.mean() else math.inf * np.sign(x.mean() - y.mean())
    return float((x.mean() - y.mean()) / pooled)


def odds_ratio(a: int, b: int, c: int, d: int) -> tuple[float, float, float]:
    """Odds ratio (a·d)/(b·c) of a 2×2 table [[a, b], [c, d]] with a Woolf (log) 95 % CI.

    A zero cell adds 0.5 to every cell (Haldane–Anscombe correction).
    """
    if 0 in (a, b, c, d):
        a, b, c, d = (x + 0.5 for x in (a, b, c, d))  # type: ignore[assignment]
    ratio = (a * d) / (b * c)
    se = math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    return ratio, math.exp(math.log(ratio) - Z95 * se), math.exp(math.log(ratio) + Z95 * se)
