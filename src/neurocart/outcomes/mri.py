"""MRI activity read from the MRI scan records (`frames.mri_scans`): the one source of it.

The cohort's MRI activity-free table and each patient's NEDA-3 both read the scan records, by
the `mri_activity` rule. MRI *events* are not read: an event records that a scan was done (a
pathway task, a feed's procedure) and carries no comparator, so a count on it is not a count of
new lesions (`mri_activity` refuses counts without a comparator) and a bare event would
otherwise pass for a quiet scan.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from neurocart.frames import CohortFrames
from neurocart.kinetics.days import record_days

ACTIVE, INACTIVE, NOT_EVALUABLE = "active", "inactive", "not_evaluable"


def lesion_counts(scans: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per scan record: new plus enlarging T2 lesions (read only against a comparator) and
    Gd-enhancing lesions (read only with contrast given), as `mri_activity` counts them."""
    comparator = scans["comparator_date"].notna().to_numpy()
    t2 = (scans["new_t2_lesions"].fillna(0).to_numpy(dtype=int)
          + scans["enlarging_t2_lesions"].fillna(0).to_numpy(dtype=int))  # fmt: skip
    gd = np.where(scans["contrast_given"].to_numpy(dtype=bool),
                  scans["gd_enhancing_lesions"].fillna(0).to_numpy(dtype=int), 0)  # fmt: skip
    return np.where(comparator, t2, 0), gd


def scan_activity(scans: pd.DataFrame) -> pd.Series:
    """Each MRI scan record's activity, by the `mri_activity` rule (vectorized): "active" with
    ≥ 1 new or enlarging T2 lesion against the comparator or ≥ 1 Gd-enhancing lesion (contrast
    given; no comparator needed), "inactive" with a comparator and neither, else
    "not_evaluable". Records as the store accepts them (counts only with a comparator)."""
    comparator = scans["comparator_date"].notna().to_numpy()
    t2, gd = lesion_counts(scans)
    active = (t2 >= 1) | (gd >= 1)
    value = np.where(active, ACTIVE, np.where(comparator, INACTIVE, NOT_EVALUABLE))
    return pd.Series(value, index=scans.index, dtype=object)


def scans_read(frames: CohortFrames) -> pd.DataFrame:
    """Every MRI scan record of an infused patient with its study `day` (date − the infusion's
    local date), its lesion counts (`t2`, `gd`) and its `activity`, by patient and day."""
    data = record_days(frames.mri_scans, "scan_date", frames.courses)
    data["t2"], data["gd"] = lesion_counts(data)
    data["activity"] = scan_activity(data)
    return data.sort_values(["study_id", "day"], kind="stable")
