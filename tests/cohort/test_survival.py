"""Kaplan–Meier: the textbook 6-MP/placebo remission data, and agreement with lifelines itself.

Freireich EJ et al. Blood 1963;21:699–716 (weeks of remission in acute leukaemia; the data set
of Gehan 1965 and of most survival textbooks, e.g. Kleinbaum & Klein, Survival Analysis,
table 1.1). Known KM estimates for the 6-MP arm: S(6) = 0.857, S(7) = 0.807, S(10) = 0.753,
S(13) = 0.690, S(16) = 0.627, S(22) = 0.538, S(23) = 0.448; placebo: S(8) = 8/21 = 0.381.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter

from neurocart.cohort import kaplan_meier, km_table, relapse_free_times
from neurocart.outcomes.definitions import DAYS_PER_MONTH
from tests.cohort.factory import Builder, random_cohort

# (weeks, event) — 0 = censored (in remission at last contact)
SIX_MP = [(6, 1), (6, 1), (6, 1), (6, 0), (7, 1), (9, 0), (10, 1), (10, 0), (11, 0), (13, 1),
          (16, 1), (17, 0), (19, 0), (20, 0), (22, 1), (23, 1), (25, 0), (32, 0), (32, 0),
          (34, 0), (35, 0)]  # fmt: skip
PLACEBO = [(t, 1) for t in (1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23)]


def _times() -> pd.DataFrame:
    rows = [("ms", t, e) for t, e in SIX_MP] + [("mg", t, e) for t, e in PLACEBO]
    return pd.DataFrame(
        {
            "study_id": [f"G{i}" for i in range(len(rows))],
            "diagnosis": [r[0] for r in rows],
            "time_months": [float(r[1]) for r in rows],  # weeks stand in for months here
            "event": [bool(r[2]) for r in rows],
        }
    )


def test_textbook_6mp_estimates() -> None:
    table = km_table(kaplan_meier(_times()), months=(6, 7, 10, 13, 16, 22, 23))
    six_mp = table[table["group"] == "Multiple sclerosis"].set_index("month")["survival"]
    expected = {6: 0.857, 7: 0.807, 10: 0.753, 13: 0.690, 16: 0.627, 22: 0.538, 23: 0.448}
    for week, value in expected.items():
        assert six_mp[week] == pytest.approx(value, abs=0.0005)


def test_textbook_placebo_and_numbers_at_risk() -> None:
    table = km_table(kaplan_meier(_times()), months=(8, 10))
    placebo = table[table["group"] == "Myasthenia gravis"].set_index("month")
    assert placebo.loc[8, "survival"] == pytest.approx(8 / 21)
    # At week 8: 12 placebo patients still in remission before the 4 relapses of week 8.
    assert placebo.loc[8, "n_at_risk"] == 12
    six_mp = table[table["group"] == "Multiple sclerosis"].set_index("month")
    assert six_mp.loc[10, "n_at_risk"] == 15  # durations ≥ 10 weeks


def test_beyond_follow_up_is_not_estimable() -> None:
    table = km_table(kaplan_meier(_times()), months=(40,))
    assert table["survival"].isna().all()
    assert (table["n_at_risk"] == 0).all()


def test_same_as_lifelines_directly() -> None:
    frames = random_cohort(30, seed=5)
    times = relapse_free_times(frames)
    fitters = kaplan_meier(times)
    for disease in set(times["diagnosis"]):
        sub = times[times["diagnosis"] == disease]
        direct = KaplanMeierFitter().fit(sub["time_months"], sub["event"])
        np.testing.assert_allclose(
            fitters[disease].survival_function_.to_numpy(), direct.survival_function_.to_numpy()
        )
        np.testing.assert_allclose(
            fitters[disease].confidence_interval_.to_numpy(), direct.confidence_interval_.to_numpy()
        )


def test_relapse_free_times_from_events() -> None:
    b = Builder().patient("R", "nmosd").patient("C", "nmosd").patient("D", "mg")
    b.event("R", "relapse", -40)  # before infusion: not an event
    b.event("R", "relapse", 100.5)
    b.assess("R", "edss", 300, 3.0)
    b.assess("C", "edss", 250, 3.0)  # censored at the last recorded fact
    b.event("D", "death", 60, details={"cause": "infection"})
    times = relapse_free_times(b.frames()).set_index("study_id")
    assert times.loc["R", "time_days"] == pytest.approx(100.5)
    assert times.loc["R", "event_type"] == "relapse"
    assert times.loc["C", "time_days"] == pytest.approx(250)
    assert not times.loc["C", "event"]
    assert times.loc["D", "event_type"] == "death"
    assert times.loc["C", "time_months"] == pytest.approx(250 / DAYS_PER_MONTH)
