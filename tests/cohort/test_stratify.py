"""Responder stratification finds a planted difference; the Cox model survives separation."""

from __future__ import annotations

from neurocart.cohort import analyse, cox_model
from tests.cohort.factory import random_cohort


def test_stratification_and_cox_on_a_small_cohort() -> None:
    result = analyse(random_cohort(60, seed=2))
    effects = result.tables["responder_effect_sizes"].set_index("feature")
    # The factory makes non-responders lack CSF CAR-T more often: OR of response > 1.
    assert effects.loc["CSF CAR-T detected", "odds_ratio"] > 1
    assert result.cox is not None
    cox = result.tables["cox_model"].set_index("covariate")
    assert cox.loc["CSF CAR-T detected", "hazard_ratio"] < 1
    assert {"km", "swimmer", "spider", "kinetics", "forest"} <= set(result.figures)


def test_cox_penalizes_perfect_separation() -> None:
    result = analyse(random_cohort(40, seed=3))
    features = result.tables["patient_features"].copy()
    from neurocart.cohort import relapse_free_times

    times = relapse_free_times(random_cohort(40, seed=3))
    # Make CSF detection separate events perfectly.
    event_ids = set(times[times["event"]]["study_id"])
    features["csf_detected"] = ~features["study_id"].isin(event_ids)
    cox = cox_model(features, times)
    assert cox is not None
    assert cox.penalizer > 0
