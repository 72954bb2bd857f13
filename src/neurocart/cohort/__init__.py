"""Cohort analytics for notebooks and reports: every function returns DataFrames or Figures.

>>> from neurocart import cohort
>>> times = cohort.relapse_free_times(frames)            # doctest: +SKIP
>>> cohort.km_table(cohort.kaplan_meier(times))          # doctest: +SKIP
>>> cohort.analyse(frames, cutoff=date(2026, 1, 1)).tables  # doctest: +SKIP
"""

from __future__ import annotations

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
