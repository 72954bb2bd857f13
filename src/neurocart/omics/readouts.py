"""Per-sample readouts from annotated cells, and their comparison across patients.

Everything here works on the cell table (AnnData ``obs``: one row per cell, columns
``sample_id``, ``study_id``, ``tissue``, ``study_day``, ``lineage``, ``cell_type``,
``car_positive``, ``clone_id``, ``receptor_type``) and needs no scanpy.

Definitions, per sample (percentages 0–100):

- ``car_pct_of_t``: CAR+ T cells / T cells.
- ``b_cell_pct``, ``plasma_cell_pct``: B cells (naive + memory) and plasmablasts + plasma
  cells / leukocytes (every cell but contaminants: erythrocytes, platelets).
- ``expanded_clone_pct``: T cells with a TCR whose clonotype has ≥ 2 cells *in this sample*
  / T cells with a TCR.
- ``csf_blood_car_ratio`` (CSF samples): CSF ``car_pct_of_t`` / that of the blood sample of
  the same patient and study day; empty without a paired blood sample or when blood has none.
- ``csf_blood_overlap_pct`` (CSF samples): CSF T cells with a TCR whose clonotype is also
  found in the paired blood sample / CSF T cells with a TCR.
- ``product_overlap_pct`` (post-infusion CSF and blood samples): T cells with a TCR whose
  clonotype is found in the patient's infusion product / T cells with a TCR.

A proportion whose denominator is 0 is empty (NaN), never 0.

Statistics across patients use one number per patient per sample — proportions of that
patient's cells — never cells as replicates: cells of one patient are not independent, and
treating them so would turn thousands of cells from three patients into a spurious p-value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from neurocart.i18n import N_
from neurocart.standards.reason import Reason

COLUMNS = (
    "sample_id", "study_id", "tissue", "study_day", "n_cells", "n_t_cells", "n_car_t_cells",
    "car_pct_of_t", "b_cell_pct", "plasma_cell_pct", "expanded_clone_pct",
    "csf_blood_car_ratio", "csf_blood_overlap_pct", "product_overlap_pct",
)  # fmt: skip
SMALL_N = 10
"""Below this many patients, comparisons are printed with the small-n caveat."""


def _pct(part: int, whole: int) -> float:
    return float("nan") if whole == 0 else 100.0 * part / whole


def _tcr_clones(cells: pd.DataFrame) -> pd.Series:
    """The clone ids of T cells with a TCR in `cells` (index kept)."""
    mask = (cells["lineage"].astype(str) == "T") & cells["clone_id"].notna()
    if "receptor_type" in cells:
        mask &= cells["receptor_type"].astype(str) == "TCR"
    return cells.loc[mask, "clone_id"].astype(str)


def sample_readouts(obs: pd.DataFrame) -> pd.DataFrame:
    """One row per sample (columns `COLUMNS`), in order of first appearance."""
    rows = []
    groups = {str(k): g for k, g in obs.groupby("sample_id", sort=False, observed=True)}
    meta = obs.drop_duplicates("sample_id").set_index("sample_id")
    for sample_id, cells in groups.items():
        lineage = cells["lineage"].astype(str)
        leukocytes = int((lineage != "contaminant").sum())
        t = lineage == "T"
        n_t = int(t.sum())
        n_car = int((t & cells["car_positive"].astype(bool)).sum())
        clones = _tcr_clones(cells)
        sizes = clones.map(clones.value_counts())
        rows.append({
            "sample_id": sample_id,
            "study_id": meta.at[sample_id, "study_id"],
            "tissue": meta.at[sample_id, "tissue"],
            "study_day": int(str(meta.at[sample_id, "study_day"])),
            "n_cells": len(cells),
            "n_t_cells": n_t,
            "n_car_t_cells": n_car,
            "car_pct_of_t": _pct(n_car, n_t),
            "b_cell_pct": _pct(int((lineage == "B").sum()), leukocytes),
            "plasma_cell_pct": _pct(int((lineage == "plasma").sum()), leukocytes),
            "expanded_clone_pct": _pct(int((sizes >= 2).sum()), len(clones)),
        })  # fmt: skip
    table = pd.DataFrame(rows)
    _paired(table, groups)
    return table.reindex(columns=list(COLUMNS))


def _paired(table: pd.DataFrame, groups: dict[str, pd.DataFrame]) -> None:
    """Fill the CSF/blood and product comparisons in place."""
    for column in ("csf_blood_car_ratio", "csf_blood_overlap_pct", "product_overlap_pct"):
        table[column] = np.nan
    for i, row in table.iterrows():
        same_patient = table["study_id"] == row["study_id"]
        if row["tissue"] == "csf":
            blood = table[
                same_patient
                & (table["tissue"] == "blood")
                & (table["study_day"] == row["study_day"])
            ]
            if len(blood):
                b = blood.iloc[0]
                if b["car_pct_of_t"] > 0 and not np.isnan(row["car_pct_of_t"]):
                    table.at[i, "csf_blood_car_ratio"] = row["car_pct_of_t"] / b["car_pct_of_t"]
                csf_clones = _tcr_clones(groups[row["sample_id"]])
                blood_clones = set(_tcr_clones(groups[b["sample_id"]]))
                table.at[i, "csf_blood_overlap_pct"] = _pct(
                    int(csf_clones.isin(blood_clones).sum()), len(csf_clones)
                )
        if row["tissue"] in ("csf", "blood") and row["study_day"] >= 0:
            products = table[same_patient & (table["tissue"] == "product")]
            if len(products):
                product_clones: set[str] = set()
                for sid in products["sample_id"]:
                    product_clones |= set(_tcr_clones(groups[sid]))
                clones = _tcr_clones(groups[row["sample_id"]])
                table.at[i, "product_overlap_pct"] = _pct(
                    int(clones.isin(product_clones).sum()), len(clones)
                )


@dataclass(frozen=True, slots=True)
class Comparison:
    """A paired comparison across patients of one readout (one value per patient per arm)."""

    measure: str
    label_a: str
    label_b: str
    n_patients: int
    median_a: float
    median_b: float
    p_value: float | None
    test: str
    caveat: str

    def text(self) -> str:
        p = "n/a" if self.p_value is None else f"{self.p_value:.3g}"
        return (
            f"{self.measure}: {self.label_a} median {self.median_a:.3g} vs {self.label_b} "
            f"median {self.median_b:.3g} (n = {self.n_patients} patients; {self.test}, p = {p})"
            + (f"\n  caveat: {self.caveat}" if self.caveat else "")
        )


CAVEAT = Reason(
    "only {n} patient(s): one proportion per patient, never cells as replicates; read the "
    "medians and each patient's values, not the p-value",
    numbers=("n",),
)
CAVEAT_FLOOR = Reason(
    "only {n} patient(s): one proportion per patient, never cells as replicates; the smallest "
    "two-sided p-value possible is {floor}; read the medians and each patient's values, not "
    "the p-value",
    numbers=("n", "floor"),
)


def caveat(n: int) -> str:
    """The small-n warning printed beside every comparison of fewer than `SMALL_N` patients."""
    if n >= SMALL_N:
        return ""
    if n < 1:
        return CAVEAT(n=n)
    return CAVEAT_FLOOR(n=n, floor=f"{2 / 2**n:.3g}")


EXACT_WILCOXON = N_("Wilcoxon signed-rank, exact")
APPROXIMATE_WILCOXON = N_("Wilcoxon signed-rank, normal approximation")
EXACT_MAX_PAIRS = 500
"""Pairs up to which the signed-rank p is exact. The exact null distribution costs the cube
of the pair count (a tenth of a second at 500, minutes at the thousands of pairs of a
network's cohort); beyond it the normal approximation with continuity correction, which at
that size agrees with the exact p far closer than the three figures reported. The test
named beside each p says which."""
ARMS = (N_("before"), N_("after"))
"""The test and the arms' names a comparison states (words of the catalogues: the page of a
run shows them translated)."""


def paired_comparison(
    a: pd.Series, b: pd.Series, measure: str, label_a: str, label_b: str
) -> Comparison:
    """Wilcoxon signed-rank on per-patient values `a` and `b` (same index: study ID), exact
    up to `EXACT_MAX_PAIRS` pairs."""
    from scipy.stats import wilcoxon  # type: ignore[import-untyped]

    both = pd.concat([a.rename("a"), b.rename("b")], axis=1).dropna()
    n = len(both)
    exact = n <= EXACT_MAX_PAIRS
    p: float | None = None
    if n >= 2 and not np.allclose(both["a"], both["b"]):
        p = float(
            wilcoxon(
                both["a"], both["b"], method="exact" if exact else "approx",
                zero_method="zsplit", correction=not exact,
            ).pvalue
        )  # fmt: skip
    return Comparison(
        measure, label_a, label_b, n,
        float(both["a"].median()) if n else float("nan"),
        float(both["b"].median()) if n else float("nan"),
        p, EXACT_WILCOXON if exact else APPROXIMATE_WILCOXON, caveat(n),
    )  # fmt: skip


def compare_patients(readouts: pd.DataFrame) -> list[Comparison]:
    """B/plasma fractions before vs after infusion (blood), and CAR+ % CSF vs blood.

    Before: each patient's last blood sample before day 0. After: the last blood sample after
    day 0. CSF vs blood: per patient, the median over the days with both samples.
    """
    out = []
    blood = readouts[readouts["tissue"] == "blood"].sort_values("study_day")
    before = blood[blood["study_day"] < 0].groupby("study_id").last()
    after = blood[blood["study_day"] > 0].groupby("study_id").last()
    for measure in ("b_cell_pct", "plasma_cell_pct"):
        if measure in before and measure in after:
            out.append(
                paired_comparison(before[measure], after[measure], f"blood {measure}", *ARMS)
            )
    csf = readouts[readouts["tissue"] == "csf"][["study_id", "study_day", "car_pct_of_t"]]
    pairs = csf.merge(
        blood[["study_id", "study_day", "car_pct_of_t"]],
        on=["study_id", "study_day"],
        suffixes=("_csf", "_blood"),
    )
    if len(pairs):
        per = pairs.groupby("study_id")[["car_pct_of_t_csf", "car_pct_of_t_blood"]].median()
        out.append(
            paired_comparison(
                per["car_pct_of_t_csf"], per["car_pct_of_t_blood"], "car_pct_of_t", "CSF", "blood"
            )
        )
    return out
