"""Cohort analytics for notebooks and reports: every function returns DataFrames or Figures.

>>> from neurocart import cohort
>>> times = cohort.relapse_free_times(frames)            # doctest: +SKIP
>>> cohort.km_table(cohort.kaplan_meier(times))          # doctest: +SKIP
>>> cohort.analyse(frames, cutoff=date(2026, 1, 1)).tables  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from neurocart.lazy import lazy_getattr

if TYPE_CHECKING:
    from neurocart.cohort import clock
    from neurocart.cohort.analysis import (
        REMISSION_MONTHS,
        CohortAnalysis,
        analyse,
        spider_changes,
        swimmer_marks,
    )
    from neurocart.cohort.remission import remission_rates
    from neurocart.cohort.safety import icaht_grades, toxicity_table, worst_grades
    from neurocart.cohort.stats import clopper_pearson, odds_ratio, standardized_mean_difference
    from neurocart.cohort.stratify import (
        CoxResult,
        baseline_features,
        cox_design,
        cox_model,
        effect_sizes,
    )
    from neurocart.cohort.survival import kaplan_meier, km_table, relapse_free_times

_EXPORTS: dict[str, str] = {
    "clock": "neurocart.cohort.clock",
    "REMISSION_MONTHS": "neurocart.cohort.analysis",
    "CohortAnalysis": "neurocart.cohort.analysis",
    "analyse": "neurocart.cohort.analysis",
    "spider_changes": "neurocart.cohort.analysis",
    "swimmer_marks": "neurocart.cohort.analysis",
    "remission_rates": "neurocart.cohort.remission",
    "icaht_grades": "neurocart.cohort.safety",
    "toxicity_table": "neurocart.cohort.safety",
    "worst_grades": "neurocart.cohort.safety",
    "clopper_pearson": "neurocart.cohort.stats",
    "odds_ratio": "neurocart.cohort.stats",
    "standardized_mean_difference": "neurocart.cohort.stats",
    "CoxResult": "neurocart.cohort.stratify",
    "baseline_features": "neurocart.cohort.stratify",
    "cox_design": "neurocart.cohort.stratify",
    "cox_model": "neurocart.cohort.stratify",
    "effect_sizes": "neurocart.cohort.stratify",
    "kaplan_meier": "neurocart.cohort.survival",
    "km_table": "neurocart.cohort.survival",
    "relapse_free_times": "neurocart.cohort.survival",
}
"""Where each public name lives: imported on first use, so that importing the package
(or one of its light modules) does not load the statistics and plotting libraries."""


__getattr__ = lazy_getattr(__name__, _EXPORTS, globals())


__all__ = [
    "REMISSION_MONTHS",
    "CohortAnalysis",
    "CoxResult",
    "analyse",
    "baseline_features",
    "clock",
    "clopper_pearson",
    "cox_design",
    "cox_model",
    "effect_sizes",
    "icaht_grades",
    "kaplan_meier",
    "km_table",
    "odds_ratio",
    "relapse_free_times",
    "remission_rates",
    "spider_changes",
    "standardized_mean_difference",
    "swimmer_marks",
    "toxicity_table",
    "worst_grades",
]
