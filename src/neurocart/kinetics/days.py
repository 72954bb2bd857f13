"""Elapsed time since infusion for rows of a tidy frame (the one join every analysis needs).

Study day follows `neurocart.studyday` (the site's calendar day; day 0 = the local date of the
infusion). Non-compartmental analysis needs the exact elapsed time as well, in days (float).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from neurocart.studyday import day_start, study_days

SECONDS_PER_DAY = 86400.0


def infusions(courses: pd.DataFrame) -> pd.Series:
    """Infusion instant per study_id (the first infused course; patients never infused drop)."""
    infused = courses.dropna(subset=["infusion_at"])
    ids = infused["study_id"]
    if ids.is_unique and not ids.isna().any():  # one infused course each: nothing to group
        index = pd.Index(ids.array, name="study_id")
        first = pd.Series(infused["infusion_at"].array, index=index, name="infusion_at")
        return first.sort_index()
    return infused.groupby("study_id")["infusion_at"].min()


def with_days(
    frame: pd.DataFrame, courses: pd.DataFrame, at: str = "effective_at", prefix: str = ""
) -> pd.DataFrame:
    """`frame` restricted to infused patients, with `{prefix}t_days` (float) and `{prefix}day`.

    `t_days` is the elapsed time since infusion in days; `day` the study day (Int64).
    """
    infusion = infusions(courses)
    # each row's infusion found by one hash lookup of its study ID (not `isin`, then `map`),
    # the rows taken once (not selected, then copied)
    position = infusion.index.get_indexer(pd.Index(frame["study_id"]))
    rows = np.flatnonzero(position >= 0)
    out = frame.take(rows)
    start = pd.Series(infusion.array.take(position[rows]), index=out.index, name="study_id")
    seconds = (out[at] - start).dt.total_seconds().to_numpy(dtype=float, na_value=np.nan)
    t = seconds / SECONDS_PER_DAY
    out[f"{prefix}t_days"] = t
    out[f"{prefix}day"] = study_days(out[at], start)
    return out


def elapsed_days(
    frame: pd.DataFrame, courses: pd.DataFrame, at: str = "effective_at"
) -> npt.NDArray[np.float64]:
    """`with_days`' `t_days` of every row of `frame`, NaN where the patient was never
    infused: for a caller that only asks which rows are after the infusion, without the
    study day (two time-zone conversions of every row) and without a copy of the rows."""
    infusion = infusions(courses)
    position = infusion.index.get_indexer(pd.Index(frame["study_id"]))
    start = pd.Series(infusion.array.take(position, allow_fill=True), index=frame.index)
    seconds = (frame[at] - start).dt.total_seconds().to_numpy(dtype=float, na_value=np.nan)
    elapsed: npt.NDArray[np.float64] = seconds / SECONDS_PER_DAY
    return elapsed


def record_days(frame: pd.DataFrame, date_column: str, courses: pd.DataFrame) -> pd.DataFrame:
    """`frame` (a study-record table: MRI scans, nerve-conduction studies) restricted to infused
    patients, with `day` = the record's date − the local date of the infusion (int64; the
    date is required).

    Study records carry a date, not an instant (the site's calendar day, as `restrict` cuts
    them), so their day counts dates from the same infusion `with_days` measures from.
    """
    infusion = infusions(courses)
    out = frame[frame["study_id"].isin(infusion.index)].copy()
    midnight = [day_start(on) for on in out[date_column]]  # the record's local day begins
    start = out["study_id"].map(infusion)
    days = study_days(pd.Series(midnight, index=out.index, dtype=object), start)
    out["day"] = days.astype("int64")
    return out
