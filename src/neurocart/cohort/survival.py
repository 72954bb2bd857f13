"""Relapse-free survival: time-to-event data per patient and Kaplan–Meier estimates.

Event = the first relapse after infusion or death from any cause, whichever is first (the
usual "relapse-free survival"); otherwise censored at the end of follow-up (last recorded fact
on or before the data cut-off). Time is counted from infusion, in months of 30.4375 days.
KM: lifelines' KaplanMeierFitter (Kaplan EL, Meier P. J Am Stat Assoc 1958;53:457–81) with its
default 95 % pointwise CI (exponential Greenwood, the "log(−log)" transform).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter  # type: ignore[import-untyped]

from neurocart.cohort.clock import lifelines_fit
from neurocart.frames import CohortFrames
from neurocart.kinetics.days import with_days
from neurocart.outcomes.definitions import DAYS_PER_MONTH, DISEASE_LABELS, DISEASES
from neurocart.outcomes.patient import follow_up

ALL = "all"


def relapse_free_times(frames: CohortFrames, follow: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per infused patient: diagnosis, time_days, time_months, event (bool), event_type.

    Call on frames restricted to the cut-off (`neurocart.outcomes.restrict`). `follow`: their
    `follow_up` table when the caller has it already (it reads every observation).
    """
    fu = follow_up(frames) if follow is None else follow
    relapses = frames.events[frames.events["type"] == "relapse"]
    relapses = with_days(relapses[["study_id", "onset_at"]], frames.courses, "onset_at")
    first = relapses[relapses["t_days"] > 0].groupby("study_id")["t_days"].min()
    relapse_day = fu["study_id"].map(first)
    death_day = fu["death_day"]
    time = fu["follow_up_days"].to_numpy(dtype=float).copy()
    rel = relapse_day.to_numpy(dtype=float)
    dead = death_day.to_numpy(dtype=float)
    has_rel = ~np.isnan(rel) & (rel <= time)
    has_death = ~np.isnan(dead)
    event_time = np.where(has_rel, rel, np.where(has_death, dead, time))
    event_type = np.where(has_rel, "relapse", np.where(has_death, "death", "censored"))
    out = pd.DataFrame(
        {
            "study_id": fu["study_id"],
            "diagnosis": fu["diagnosis"],
            "time_days": np.maximum(event_time, 0.0),
            "event": has_rel | has_death,
            "event_type": event_type,
        }
    )
    out["time_months"] = out["time_days"] / DAYS_PER_MONTH
    return out


GROUP_WORDS = ("All",)
"""The whole cohort's group name in the curves' labels (the figures translate it)."""


def kaplan_meier(times: pd.DataFrame, by: str = "diagnosis") -> dict[str, KaplanMeierFitter]:
    """One fitted KaplanMeierFitter per group (disease order of the contract) and for all."""
    fitters: dict[str, KaplanMeierFitter] = {}
    groups = [g for g in DISEASES if g in set(times[by])] if by == "diagnosis" else []
    if by != "diagnosis":
        groups = sorted(set(times[by]))
    for group in groups:
        sub = times[times[by] == group]
        label = DISEASE_LABELS.get(group, str(group))
        with lifelines_fit():
            fitters[group] = KaplanMeierFitter(label=f"{label} (n={len(sub)})").fit(
                sub["time_months"], sub["event"]
            )
    if len(times):
        with lifelines_fit():
            fitters[ALL] = KaplanMeierFitter(label=f"All (n={len(times)})").fit(
                times["time_months"], times["event"]
            )
    return fitters


def km_table(
    fitters: dict[str, KaplanMeierFitter], months: Sequence[float] = (6, 12, 18, 24)
) -> pd.DataFrame:
    """Survival estimate, 95 % CI and numbers at risk at each month, per group."""
    rows = []
    for group, kmf in fitters.items():
        ci = kmf.confidence_interval_survival_function_
        timeline = kmf.survival_function_.index.to_numpy()
        for m in months:
            # The step function's value at m: the last estimate at a time ≤ m.
            pos = int(np.searchsorted(timeline, m, side="right")) - 1
            at_risk = int((kmf.durations >= m).sum())
            beyond = m > float(np.max(kmf.durations))
            if beyond:
                # Nobody followed that long: the curve is not estimable there.
                rows.append(
                    {
                        "group": DISEASE_LABELS.get(group, "All"),
                        "month": m,
                        "n_at_risk": 0,
                        "survival": np.nan,
                        "ci_lower": np.nan,
                        "ci_upper": np.nan,
                    }
                )
                continue
            rows.append(
                {
                    "group": DISEASE_LABELS.get(group, "All"),
                    "month": m,
                    "n_at_risk": at_risk,
                    "survival": float(kmf.survival_function_.iloc[pos, 0]),
                    "ci_lower": float(ci.iloc[pos, 0]),
                    "ci_upper": float(ci.iloc[pos, 1]),
                }
            )
    return pd.DataFrame(
        rows, columns=["group", "month", "n_at_risk", "survival", "ci_lower", "ci_upper"]
    )
