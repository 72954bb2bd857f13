"""Each shipped rule (monitor/rules/default.toml): a patient who triggers it, one who does not.

Criteria: docs/monitoring.md "The shipped rules" (ASTCT CRS/ICANS, CTCAE, ICAHT, EASIX cut-off
of Korell 2022, fever ≥ 38.9 °C within 36 h of Hay 2017, IgG replacement threshold, critical
protocol tasks).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from neurocart.monitor import Engine, OverdueTask, load_rules
from neurocart.pathway import compute_schedule, load_shipped, overdue_critical
from tests.monitor.helpers import ANC, DAY0, IGG, PLT, SBP, TEMP, Patient, at


@pytest.fixture
def engine() -> Engine:
    return Engine()


def test_every_shipped_rule_has_a_test_here() -> None:
    tested = {
        "fever",
        "crs_grade_rise",
        "crs_grade_2_plus",
        "early_high_fever",
        "easix_pre_ld_high",
        "icans_2_plus_or_seizure",
        "ice_drop",
        "anc_below_0_5_7_days",
        "platelets_below_20",
        "car_hematotox_high",
        "iec_hs",
        "igg_below_4",
        "critical_task_overdue",
    }
    assert {r.id for r in load_rules().rules} == tested


def test_fever_in_window_triggers(engine: Engine) -> None:
    p = Patient(engine)
    actions = p.obs(TEMP, 38.2, 50)
    assert p.fired("fever")
    opened = next(a for a in actions if a.kind == "open")
    assert opened.rule_id == "fever"
    assert opened.severity == "warning"
    assert opened.study_day == 2
    assert "NC-0001 · day 2" in opened.text
    assert "temperature 38.2 °C" in opened.text
    assert "CRS grade (ASTCT) 1" in opened.text
    assert "Recommended: Supportive care" in opened.text
    assert "Lee DW" in opened.text


def test_no_fever_or_fever_outside_days_0_14_does_not_trigger(engine: Engine) -> None:
    afebrile = Patient(engine, "NC-0002")
    afebrile.obs(TEMP, 37.9, 50)
    late = Patient(engine, "NC-0003")
    late.obs(TEMP, 38.5, 24 * 20)
    assert not afebrile.fired("fever")
    assert not late.fired("fever")
    assert not afebrile.fired("crs_grade_rise")


def test_crs_grade_rise_upgrades_and_notifies(engine: Engine) -> None:
    p = Patient(engine)
    p.obs(TEMP, 38.4, 30)
    actions = p.obs(SBP, 85, 31)  # hypotension → CRS grade 2
    assert p.signals["crs_grade"] == 2
    up = [a for a in actions if a.kind == "upgrade"]
    assert len(up) == 1
    assert up[0].notify
    assert up[0].grade == 2
    assert p.fired("crs_grade_rise")
    quiet = Patient(engine, "NC-0002")
    quiet.obs(TEMP, 37.2, 30)
    quiet.obs(SBP, 85, 31)  # hypotension without fever is not CRS
    assert quiet.signals["crs_grade"] == 0
    assert not quiet.fired("crs_grade_rise")


def test_crs_grade_2_makes_icu_aware_with_tocilizumab(engine: Engine) -> None:
    p = Patient(engine)
    p.obs(TEMP, 38.6, 30)
    actions = p.event("oxygen_support", 31, details={"device": "nasal_cannula", "flow_l_min": 3})
    assert p.signals["crs_grade"] == 2
    assert p.fired("crs_grade_2_plus")
    up = next(a for a in actions if a.kind == "upgrade")
    assert up.rule_id == "crs_grade_2_plus"
    assert up.severity == "urgent"
    assert "icu" in up.disciplines
    assert "Tocilizumab 8 mg/kg" in up.recommended
    assert any("nasal cannula" in r for r in up.reasons)  # the calculator says why
    grade1 = Patient(engine, "NC-0002")
    grade1.obs(TEMP, 38.6, 30)
    assert grade1.signals["crs_grade"] == 1
    assert not grade1.fired("crs_grade_2_plus")


def test_crs_grade_3_is_critical_with_grade_3_step(engine: Engine) -> None:
    p = Patient(engine)
    p.obs(TEMP, 38.6, 30)
    actions = p.event("drug_given", 31, drug="vasopressor", details={"agent": "norepinephrine"})
    up = next(a for a in actions if a.kind == "upgrade")
    assert up.grade == 3
    assert up.severity == "critical"
    assert "dexamethasone 10 mg IV every 6 h" in up.recommended


def test_early_high_fever_within_36_hours(engine: Engine) -> None:
    early = Patient(engine)
    early.obs(TEMP, 39.0, 20)
    assert early.fired("early_high_fever")
    alert = next(a for a in engine.alerts("NC-0001") if a.episode == "severe_crs_risk")
    assert "Hay KA" in alert.source
    assert alert.severity == "urgent"
    late = Patient(engine, "NC-0002")
    late.obs(TEMP, 39.0, 40)
    lower = Patient(engine, "NC-0003")
    lower.obs(TEMP, 38.8, 20)
    assert not late.fired("early_high_fever")
    assert not lower.fired("early_high_fever")
    assert late.fired("fever")
    assert lower.fired("fever")


BASE_EASIX_HIGH = {"2532-0": 400.0, "2160-0": 120.0, "777-3": 100.0}  # 400 × 1.357 / 100 = 5.43
BASE_EASIX_LOW = {"2532-0": 200.0, "2160-0": 80.0, "777-3": 200.0}  # 0.90


def test_easix_before_lymphodepletion_above_cutoff(engine: Engine) -> None:
    high = Patient(engine, baseline_labs=BASE_EASIX_HIGH)
    high.obs(TEMP, 36.8, -30)  # the first fact times the alert
    assert high.signals["easix_pre_ld"] == pytest.approx(400 * 120 / 88.42 / 100)
    assert high.fired("easix_pre_ld_high")
    low = Patient(engine, "NC-0002", baseline_labs=BASE_EASIX_LOW)
    low.obs(TEMP, 36.8, -30)
    assert not low.fired("easix_pre_ld_high")


def test_easix_from_observations_before_lymphodepletion(engine: Engine) -> None:
    p = Patient(engine, ld_start_at=at(-24 * 5))
    for code, value in BASE_EASIX_HIGH.items():
        p.obs(code, value, -24 * 6)
    assert p.fired("easix_pre_ld_high")


def test_ice_drop_from_own_baseline(engine: Engine) -> None:
    p = Patient(engine, baseline_ice=9)
    p.ice(7, 100)
    assert p.fired("ice_drop")
    steady = Patient(engine, "NC-0002", baseline_ice=9)
    steady.ice(8, 100)
    assert not steady.fired("ice_drop")


def test_seizure_triggers_icans_alert(engine: Engine) -> None:
    p = Patient(engine)
    actions = p.event("seizure", 120, details={"kind": "resolves_rapidly"})
    assert p.fired("icans_2_plus_or_seizure")
    opened = next(a for a in actions if a.kind == "open")
    assert opened.grade == 3
    assert opened.severity == "critical"
    assert "neurology" in opened.disciplines
    assert "seizure in the last 24 h: yes" in opened.text


def test_icans_grade_2_triggers_grade_1_does_not(engine: Engine) -> None:
    p = Patient(engine)
    p.ice(5, 120)  # no baseline: ASTCT ICE 3–6 → grade 2
    assert p.signals["icans_grade"] == 2
    assert p.fired("icans_2_plus_or_seizure")
    mild = Patient(engine, "NC-0002")
    mild.ice(8, 120)
    assert mild.signals["icans_grade"] == 1
    assert not mild.fired("icans_2_plus_or_seizure")


def test_anc_below_0_5_for_7_days(engine: Engine) -> None:
    p = Patient(engine)
    p.obs(ANC, 1.2, 24 * 4 + 6)
    for day in range(5, 11):
        p.obs(ANC, 0.3, 24 * day + 6)
    assert not p.fired("anc_below_0_5_7_days")  # days 5–10: six days
    actions = p.obs(ANC, 0.3, 24 * 11 + 6)
    assert p.fired("anc_below_0_5_7_days")
    opened = next(a for a in actions if a.kind == "open")
    # 7 days ≤ 0.5 starting after day 3: ICAHT grade 2 (the calculator's, provisional)
    assert opened.grade == p.signals["icaht_grade"] == 2
    assert "ICAHT grade provisional" in opened.text
    assert "grades 4): yes" in opened.text
    assert "for 7 day(s)" in opened.text
    assert "G-CSF" in opened.recommended
    recovered = Patient(engine, "NC-0002")
    for day in range(1, 7):
        recovered.obs(ANC, 0.3, 24 * day + 6)
    recovered.obs(ANC, 0.6, 24 * 7 + 6)
    assert not recovered.fired("anc_below_0_5_7_days")


def test_icaht_is_provisional_only_before_day_30(engine: Engine) -> None:
    p = Patient(engine)
    for day in range(1, 9):
        p.obs(ANC, 0.3, 24 * day + 6)
    assert p.signals["icaht_grade"] == 4  # early onset, still ongoing at the latest ANC
    assert p.signals["icaht_provisional"] is True
    p.obs(ANC, 2.0, 24 * 30 + 6)  # day 30: the early window is complete
    assert p.signals["icaht_provisional"] is False
    p.obs(ANC, 0.4, 24 * 40 + 6)  # late phase: graded on days 31–100
    assert p.signals["icaht_provisional"] is False


def test_neutropenia_closes_after_stable_recovery(engine: Engine) -> None:
    p = Patient(engine)
    for day in range(1, 9):
        p.obs(ANC, 0.3, 24 * day)
    p.obs(ANC, 0.8, 24 * 9)
    p.obs(ANC, 0.9, 24 * 10)
    assert p.kinds("neutropenia").count("close") == 0
    actions = p.obs(ANC, 1.0, 24 * 12 + 1)
    close = [a for a in actions if a.kind == "close"]
    assert len(close) == 1
    assert close[0].at == at(24 * 12)  # 72 h after the first ANC ≥ 0.5


def test_platelets_below_20(engine: Engine) -> None:
    p = Patient(engine)
    p.obs(PLT, 15, 200)
    assert p.fired("platelets_below_20")
    q = Patient(engine, "NC-0002")
    q.obs(PLT, 25, 200)
    assert not q.fired("platelets_below_20")


def test_car_hematotox_high_at_baseline(engine: Engine) -> None:
    labs = {"751-8": 1.0, "718-7": 85.0, "777-3": 70.0, "1988-5": 40.0, "2276-4": 2500.0}
    p = Patient(engine, baseline_labs=labs)
    p.obs(TEMP, 36.9, 0)
    assert p.signals["car_hematotox"] == 7
    assert p.fired("car_hematotox_high")
    normal = {"751-8": 3.0, "718-7": 130.0, "777-3": 250.0, "1988-5": 2.0, "2276-4": 100.0}
    q = Patient(engine, "NC-0002", baseline_labs=normal)
    q.obs(TEMP, 36.9, 0)
    assert q.signals["car_hematotox"] == 0
    assert not q.fired("car_hematotox_high")


IEC_HS = {
    "attributable_to_iec_therapy": True,
    "onset": "as_crs_resolves",
    "ferritin_ug_l": 5000.0,
    "ferritin_uln_ug_l": 300.0,
    "fibrinogen_g_l": 1.0,
    "iec_hs_directed_therapy": True,
}


def test_iec_hs_criteria_met(engine: Engine) -> None:
    p = Patient(engine)
    p.assess("iec_hs", 24 * 9, **IEC_HS)
    assert p.signals["iec_hs_grade"] == 2
    assert p.fired("iec_hs")
    q = Patient(engine, "NC-0002")
    q.assess("iec_hs", 24 * 9, **{**IEC_HS, "attributable_to_iec_therapy": False})
    assert q.signals["iec_hs_grade"] == 0
    assert not q.fired("iec_hs")


def test_igg_below_4(engine: Engine) -> None:
    p = Patient(engine)
    p.obs(IGG, 3.5, 24 * 60)
    assert p.fired("igg_below_4")
    alert = engine.alerts("NC-0001")[0]
    assert "Immunoglobulin replacement" in alert.recommended
    q = Patient(engine, "NC-0002")
    q.obs(IGG, 4.0, 24 * 60)
    assert not q.fired("igg_below_4")


def test_critical_task_overdue_from_the_pathway(engine: Engine) -> None:
    now = DAY0 + timedelta(hours=13)
    schedule = compute_schedule(
        load_shipped("nad-cart-2025"),
        {"infusion": DAY0},
        [],
        now=now,
        patient={"diagnosis": "nmosd", "sex": "female"},
    )
    slots = overdue_critical(schedule)
    assert any(s.task_id == "ice" for s in slots)
    Patient(engine)
    actions = engine.tick(now, overdue={"NC-0001": slots})
    opened = next(a for a in actions if a.kind == "open")
    assert opened.rule_id == "critical_task_overdue"
    assert "ICE score (neurology)" in opened.text
    # done later: the next tick without overdue tasks closes it
    later = engine.tick(now + timedelta(minutes=30), overdue={})
    assert [a.kind for a in later] == ["close"]
    q = Patient(engine, "NC-0002")
    engine.tick(now, overdue={"NC-0002": []})
    assert not q.fired("critical_task_overdue")


def test_overdue_task_objects_work_too(engine: Engine) -> None:
    Patient(engine)
    task = OverdueTask("ice", "ICE score", "neurology", 0, DAY0)
    actions = engine.set_overdue("NC-0001", [task], at(20))
    assert [a.kind for a in actions] == ["open"]
