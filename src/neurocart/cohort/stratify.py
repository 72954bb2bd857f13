"""Who does not benefit: responders vs non-responders on baseline features, and a Cox model.

Responder here = in remission at last follow-up (`outcomes.definitions`); patients whose
response cannot be judged (scale never assessed) are left out. Features:

* disease (one indicator per disease), disease duration at infusion (years of 365.25 days),
  number of prior therapies;
* baseline severity: the disease's primary scale at baseline (IMNM: log10 CK, since the TIS is a
  change score), as a z-score within the disease so that diseases can be pooled (higher =
  more severe for every scale used);
* log10 blood CAR-T Cmax, and CSF CAR-T detected (any quantifiable CSF sample).

Effect sizes: standardized mean difference (responders − non-responders; Austin PC, Stat Med
2009;28:3083–107) for every feature, and for binary features the odds ratio of response with a
Woolf 95 % CI. Cox proportional hazards (Cox DR, J R Stat Soc B 1972;34:187–220; lifelines
CoxPHFitter) of relapse-free survival on complete cases; when the unpenalized fit fails to
converge or separates (|coef| > 10), it is refitted with an L2 penalizer of 0.1 and the
penalizer is reported.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter  # type: ignore[import-untyped]
from lifelines.exceptions import (  # type: ignore[import-untyped]
    ConvergenceError,
    ConvergenceWarning,
)

from neurocart.cohort.clock import lifelines_fit
from neurocart.cohort.stats import odds_ratio, standardized_mean_difference
from neurocart.i18n import N_
from neurocart.kinetics.days import infusions
from neurocart.outcomes.definitions import DISEASE_LABELS, DISEASES

CONTINUOUS = {
    "disease_duration_years": "Disease duration (years)",
    "n_prior_therapies": "Prior therapies (n)",
    "baseline_severity_z": "Baseline severity (z within disease)",
    "log10_cmax_blood": "log10 blood CAR-T Cmax",
}
BINARY = {"csf_detected": "CSF CAR-T detected"}
PENALIZER = 0.1
SEPARATION_COEF = 10.0


def baseline_features(
    patients: pd.DataFrame,
    courses: pd.DataFrame,
    outcomes_last: pd.DataFrame,
    kinetics_table: pd.DataFrame,
) -> pd.DataFrame:
    """One row per infused patient: responder (boolean, NA when not judged) and the features."""
    infusion = infusions(courses)
    base = outcomes_last.set_index("study_id")
    p = patients.set_index("study_id").reindex(base.index)
    diag_date = pd.to_datetime(p["diagnosis_date"]).dt.tz_localize("UTC")
    duration = (infusion.reindex(base.index) - diag_date).dt.total_seconds() / (86400 * 365.25)
    prior = p["prior_therapies"].map(lambda x: len(x) if isinstance(x, list | tuple) else np.nan)
    severity = base["baseline"].where(base["diagnosis"] != "imnm", np.log10(base["ck_baseline"]))
    grouped = severity.groupby(base["diagnosis"])
    spread = grouped.transform("std")
    z = ((severity - grouped.transform("mean")) / spread.where(spread > 0)).where(
        severity.isna() | (spread > 0), 0.0
    )
    blood = kinetics_table[kinetics_table["compartment"] == "blood"].set_index("study_id")
    csf = kinetics_table[kinetics_table["compartment"] == "csf"].set_index("study_id")
    cmax = blood["cmax"].reindex(base.index)
    out = pd.DataFrame(
        {
            "diagnosis": base["diagnosis"],
            "responder": base["in_remission"],
            "disease_duration_years": duration.astype(float),
            "n_prior_therapies": prior.astype(float),
            "baseline_severity_z": z.astype(float),
            "log10_cmax_blood": np.log10(cmax.where(cmax > 0)).astype(float),
            "csf_detected": csf["detected"].reindex(base.index).astype("boolean"),
        }
    )
    return out.rename_axis("study_id").reset_index()


def _fmt_mean(x: pd.Series) -> str:
    x = x.dropna()
    return f"{x.mean():.2f} ({x.std():.2f})" if len(x) else "—"


def _fmt_n(x: pd.Series) -> str:
    x = x.dropna().astype(bool)
    return f"{int(x.sum())}/{len(x)} ({100 * x.mean():.0f} %)" if len(x) else "—"


def effect_sizes(features: pd.DataFrame) -> pd.DataFrame:
    """Responders vs non-responders: summaries, SMD and (binary features) odds ratio of response."""
    judged = features[features["responder"].notna()]
    r = judged[judged["responder"].astype(bool)]
    nr = judged[~judged["responder"].astype(bool)]
    rows = []
    for column, label in CONTINUOUS.items():
        rows.append(
            {
                "feature": label,
                "kind": N_("mean (SD)"),
                "responders": _fmt_mean(r[column]),
                "non_responders": _fmt_mean(nr[column]),
                "smd": standardized_mean_difference(r[column], nr[column]),
                "odds_ratio": math.nan,
                "or_ci_lower": math.nan,
                "or_ci_upper": math.nan,
            }
        )
    binary = {**BINARY, **{f"is_{g}": DISEASE_LABELS[g] for g in DISEASES}}
    for column, label in binary.items():
        if column.startswith("is_"):
            flag = (judged["diagnosis"] == column[3:]).astype("boolean")
        else:
            flag = judged[column]
        if flag.notna().sum() == 0 or (column.startswith("is_") and not flag.any()):
            continue
        known = flag.notna()
        f = flag[known].astype(bool)
        resp = judged.loc[known, "responder"].astype(bool)
        # 2×2: rows feature present/absent, columns responder yes/no.
        a, b = int((f & resp).sum()), int((f & ~resp).sum())
        c, d = int((~f & resp).sum()), int((~f & ~resp).sum())
        ratio, low, high = odds_ratio(a, b, c, d) if min(a + b, c + d) > 0 else (math.nan,) * 3
        rows.append(
            {
                "feature": label,
                "kind": N_("n (%)"),
                "responders": _fmt_n(flag[judged["responder"].astype(bool)]),
                "non_responders": _fmt_n(flag[~judged["responder"].astype(bool)]),
                "smd": standardized_mean_difference(f[resp].astype(float), f[~resp].astype(float)),
                "odds_ratio": ratio,
                "or_ci_lower": low,
                "or_ci_upper": high,
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class CoxResult:
    """Hazard ratios of relapse or death (one row per covariate) and how the fit was made."""

    summary: pd.DataFrame
    n: int
    events: int
    penalizer: float
    reference_disease: str | None


def cox_design(features: pd.DataFrame, times: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    """Complete-case design matrix: duration/event columns, disease indicators, covariates."""
    data = features.merge(times[["study_id", "time_months", "event"]], on="study_id")
    data = data[data["time_months"] > 0]
    columns = list(CONTINUOUS) + list(BINARY)
    data = data.dropna(subset=columns)
    design = data[["time_months", "event", *columns]].astype(float)
    present = [g for g in DISEASES if (data["diagnosis"] == g).any()]
    reference = max(present, key=lambda g: int((data["diagnosis"] == g).sum())) if present else None
    for g in present:
        if g != reference:
            design[f"disease_{g}"] = (data["diagnosis"] == g).astype(float)
    constant = [c for c in design.columns[2:] if design[c].nunique() <= 1]
    return design.drop(columns=constant), reference


def _fit(design: pd.DataFrame, penalizer: float) -> CoxPHFitter:
    with lifelines_fit():
        return CoxPHFitter(penalizer=penalizer).fit(design, "time_months", "event")


def cox_model(features: pd.DataFrame, times: pd.DataFrame) -> CoxResult | None:
    """Cox model of relapse-free survival on the baseline features (None if < 2 events)."""
    design, reference = cox_design(features, times)
    events = int(design["event"].sum()) if len(design) else 0
    if events < 2 or design.shape[1] <= 2:
        return None
    penalizer = 0.0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", ConvergenceWarning)
            fitter = _fit(design, penalizer)
        if (fitter.params_.abs() > SEPARATION_COEF).any():
            raise ConvergenceError("separation")
    except (ConvergenceError, ConvergenceWarning, np.linalg.LinAlgError):
        penalizer = PENALIZER
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitter = _fit(design, penalizer)
    s = fitter.summary
    labels = {**CONTINUOUS, **BINARY, **{f"disease_{g}": DISEASE_LABELS[g] for g in DISEASES}}
    summary = pd.DataFrame(
        {
            "covariate": [labels.get(str(c), str(c)) for c in s.index],
            "hazard_ratio": s["exp(coef)"].to_numpy(),
            "ci_lower": s["exp(coef) lower 95%"].to_numpy(),
            "ci_upper": s["exp(coef) upper 95%"].to_numpy(),
            "p": s["p"].to_numpy(),
        }
    )
    return CoxResult(summary, len(design), events, penalizer, reference)
