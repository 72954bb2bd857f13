"""The whole cohort analysis in one call, as tables (DataFrames) and figures.

>>> from neurocart.cohort import analyse
>>> result = analyse(frames, cutoff=date(2026, 1, 1))  # doctest: +SKIP
>>> result.tables["drug_free_remission"]              # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from neurocart.cohort import plots
from neurocart.cohort.remission import remission_rates
from neurocart.cohort.safety import toxicity_table, worst_grades
from neurocart.cohort.stratify import CoxResult, baseline_features, cox_model, effect_sizes
from neurocart.cohort.survival import kaplan_meier, km_table, relapse_free_times
from neurocart.frames import CohortFrames
from neurocart.kinetics import b_cell_aplasia, cart_samples, igg_nadir, kinetics
from neurocart.kinetics.cart import DEFAULT_LLOQ, UNITS, Measure
from neurocart.kinetics.days import with_days
from neurocart.outcomes import definitions as d
from neurocart.outcomes.patient import outcomes_at, restrict

REMISSION_MONTHS = (12, 24)


@dataclass
class CohortAnalysis:
    """Tables (name → DataFrame) and figures (name → matplotlib Figure) of one cohort."""

    cutoff: date | datetime | None
    n_patients: int
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, Figure] = field(default_factory=dict)
    cox: CoxResult | None = None


def spider_changes(frames: CohortFrames) -> pd.DataFrame:
    """% change from baseline of each disease's spider measure (`definitions.SPIDER_MEASURE`)."""
    a = frames.assessments[frames.assessments["instrument"].isin(["edss", "mg_adl", "incat"])]
    a = a[["study_id", "instrument", "value", "effective_at"]].rename(
        columns={"instrument": "measure"}
    )
    ck = frames.observations[frames.observations["code"] == d.CK_CODE]
    ck = ck[["study_id", "value", "effective_at"]].assign(measure="ck")
    data = with_days(pd.concat([a, ck], ignore_index=True), frames.courses)
    dx = frames.patients.set_index("study_id")["diagnosis"]
    data["diagnosis"] = data["study_id"].map(dx)
    data = data[data["measure"] == data["diagnosis"].map(d.SPIDER_MEASURE)]
    data = data.sort_values(["study_id", "t_days"])
    pre = data[(data["day"] <= 0) & (data["day"] >= -d.BASELINE_WINDOW_DAYS)]
    base = pre.groupby("study_id")["value"].last()
    post = data[data["day"] > 0].copy()
    post["baseline"] = post["study_id"].map(base)
    post = post[post["baseline"] > 0]
    post["pct_change"] = (post["value"] - post["baseline"]) / post["baseline"] * 100.0
    post["month"] = post["t_days"] / d.DAYS_PER_MONTH
    return post[["study_id", "diagnosis", "measure", "month", "pct_change"]].reset_index(drop=True)


def swimmer_marks(frames: CohortFrames) -> pd.DataFrame:
    """Events drawn on the swimmer bars: relapse, maintenance start, infection ≥ 3, death."""
    ev = with_days(
        frames.events[["study_id", "type", "grade", "onset_at"]], frames.courses, "onset_at"
    )
    ev = ev[ev["t_days"] > 0]
    grade = pd.to_numeric(ev["grade"]).fillna(0)
    kind = pd.Series(None, index=ev.index, dtype=object)
    kind[ev["type"] == "relapse"] = "relapse"
    kind[ev["type"] == "maintenance_started"] = "maintenance"
    kind[(ev["type"] == "infection") & (grade >= 3)] = "severe infection"
    kind[ev["type"] == "death"] = "death"
    out = pd.DataFrame(
        {"study_id": ev["study_id"], "month": ev["t_days"] / d.DAYS_PER_MONTH, "kind": kind}
    )
    return out.dropna(subset=["kind"]).reset_index(drop=True)


