"""B-cell aplasia and IgG nadir after infusion (per patient, blood/serum).

B-cell aplasia (CD19+ B cells, `local:cd19_b_cells`, cells/µL): onset = the first post-infusion
sample below `threshold` (default 10 cells/µL = 0.01 ×10⁹/L, a neurocart convention: CAR-T
reports define aplasia variously as < 1–3 % of lymphocytes or below an absolute count; set it
to the protocol's definition). Reconstitution = the first later sample at or above the
threshold. Duration = reconstitution day − onset day; without reconstitution the duration runs
to the last sample and `reconstituted` is false (right-censored).

IgG (LOINC 2465-3, g/L): nadir = the lowest value after infusion, its study day, the baseline
(last value before infusion) and the fall from baseline in percent.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from neurocart.kinetics.days import with_days
from neurocart.kinetics.groups import split

CD19_CODE = "local:cd19_b_cells"
IGG_CODE = "2465-3"
DEFAULT_CD19_THRESHOLD = 10.0
"""cells/µL — neurocart default; not a published cut-off (see the module docstring)."""

B_CELL_COLUMNS = [
    "study_id",
    "aplasia",
    "aplasia_onset_day",
    "reconstitution_day",
    "reconstituted",
    "aplasia_duration_days",
]
IGG_COLUMNS = ["study_id", "igg_baseline", "igg_nadir", "igg_nadir_day", "igg_fall_pct"]


def b_cell_aplasia(
    observations: pd.DataFrame,
    courses: pd.DataFrame,
    *,
    threshold: float = DEFAULT_CD19_THRESHOLD,
) -> pd.DataFrame:
    """One row per patient with CD19 samples after infusion."""
    rows = observations[observations["code"] == CD19_CODE]
    data = with_days(rows[["study_id", "value", "effective_at"]], courses)
    data = data[data["t_days"] >= 0].sort_values(["study_id", "t_days"])
    records: list[tuple[Any, ...]] = []
    data = data.assign(day=data["day"].astype("int64"))
    for study_id, group in split(data, "study_id", ["day", "value"], order="t_days"):
        days = group["day"]
        below = group["value"].astype(float) < threshold
        if not below.any():
            records.append((study_id, False, None, None, False, None))
            continue
        start = int(np.argmax(below))
        after = np.flatnonzero(~below[start:])
        if len(after):
            end = start + int(after[0])
            records.append(
                (study_id, True, days[start], days[end], True, int(days[end] - days[start]))
            )
        else:
            records.append((study_id, True, days[start], None, False, int(days[-1] - days[start])))
    frame = pd.DataFrame.from_records(records, columns=B_CELL_COLUMNS)
    return frame.astype(
        {
            "aplasia": "bool",
            "aplasia_onset_day": "Int64",
            "reconstitution_day": "Int64",
            "reconstituted": "bool",
            "aplasia_duration_days": "Int64",
        }
    )


def igg_nadir(observations: pd.DataFrame, courses: pd.DataFrame) -> pd.DataFrame:
    """One row per patient with IgG after infusion: baseline, nadir, nadir day, fall in %."""
    rows = observations[observations["code"] == IGG_CODE]
    data = with_days(rows[["study_id", "value", "effective_at"]], courses)
    before = data[data["t_days"] < 0].sort_values("t_days").groupby("study_id")["value"].last()
    after = data[data["t_days"] >= 0].sort_values(["study_id", "t_days"])
    if after.empty:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in IGG_COLUMNS})
    idx = after.groupby("study_id")["value"].idxmin()
    nadir = after.loc[idx, ["study_id", "value", "day"]].set_index("study_id")
    out = pd.DataFrame(
        {
            "igg_baseline": before.reindex(nadir.index),
            "igg_nadir": nadir["value"],
            "igg_nadir_day": nadir["day"].astype("Int64"),
        }
    )
    out["igg_fall_pct"] = (out["igg_baseline"] - out["igg_nadir"]) / out["igg_baseline"] * 100.0
    return out.reset_index()[IGG_COLUMNS]
