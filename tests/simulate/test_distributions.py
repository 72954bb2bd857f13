"""The cohort matches the published targets on 1,000 completed courses.

Targets: the ranges of the Tongji BCMA CAR-T reports (Qin C et al. Signal Transduct Target Ther
2023, NMOSD; the group's MG, IMNM and CIDP reports; Cell 2025 doi:10.1016/j.cell.2025.09.020,
progressive MS) and of Müller F et al. NEJM 2024, as recorded in `neurocart.simulate.params`.

Tolerances: a share p on n patients has a standard error sqrt(p(1-p)/n) (≈ 1.1 % for
p = 0.85, n = 1000); bounds are the published ranges widened by ≥ 3 standard errors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from neurocart.simulate import Simulation
from neurocart.standards import calculate


def _ae(sim: Simulation, term: str) -> pd.DataFrame:
    e = sim.frames.events
    return e[(e["type"] == "adverse_event") & (e["term"] == term)]


def test_crs_incidence_grade_mix_and_onset(big: Simulation) -> None:
    crs = _ae(big, "crs")
    n = len(big.frames.patients)
    assert 0.70 <= len(crs) / n <= 0.97
    grades = crs["grade"].astype(int)
    assert grades.between(1, 4).all()
    assert (grades <= 2).mean() >= 0.88
    assert (grades >= 3).mean() <= 0.10
    infusion = big.frames.courses.set_index("study_id")["infusion_at"]
    onset_days = (crs["onset_at"] - crs["study_id"].map(infusion)).dt.total_seconds() / 86400
    assert 1.0 <= onset_days.median() <= 5.0
    assert (onset_days <= 7).mean() >= 0.85
    duration = (crs["end_at"] - crs["onset_at"]).dt.total_seconds() / 86400
    assert duration.between(0.9, 6.0).mean() >= 0.95


def test_crs_grade_agrees_with_daily_grading_and_treatment(big: Simulation) -> None:
    crs = _ae(big, "crs").set_index("study_id")["grade"].astype(int)
    a = big.frames.assessments
    daily = a[a["instrument"] == "crs"].groupby("study_id")["value"].max()
    assert (daily.reindex(crs.index) == crs).all()
    e = big.frames.events
    toci = set(e[e["drug"] == "tocilizumab"]["study_id"])
    assert set(crs[crs >= 2].index) <= toci
    assert len(toci) / len(big.frames.patients) < 0.5  # "a minority"


def test_icans_is_rare_and_mild(big: Simulation) -> None:
    icans = _ae(big, "icans")
    assert len(icans) / len(big.frames.patients) <= 0.06
    assert icans["grade"].astype(int).between(1, 2).all()
    ice = big.frames.assessments[big.frames.assessments["instrument"] == "ice"]
    baseline = ice.groupby("study_id")["value"].first()
    assert 0.03 <= (baseline < 10).mean() <= 0.30  # neuro deficits lower some baselines


def test_neutropenia_and_icaht(big: Simulation) -> None:
    obs = big.frames.observations
    courses = big.frames.courses.set_index("study_id")
    anc = obs[obs["code"] == "751-8"].copy()
    anc["day"] = np.floor(
        (anc["effective_at"] - anc["study_id"].map(courses["infusion_at"])).dt.total_seconds()
        / 86400
    ).astype(int)
    early = anc[anc["day"].between(0, 30)]
    nadir = early.groupby("study_id")["value"].min()
    assert (nadir < 1.0).mean() >= 0.7  # grade ≥ 3 neutropenia in most
    grades = []
    for _, g in list(early.groupby("study_id"))[:200]:
        series = [
            {"day": int(d), "anc_10e9_l": float(v)}
            for d, v in zip(g["day"], g["value"], strict=True)
        ]
        grades.append(int(calculate("icaht", {"anc_series": series}).value))
    grades_arr = np.array(grades)
    assert (grades_arr <= 2).mean() >= 0.7
    assert 0.01 <= (grades_arr >= 3).mean() <= 0.3


def test_cart_kinetics_and_csf_ratio(big: Simulation) -> None:
    obs = big.frames.observations
    courses = big.frames.courses.set_index("study_id")
    blood = obs[obs["code"] == "local:cart_copies_blood"].copy()
    blood["day"] = (
        blood["effective_at"] - blood["study_id"].map(courses["infusion_at"])
    ).dt.total_seconds() / 86400
    peak = blood.loc[blood.groupby("study_id")["value"].idxmax()]
    assert peak["day"].between(6, 15).mean() >= 0.9
    assert 1e4 <= peak["value"].median() <= 1e5
    at_6m = blood[blood["day"].between(180, 182)]
    assert (at_6m["value"] > 0).mean() >= 0.4  # persistence for months in many
    csf = obs[obs["code"] == "local:cart_copies_csf"].copy()
    csf["day"] = (
        csf["effective_at"] - csf["study_id"].map(courses["infusion_at"])
    ).dt.total_seconds() / 86400
    first = csf[csf["day"] < 30].set_index("study_id")["value"]
    assert (first > 0).mean() >= 0.7
    ref = blood[blood["day"].between(13, 16)].set_index("study_id")["value"]
    ratio = (first / ref.reindex(first.index))[first > 0]
    assert (ratio < 1).mean() >= 0.95
    assert 0.02 <= ratio.median() <= 0.3


def test_igg_b_cells_and_response(big: Simulation) -> None:
    obs = big.frames.observations
    igg = obs[obs["code"] == "2465-3"]
    nadir = igg.groupby("study_id")["value"].min()
    assert 0.03 <= (nadir < 4.0).mean() <= 0.35
    b = obs[obs["code"] == "local:cd19_b_cells"]
    assert (b.groupby("study_id")["value"].min() < 20).mean() >= 0.9
    e = big.frames.events
    relapsed = set(e[e["type"] == "relapse"]["study_id"])
    restarted = set(e[e["type"] == "maintenance_started"]["study_id"])
    free = 1 - len(relapsed | restarted) / len(big.frames.patients)
    assert 0.72 <= free <= 0.92  # ≈ 83 % relapse-free and drug-free at 2 years
    deaths = (e["type"] == "death").sum()
    assert deaths <= 30


def test_non_responders_differ_at_baseline(big: Simulation) -> None:
    b = big.baseline
    assert b.duration_years[b.non_responder].mean() > b.duration_years[~b.non_responder].mean()