def _by_disease_summary(outcomes_last: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for g in [*d.DISEASES, "all"]:
        sub = outcomes_last if g == "all" else outcomes_last[outcomes_last["diagnosis"] == g]
        if sub.empty:
            continue
        judged = sub["responder"].dropna()
        rows.append(
            {
                "group": d.DISEASE_LABELS.get(g, "All"),
                "n": len(sub),
                "median_follow_up_months": float(
                    np.median(sub["follow_up_days"]) / d.DAYS_PER_MONTH
                ),
                "patients_with_relapse": int((sub["relapses"] > 0).sum()),
                "responders": int(judged.astype(bool).sum()),
                "response_assessable": len(judged),
                "median_change_primary_scale": float(sub["change"].median())
                if sub["change"].notna().any()
                else np.nan,
                "responder_definition": d.RESPONDER_TEXT.get(g, "per disease (above)"),
            }
        )
    return pd.DataFrame(rows)


def analyse(
    frames: CohortFrames,
    *,
    cutoff: date | datetime | None = None,
    measure: Measure = "copies",
    lloq: float | None = None,
) -> CohortAnalysis:
    """Every table and figure of the cohort report, computed on the frames as of `cutoff`."""
    frames = restrict(frames, cutoff)
    limit = DEFAULT_LLOQ[measure] if lloq is None else lloq
    by_day = outcomes_at(frames, [None, *(d.month_day(m) for m in REMISSION_MONTHS)])
    last = by_day[None]
    at = {m: by_day[d.month_day(m)] for m in REMISSION_MONTHS}
    times = relapse_free_times(frames)
    fitters = kaplan_meier(times)
    kin = kinetics(frames.observations, frames.courses, measure=measure, lloq=limit)
    samples = cart_samples(frames.observations, frames.courses, measure)
    worst = worst_grades(frames)
    features = baseline_features(frames.patients, frames.courses, last, kin)
    cox = cox_model(features, times)
    immune = b_cell_aplasia(frames.observations, frames.courses).merge(
        igg_nadir(frames.observations, frames.courses), on="study_id", how="outer"
    )
    result = CohortAnalysis(cutoff=cutoff, n_patients=len(last), cox=cox)
    t = result.tables
    t["outcome_summary"] = _by_disease_summary(last)
    t["relapse_free_survival"] = km_table(fitters)
    t["drug_free_remission"] = remission_rates(at)
    t["toxicity"] = toxicity_table(worst)
    t["kinetics_summary"] = _kinetics_summary(kin)
    t["responder_effect_sizes"] = effect_sizes(features)
    if cox is not None:
        t["cox_model"] = cox.summary
    t["patient_outcomes"] = last
    t["patient_kinetics"] = kin
    t["patient_immune"] = immune
    t["patient_toxicity"] = worst
    t["patient_features"] = features
    f = result.figures
    f["km"] = plots.km_figure(fitters)
    f["swimmer"] = plots.swimmer_figure(last, times, swimmer_marks(frames))
    f["spider"] = plots.spider_figure(spider_changes(frames))
    f["kinetics"] = plots.kinetics_figure(samples, limit, UNITS[measure])
    if cox is not None:
        pen = f", L2 penalizer {cox.penalizer:g}" if cox.penalizer else ""
        ref = d.DISEASE_LABELS.get(cox.reference_disease or "", "—")
        f["forest"] = plots.forest_figure(
            cox.summary,
            f"Cox model of relapse-free survival (n={cox.n}, {cox.events} events; "
            f"reference disease {ref}{pen})",
        )
    return result


def _kinetics_summary(kin: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for comp in ("blood", "csf"):
        sub = kin[kin["compartment"] == comp]
        if sub.empty:
            continue

        def q(col: str, s: pd.DataFrame = sub) -> str:
            x = s[col].dropna().astype(float)
            if x.empty:
                return "—"
            return f"{x.median():.3g} ({x.quantile(0.25):.3g}–{x.quantile(0.75):.3g})"

        rows.append(
            {
                "compartment": comp.upper(),
                "patients_sampled": len(sub),
                "detected": int(sub["detected"].sum()),
                "cmax_median_iqr": q("cmax"),
                "tmax_day_median_iqr": q("tmax_day"),
                "auc_0_28_median_iqr": q("auc_0_28"),
                "last_detectable_day_median_iqr": q("last_detectable_day"),
                "csf_blood_ratio_median_iqr": q("csf_blood_ratio_median") if comp == "csf" else "",
            }
        )
    return pd.DataFrame(rows)
