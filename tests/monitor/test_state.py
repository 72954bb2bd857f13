"""Deriving calculator inputs from facts: CRS (window, masking, pressors, oxygen), ICANS with
a baseline ICE (Lee DW et al. 2019; Greco R et al. 2024), and robustness to inputs a calculator
rejects."""

from __future__ import annotations

from neurocart.monitor import Engine
from tests.monitor.helpers import SBP, TEMP, Patient


def test_crs_uses_the_highest_temperature_of_24_hours() -> None:
    p = Patient(Engine())
    p.obs(TEMP, 38.3, 10)
    p.obs(TEMP, 37.0, 20)
    assert p.signals["temperature_max_24h_c"] == 38.3
    assert p.signals["crs_grade"] == 1
    p.obs(TEMP, 37.0, 35)
    assert p.signals["crs_grade"] == 0


def test_hypotension_threshold_is_below_90() -> None:
    p = Patient(Engine())
    p.obs(TEMP, 38.3, 10)
    p.obs(SBP, 90, 11)
    assert p.signals["hypotension"] is False
    assert p.signals["crs_grade"] == 1
    p.obs(SBP, 89, 12)
    assert p.signals["hypotension"] is True
    assert p.signals["crs_grade"] == 2


def test_tocilizumab_while_febrile_masks_the_fever_for_72_hours() -> None:
    p = Patient(Engine())
    p.obs(TEMP, 38.8, 10)
    p.event("oxygen_support", 11, details={"device": "nasal_cannula", "flow_l_min": 2}, id="o2")
    p.event("drug_given", 12, drug="tocilizumab")
    p.obs(TEMP, 37.0, 40)  # afebrile after tocilizumab, still on oxygen
    assert p.signals["fever_masked"] is True
    assert p.signals["crs_grade"] == 2
    p.obs(TEMP, 37.0, 12 + 73)
    assert p.signals["fever_masked"] is False
    assert p.signals["crs_grade"] == 0


def test_tocilizumab_without_fever_does_not_mask() -> None:
    p = Patient(Engine())
    p.obs(TEMP, 37.1, 10)
    p.event("drug_given", 12, drug="dexamethasone")
    p.obs(TEMP, 37.0, 13)
    assert p.signals["fever_masked"] is False


def test_vasopressors_counted_while_active_and_superseded_event_ends_them() -> None:
    p = Patient(Engine())
    p.obs(TEMP, 38.5, 10)
    p.event("drug_given", 11, drug="vasopressor", details={"agent": "norepinephrine"}, id=1)
    p.event("drug_given", 11, drug="vasopressor", details={"agent": "phenylephrine"}, id=2)
    assert p.signals["vasopressors"] == 2
    assert p.signals["crs_grade"] == 4
    p.event(
        "drug_given", 11, drug="vasopressor", details={"agent": "phenylephrine"}, id=2,
        end_hours=12,
    )  # fmt: skip
    p.obs(TEMP, 38.5, 13)
    assert p.signals["vasopressors"] == 1
    assert p.signals["crs_grade"] == 3


def test_unknown_oxygen_device_does_not_stop_grading() -> None:
    p = Patient(Engine())
    p.obs(TEMP, 38.5, 10)
    p.event("oxygen_support", 11, details={"device": "helmet"})
    state = p.engine.state("NC-0001")
    assert p.signals["crs_grade"] is not None
    assert any("oxygen_device" in problem for problem in state.problems)


def test_high_flow_cannula_with_low_flow_is_graded_without_the_flow() -> None:
    p = Patient(Engine())
    p.obs(TEMP, 38.5, 10)
    p.event("oxygen_support", 11, details={"device": "high_flow_nasal_cannula", "flow_l_min": 5})
    assert p.signals["crs_grade"] == 3  # the device, the rejected flow dropped


# --- ICE baseline-aware behaviour: a patient whose baseline ICE is 7 ---


def test_baseline_ice_7_stable_deficit_does_not_alert() -> None:
    """ICE 6 is ASTCT grade 2, but only 1 point below this patient's own baseline of 7."""
    p = Patient(Engine(), baseline_ice=7)
    actions = p.ice(6, 100)
    assert p.signals["icans_astct_grade"] == 2  # reported beside the adjusted grade
    assert p.signals["icans_grade"] == 1  # effective ICE 10 − (7 − 6) = 9
    assert p.signals["ice_drop"] == 1
    assert actions == []
    assert not p.fired("ice_drop")


def test_baseline_ice_7_drop_of_2_alerts_neurology_with_both_grades() -> None:
    p = Patient(Engine(), baseline_ice=7)
    actions = p.ice(5, 100)
    opened = next(a for a in actions if a.kind == "open")
    assert opened.rule_id == "ice_drop"
    assert opened.severity == "warning"
    assert dict(opened.values)["icans_astct_grade"] == 2
    assert dict(opened.values)["icans_grade"] == 1
    assert "baseline ICE 7" in opened.text
    assert "ICE score 5" in opened.text
    assert "neurology" in opened.disciplines
    assert any("BASELINE-ADJUSTED" in r for r in opened.reasons)


def test_baseline_ice_7_drop_to_3_is_adjusted_grade_2_and_upgrades() -> None:
    p = Patient(Engine(), baseline_ice=7)
    p.ice(5, 100)
    actions = p.ice(3, 106)  # effective ICE 6 → adjusted grade 2; ASTCT grade 2
    up = next(a for a in actions if a.kind == "upgrade")
    assert up.rule_id == "icans_2_plus_or_seizure"
    assert up.severity == "urgent"
    assert up.grade == 2
    assert "icu" in up.disciplines


def test_same_ice_without_baseline_alerts_on_astct_grade() -> None:
    p = Patient(Engine())
    p.ice(6, 100)
    assert p.signals["icans_grade"] == p.signals["icans_astct_grade"] == 2
    assert p.fired("icans_2_plus_or_seizure")


def test_pre_infusion_ice_is_the_baseline_when_the_context_has_none() -> None:
    p = Patient(Engine())
    p.ice(7, -30)
    p.ice(6, 100)
    assert p.signals["ice_baseline"] == 7
    assert p.signals["icans_grade"] == 1


def test_unarousable_on_neuro_exam_is_icans_grade_4() -> None:
    p = Patient(Engine(), baseline_ice=7)
    p.ice(5, 100)
    actions = p.assess("neuro_exam", 101, consciousness="unarousable")
    assert p.signals["icans_grade"] == 4
    assert any(a.kind == "upgrade" and a.severity == "critical" for a in actions)
