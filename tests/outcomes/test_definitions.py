"""Response, remission and drug-free remission on constructed patients (rules: definitions)."""

from __future__ import annotations

import pandas as pd
import pytest

from neurocart.outcomes import on_maintenance, outcomes_at, patient_outcomes
from tests.cohort.factory import Builder


def _by_id(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index("study_id")


def test_mg_response_must_be_sustained_28_days() -> None:
    b = Builder().patient("S", "mg").patient("T", "mg")
    for sid in ("S", "T"):
        b.assess(sid, "mg_adl", -3, 10)
    b.assess("S", "mg_adl", 30, 7).assess("S", "mg_adl", 91, 6)  # −3, −4: 61 days apart
    b.assess("T", "mg_adl", 30, 12).assess("T", "mg_adl", 91, 8)  # only the last one is −2
    out = _by_id(patient_outcomes(b.frames(), at_day=91))
    assert out.loc["S", "responder"]
    assert out.loc["S", "change"] == -4
    assert not out.loc["T", "responder"]
    assert not out.loc["T", "mse"]


def test_mg_minimal_symptom_expression_and_maintenance() -> None:
    b = Builder().patient("M", "mg")
    b.assess("M", "mg_adl", -3, 9).assess("M", "mg_adl", 60, 1).assess("M", "mg_adl", 120, 0)
    b.event("M", "maintenance_started", 80, drug="efgartigimod")
    b.event("M", "maintenance_stopped", 150, drug="efgartigimod")
    b.assess("M", "mg_adl", 200, 0)
    out = outcomes_at(b.frames(), [120, 200])
    at120, at200 = _by_id(out[120]).loc["M"], _by_id(out[200]).loc["M"]
    assert at120["mse"]
    assert at120["in_remission"]
    assert at120["on_maintenance"]
    assert not at120["drug_free_remission"]
    assert at200["drug_free_remission"]


def test_ms_confirmed_worsening_ends_response_only_once_confirmed() -> None:
    b = Builder().patient("W", "ms")
    b.assess("W", "edss", -3, 3.0).assess("W", "edss", 91, 4.0).assess("W", "edss", 182, 4.0)
    b.event("W", "mri", 182, details={"new_or_enlarging_t2": 0, "gd_enhancing": 0})
    out = outcomes_at(b.frames(), [91, None])
    early, last = _by_id(out[91]).loc["W"], _by_id(out[None]).loc["W"]
    # By day 91 (+45-day window) the worsening is not yet confirmed (needs ≥ 84 days).
    assert early["cdw"] == 0
    assert early["responder"]
    assert last["cdw"] == 1
    assert not last["responder"]
    assert not last["neda3"]
    assert last["edss_change"] == 1.0


def test_ms_neda3_fails_on_mri_activity() -> None:
    b = Builder().patient("N", "ms")
    b.assess("N", "edss", -3, 3.0).assess("N", "edss", 182, 3.0)
    b.event("N", "mri", -10, details={"new_or_enlarging_t2": 5, "gd_enhancing": 2})  # before
    out = _by_id(patient_outcomes(b.frames())).loc["N"]
    assert out["neda3"]
    b.event("N", "mri", 170, details={"new_or_enlarging_t2": 0, "gd_enhancing": 1})
    out = _by_id(patient_outcomes(b.frames())).loc["N"]
    assert not out["neda3"]
    assert out["responder"]  # response in MS = no CDW and no relapse; NEDA-3 is reported apart


def test_nmosd_relapse_free() -> None:
    b = Builder().patient("R", "nmosd")
    b.assess("R", "edss", -3, 4.0).assess("R", "edss", 182, 3.5).assess("R", "edss", 365, 4.5)
    b.event("R", "relapse", 200)
    out = outcomes_at(b.frames(), [182, 365])
    assert _by_id(out[182]).loc["R", "in_remission"]
    at365 = _by_id(out[365]).loc["R"]
    assert not at365["relapse_free"]
    assert not at365["in_remission"]
    assert at365["first_relapse_day"] == 200


def test_imnm_tis_threshold_and_ck() -> None:
    b = Builder().patient("I", "imnm").patient("J", "imnm")
    b.obs("I", "2157-6", -3, 8000, "serum").obs("I", "2157-6", 182, 2000, "serum")
    b.assess("I", "imacs_tis", 182, 42.5)
    b.assess("J", "imacs_tis", 182, 37.5)
    out = _by_id(patient_outcomes(b.frames(), at_day=182))
    assert out.loc["I", "responder"]
    assert out.loc["I", "tis"] == 42.5
    assert out.loc["I", "ck_change_pct"] == pytest.approx(-75.0)
    assert not out.loc["J", "responder"]


def test_cidp_adjusted_incat_ignores_arm_1_to_0() -> None:
    b = Builder().patient("A", "cidp").patient("B", "cidp")
    b.assess("A", "incat", -3, 4, {"arm": 1, "leg": 3}).assess(
        "A", "incat", 182, 3, {"arm": 0, "leg": 3}
    )
    b.assess("B", "incat", -3, 5, {"arm": 2, "leg": 3}).assess(
        "B", "incat", 182, 4, {"arm": 2, "leg": 2}
    )
    b.assess("B", "mrc_sum", -3, 40).assess("B", "mrc_sum", 182, 46)
    out = _by_id(patient_outcomes(b.frames(), at_day=182))
    # A: raw change −1 but it is the arm's 1 → 0, which the adjusted INCAT does not count.
    assert out.loc["A", "change"] == -1
    assert out.loc["A", "incat_adjusted_change"] == 0
    assert not out.loc["A", "responder"]
    assert out.loc["B", "responder"]
    assert out.loc["B", "mrc_change"] == 6


def test_not_evaluable_without_follow_up_and_unknown_without_scale() -> None:
    b = Builder().patient("E", "mg").patient("U", "cidp")
    b.assess("E", "mg_adl", -3, 9).assess("E", "mg_adl", 100, 3)
    b.assess("U", "edss", 400, 2.0)
    out = _by_id(patient_outcomes(b.frames(), at_day=365))
    assert not out.loc["E", "evaluable"]
    assert pd.isna(out.loc["U", "drug_free_remission"])


def test_cutoff_drops_later_facts() -> None:
    b = Builder().patient("C", "nmosd")
    b.assess("C", "edss", -3, 4.0).assess("C", "edss", 300, 4.0)
    b.event("C", "relapse", 200)
    cut = (b.at("C", 150)).date()
    out = _by_id(patient_outcomes(b.frames(), cutoff=cut)).loc["C"]
    assert out["relapse_free"]
    assert out["follow_up_days"] < 151


def test_on_maintenance_intervals() -> None:
    events = [("maintenance_started", "rtx", 10.0), ("maintenance_stopped", "rtx", 50.0)]
    assert not on_maintenance(events, 5)
    assert on_maintenance(events, 10)
    assert not on_maintenance(events, 50)
    # Stopped without a recorded start (pre-CAR-T therapy withdrawn): not running.
    assert not on_maintenance([("maintenance_stopped", "aza", -5.0)], 30)
