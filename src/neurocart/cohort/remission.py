"""Drug-free remission rates at fixed time points with exact (Clopper–Pearson) CIs.

Definition per patient: `neurocart.outcomes.definitions` (in remission and no maintenance
immunotherapy at the time point). Denominator = patients evaluable at the time point with the
scale the definition needs; patients followed for less are left out (not counted as failures).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from neurocart.cohort.stats import clopper_pearson
from neurocart.outcomes.definitions import DISEASE_LABELS, DISEASES

COLUMNS = ["month", "group", "n_evaluable", "n_drug_free_remission", "rate", "ci_lower", "ci_upper"]


def remission_rates(
    outcomes_by_month: Mapping[int, pd.DataFrame], level: float = 0.95
) -> pd.DataFrame:
    """Rate of drug-free remission per month and disease (and all), from `patient_outcomes`."""
    rows = []
    for month, table in outcomes_by_month.items():
        usable = table[table["evaluable"] & table["drug_free_remission"].notna()]
        groups: Sequence[tuple[str, pd.DataFrame]] = [
            *[
                (g, usable[usable["diagnosis"] == g])
                for g in DISEASES
                if g in set(table["diagnosis"])
            ],
            ("all", usable),
        ]
        for group, sub in groups:
            n = len(sub)
            k = int(sub["drug_free_remission"].astype(bool).sum())
            low, high = clopper_pearson(k, n, level)
            rows.append(
                {
                    "month": month,
                    "group": DISEASE_LABELS.get(group, "All"),
                    "n_evaluable": n,
                    "n_drug_free_remission": k,
                    "rate": k / n if n else float("nan"),
                    "ci_lower": low,
                    "ci_upper": high,
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)
