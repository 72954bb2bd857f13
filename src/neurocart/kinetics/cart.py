"""CAR-T cellular kinetics per patient and compartment (blood, CSF), from tidy observations.

Two measures exist (frames contract): transgene copies per µg genomic DNA by qPCR
(`local:cart_copies_blood` / `local:cart_copies_csf`) and CAR+ cells per µL by flow cytometry
(`local:car_t_cells_blood` / `local:car_t_cells_csf`). The NCA conventions are those of
`neurocart.kinetics.nca`.

CSF/blood ratio: each CSF sample is paired with the blood sample of the same measure closest in
time within ± `tolerance_days` (default 1 day: CSF and blood are drawn at the same visit);
ratio = CSF / blood. A pair whose blood value is BLQ has no ratio (division by ~0); a BLQ CSF
value gives ratio 0. The patient's summary is the median ratio over the pairs.

Default LLOQs are neurocart conventions, not published values: set them to the validated
LLOQ of the laboratory's assay (`lloq=`).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from neurocart.kinetics.days import with_days
from neurocart.kinetics.nca import AUC_END_DAYS, profiles

Measure = Literal["copies", "cells"]
COMPARTMENTS = ("blood", "csf")

CODES: dict[Measure, dict[str, str]] = {
    "copies": {"blood": "local:cart_copies_blood", "csf": "local:cart_copies_csf"},
    "cells": {"blood": "local:car_t_cells_blood", "csf": "local:car_t_cells_csf"},
}
UNITS: dict[Measure, str] = {"copies": "copies/µg DNA", "cells": "cells/µL"}
DEFAULT_LLOQ: dict[Measure, float] = {"copies": 10.0, "cells": 0.1}
"""Neurocart defaults (not from a publication): override with the assay's validated LLOQ."""

DEFAULT_TOLERANCE_DAYS = 1.0

KINETICS_COLUMNS = [
    "study_id",
    "compartment",
    "measure",
    "unit",
    "n_samples",
    "cmax",
    "tmax_day",
    "auc_0_28",
    "auc_truncated",
    "detected",
    "last_detectable_day",
    "csf_blood_ratio_median",
    "n_matched_pairs",
]


def cart_samples(
    observations: pd.DataFrame, courses: pd.DataFrame, measure: Measure = "copies"
) -> pd.DataFrame:
    """CAR-T samples with `compartment`, elapsed `t_days` and study `day` (infused patients)."""
    codes = CODES[measure]
    by_code = {code: comp for comp, code in codes.items()}
    rows = observations[observations["code"].isin(by_code)]
    out = with_days(rows[["study_id", "code", "value", "effective_at"]], courses)
    out["compartment"] = out["code"].map(by_code)
    return out.sort_values(["study_id", "compartment", "t_days"]).reset_index(drop=True)


def csf_blood_pairs(
    samples: pd.DataFrame,
    *,
    lloq: float,
    tolerance_days: float = DEFAULT_TOLERANCE_DAYS,
) -> pd.DataFrame:
    """Every CSF sample paired with the nearest blood sample within ± `tolerance_days`."""
    csf = samples[samples["compartment"] == "csf"][["study_id", "t_days", "day", "value"]]
    blood = samples[samples["compartment"] == "blood"][["study_id", "t_days", "value"]]
    columns = ["study_id", "day", "csf", "blood", "ratio"]
    if csf.empty or blood.empty:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in columns}).astype(
            {"study_id": object, "day": "Int64"}
        )
    left = csf.rename(columns={"value": "csf"}).sort_values("t_days")
    right = blood.rename(columns={"value": "blood", "t_days": "t_blood"}).sort_values("t_blood")
    merged = pd.merge_asof(
        left,
        right,
        left_on="t_days",
        right_on="t_blood",
        by="study_id",
        direction="nearest",
        tolerance=tolerance_days,  # type: ignore[arg-type]  # numeric keys take a number
    ).dropna(subset=["blood"])
    csf_value = np.where(merged["csf"] >= lloq, merged["csf"], 0.0)
    blood_ok = merged["blood"].to_numpy() >= max(lloq, np.finfo(float).tiny)
    ratio = np.where(blood_ok, csf_value / np.where(blood_ok, merged["blood"], 1.0), np.nan)
    merged["ratio"] = ratio
    return merged[columns].sort_values(["study_id", "day"]).reset_index(drop=True)


def kinetics(
    observations: pd.DataFrame,
    courses: pd.DataFrame,
    *,
    measure: Measure = "copies",
    lloq: float | None = None,
    tolerance_days: float = DEFAULT_TOLERANCE_DAYS,
    auc_end_days: float = AUC_END_DAYS,
) -> pd.DataFrame:
    """One row per patient × compartment with Cmax, Tmax, AUC0–28, persistence, CSF/blood ratio.

    Patients without any sample of a compartment get no row for it.
    """
    limit = DEFAULT_LLOQ[measure] if lloq is None else lloq
    samples = cart_samples(observations, courses, measure)
    pairs = csf_blood_pairs(samples, lloq=limit, tolerance_days=tolerance_days)
    ratio = pairs.groupby("study_id")["ratio"].agg(["median", "count"])
    study = samples["study_id"].to_numpy(dtype=object)
    compartment = samples["compartment"].to_numpy(dtype=object)
    # the samples come by patient, compartment and time: each run of one pair is a profile
    new = np.ones(len(study), dtype=bool)
    new[1:] = (study[1:] != study[:-1]) | (compartment[1:] != compartment[:-1])
    starts = np.flatnonzero(new)
    p = profiles(np.cumsum(new) - 1, samples["t_days"], samples["value"], len(starts),
                 lloq=limit, end=auc_end_days)  # fmt: skip
    study, compartment = study[starts], compartment[starts]
    at = ratio.index.get_indexer(pd.Index(study))  # -1: no pair, the cell after the last
    is_csf = (compartment == "csf") & (at >= 0)
    median = np.append(ratio["median"].to_numpy(dtype=float), np.nan)[at]
    pairs_count = np.append(ratio["count"].to_numpy(dtype=np.int64), 0)[at]
    frame = pd.DataFrame(
        {
            "study_id": study,
            "compartment": compartment,
            "measure": np.full(len(starts), measure, dtype=object),
            "unit": np.full(len(starts), UNITS[measure], dtype=object),
            "n_samples": p.n_samples,
            "cmax": p.cmax,
            "tmax_day": p.tmax_day,
            "auc_0_28": p.auc_0_28,
            "auc_truncated": p.auc_truncated,
            "detected": p.detected,
            "last_detectable_day": p.last_detectable_day,
            "csf_blood_ratio_median": np.where(is_csf, median, np.nan),
            "n_matched_pairs": np.where(is_csf, pairs_count, 0),
        },
        columns=KINETICS_COLUMNS,
    )
    return frame.astype(
        {
            "n_samples": "int64",
            "cmax": "float64",
            "tmax_day": "Int64",
            "auc_0_28": "float64",
            "auc_truncated": "bool",
            "detected": "bool",
            "last_detectable_day": "Int64",
            "csf_blood_ratio_median": "float64",
            "n_matched_pairs": "int64",
        }
    )
