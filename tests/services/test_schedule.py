"""services.schedule: the stored record → facts, anchors, attributes → the patient's schedule."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from neurocart.pathway import SlotState, overdue_critical
from neurocart.services import assessments
from neurocart.services.schedule import (
    anchors_for_patient,
    died_at,
    facts_for_patient,
    fold_name,
    patient_attributes,
    patient_schedule,
    patient_schedules,
)
from neurocart.store import repo
from neurocart.store.errors import NotFoundError

INFUSION = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
LD_START = date(2025, 2, 26)
NOW = INFUSION + timedelta(hours=30)  # day 1, 16:00


@pytest.fixture
def treated(database, nurse, mg_patient):
    """The MG patient with a course (infusion time recorded) and a few recorded facts."""
    pid = mg_patient.id
    with database.transaction() as session:
        repo.create_course(
            session,
            nurse,
            repo.CourseIn(
                patient_id=pid,
                product="BCMA CAR-T",
                target="BCMA",
                enrolment_date=date(2025, 1, 6),
                apheresis_date=date(2025, 2, 3),
                ld_start_date=LD_START,
                infusion_at=INFUSION,
                protocol_id="nad-cart-2025",
            ),
        )
        ld0 = datetime(2025, 2, 26, 9, tzinfo=UTC)
        for drug, at in (
            ("fludarabine", ld0),
            ("Cyclophosphamide", ld0 + timedelta(hours=1)),
            ("fludarabine", ld0 + timedelta(days=1)),
            ("Entecavir", ld0 + timedelta(days=2)),
        ):
            repo.add_event(session, nurse, repo.EventIn(pid, "drug_given", onset_at=at, drug=drug))
        ice = {
            "orientation": 4,
            "naming": 3,
            "commands": 1,
            "writing": 1,
            "attention": 1,
        }
        assessments.add_assessment(
            session, nurse, repo.AssessmentIn(pid, "ice", ice, INFUSION + timedelta(hours=1))
        )
        repo.add_observations(
            session,
            nurse,
            [
                repo.ObservationIn(
                    pid, "16933-4", 1.0, "{result}", datetime(2025, 1, 7, tzinfo=UTC),
                    specimen="serum",
                )
            ],
        )  # fmt: skip
    return mg_patient


def test_anchors_use_the_infusion_instant_and_midnight_for_dates(database, treated):
    with database.reading() as session:
        anchors = anchors_for_patient(session, treated.id)
    assert anchors == {
        "enrolment": datetime(2025, 1, 6, tzinfo=UTC),
        "apheresis": datetime(2025, 2, 3, tzinfo=UTC),
        "ld_start": datetime(2025, 2, 26, tzinfo=UTC),
        "infusion": INFUSION,
    }


def test_facts_carry_drug_detail_and_refs(database, treated):
    with database.reading() as session:
        facts = facts_for_patient(session, treated.id)
    codes = {(f.kind, f.code) for f in facts}
    assert ("event", "drug_given") in codes
    assert ("event", "drug_given:cyclophosphamide") in codes
    assert ("event", "drug_given:entecavir") in codes
    assert ("assessment", "ice") in codes
    assert ("observation", "16933-4") in codes
    assert all(isinstance(f.ref, str) and ":" in f.ref for f in facts)


def test_retracted_facts_do_not_count(database, nurse, treated):
    with database.transaction() as session:
        (ice,) = repo.list_assessments(session, treated.id)
        repo.retract_assessment(session, nurse, ice.id, reason="wrong patient")
    with database.reading() as session:
        facts = facts_for_patient(session, treated.id)
        plan = patient_schedule(session, treated.id, now=NOW)
    assert ("assessment", "ice") not in {(f.kind, f.code) for f in facts}
    assert plan.of_task("ice")[0].state is SlotState.OVERDUE


def test_attributes(database, treated):
    with database.reading() as session:
        attributes = patient_attributes(session, treated.id)
    assert attributes["diagnosis"] == "mg"
    assert attributes["sex"] == "female"
    assert attributes["prior_anti_cd20"] is True  # rituximab
    assert attributes["anti_hbc_positive"] is True
    assert attributes["cns_compartment_studied"] is False


def test_schedule_done_due_overdue(database, treated):
    with database.reading() as session:
        plan = patient_schedule(session, treated.id, now=NOW)
    assert plan.protocol.id == "nad-cart-2025"
    ice = plan.of_task("ice")
    # every 12 h from infusion, each open 12 h: 10:00 done, 22:00 missed, day 1 10:00 open
    assert [s.state for s in ice[:4]] == [
        SlotState.DONE,
        SlotState.OVERDUE,
        SlotState.DUE,
        SlotState.UPCOMING,
    ]
    assert ice[0].done_by[0].ref is not None
    assert str(ice[0].done_by[0].ref).startswith("assessment:")
    assert ice[0].study_day == 0
    # both lymphodepletion drugs on day 0 (one spelled with a capital); only one on day 1
    ld = plan.of_task("ld_chemotherapy")
    assert [s.state for s in ld] == [SlotState.DONE, SlotState.OVERDUE, SlotState.OVERDUE]
    assert ld[0].study_day == -5  # 26 Feb is five calendar days before the 3 March infusion
    # entecavir: applies (anti-HBc positive) and the first month is covered
    assert plan.of_task("so_entecavir")[0].state is SlotState.DONE
    # pregnancy test applies to women; nothing recorded, window long closed
    assert plan.of_task("scr_pregnancy_test")[0].state is SlotState.OVERDUE
    # a CSF task does not apply: no lumbar puncture, no CSF sample
    csf = [s for s in plan.slots if s.task.condition.get("cns_compartment_studied")]
    assert csf
    assert all(s.state is SlotState.NOT_APPLICABLE for s in csf)


def test_anti_hbc_negative_makes_entecavir_not_applicable(database, nurse, treated):
    with database.transaction() as session:
        (result,) = repo.list_observations(session, treated.id, code="16933-4")
        repo.correct_observation(session, nurse, result.id, reason="lab amended", value=0.0)
    with database.reading() as session:
        plan = patient_schedule(session, treated.id, now=NOW)
        assert patient_attributes(session, treated.id)["anti_hbc_positive"] is False
    assert {s.state for s in plan.of_task("so_entecavir")} == {SlotState.NOT_APPLICABLE}


def test_patient_without_course_is_not_scheduled(database, mg_patient):
    with database.reading() as session:
        plan = patient_schedule(session, mg_patient.id, now=NOW, protocol_id="outpatient-follow-up")
        anchors = anchors_for_patient(session, mg_patient.id)
    assert set(anchors.values()) == {None}
    assert plan.protocol.id == "outpatient-follow-up"
    assert {s.state for s in plan.slots} <= {SlotState.NOT_SCHEDULED, SlotState.NOT_APPLICABLE}


def test_unknown_patient(database):
    with pytest.raises(NotFoundError) as caught, database.reading() as session:
        patient_schedule(session, 404, now=NOW)
    assert caught.value.field == "patient_id"


def test_fold_name():
    assert fold_name("Trimethoprim-Sulfamethoxazole") == "trimethoprim_sulfamethoxazole"
    assert fold_name("  IVIG ") == "ivig"


DIED = INFUSION + timedelta(hours=20)  # day 0, 4 Mar 06:00 UTC
LATER = INFUSION + timedelta(days=40)


def test_nothing_due_or_overdue_after_a_recorded_death(database, nurse, treated):
    with database.transaction() as session:
        death = repo.add_event(
            session, nurse, repo.EventIn(treated.id, "death", onset_at=DIED, details={})
        )
    with database.reading() as session:
        assert died_at(session, treated.id) == DIED
        plan = patient_schedule(session, treated.id, now=LATER)
    assert (plan.ended_at, plan.end_reason) == (DIED, "patient died")
    overdue = plan.in_state(SlotState.OVERDUE)
    assert overdue  # missed while alive: the 22:00 ICE window had not closed; LD day 1 had
    assert all(s.window_end is not None and s.window_end < DIED for s in overdue)
    assert not plan.in_state(SlotState.DUE, SlotState.UPCOMING, SlotState.NOT_SCHEDULED)
    assert overdue_critical(plan) == []
    ice = plan.of_task("ice")
    assert ice[0].state is SlotState.DONE  # recorded before death: kept
    assert {s.state for s in ice[1:]} == {SlotState.NOT_APPLICABLE}  # [1] was open at death
    assert {s.reason for s in ice[1:]} == {"patient died on 2025-03-04"}
    # a retracted death no longer ends follow-up
    with database.transaction() as session:
        repo.retract_event(session, nurse, death.id, reason="wrong patient")
    with database.reading() as session:
        assert died_at(session, treated.id) is None
        alive = patient_schedule(session, treated.id, now=LATER)
    assert alive.ended_at is None
    late = [s.window_end for s in alive.in_state(SlotState.OVERDUE)]
    assert any(end is not None and end >= DIED for end in late)


def test_a_death_after_now_is_not_known_yet(database, nurse, treated):
    with database.transaction() as session:
        repo.add_event(session, nurse, repo.EventIn(treated.id, "death", onset_at=LATER))
    with database.reading() as session:
        plan = patient_schedule(session, treated.id, now=NOW)
    assert plan.ended_at is None
    assert plan.of_task("ice")[2].state is SlotState.DUE


def test_many_patients_at_once_equal_each_alone(database, nurse, treated):
    """The bulk read (what the monitor uses) keeps every patient's record to itself: another
    patient's death, anti-HBc result, CSF sample, facts and course change nothing."""
    with database.transaction() as session:
        other = repo.create_patient(
            session, nurse, repo.PatientIn("NC-OTHER", "HD", "male", "nmosd", birth_year=1970)
        )
        repo.create_course(
            session, nurse, repo.CourseIn(other.id, "x", infusion_at=INFUSION + timedelta(days=1))
        )
        repo.add_event(session, nurse, repo.EventIn(other.id, "death", onset_at=DIED))
        repo.add_event(session, nurse, repo.EventIn(other.id, "death", onset_at=LATER))
        at = INFUSION + timedelta(hours=2)
        repo.add_observations(
            session,
            nurse,
            [
                repo.ObservationIn(other.id, "16933-4", 0.0, "{result}", at, specimen="serum"),
                repo.ObservationIn(other.id, "2465-3", 3.0, "g/L", at, specimen="csf"),
            ],
        )
        lonely = repo.create_patient(
            session, nurse, repo.PatientIn("NC-NONE", "HD", "female", "mg")
        )
    ids = [treated.id, other.id, lonely.id]
    with database.reading() as session:
        together = patient_schedules(session, [*ids, 10_000], now=LATER)
        alone = {pid: patient_schedule(session, pid, now=LATER) for pid in ids}
        attributes = {pid: patient_attributes(session, pid) for pid in ids}
        assert {pid: died_at(session, pid) for pid in ids} == {
            treated.id: None, other.id: DIED, lonely.id: None
        }  # fmt: skip
    assert _view(together) == _view(alone)  # an unknown id is left out, not an error
    assert attributes[treated.id]["anti_hbc_positive"] is True
    assert attributes[other.id]["anti_hbc_positive"] is False
    assert attributes[lonely.id]["anti_hbc_positive"] is None
    assert [attributes[pid]["cns_compartment_studied"] for pid in ids] == [False, True, False]


def _view(plans):
    """What a schedule says (slots are working objects compared by identity)."""
    return {
        pid: (
            plan.protocol.id,
            plan.ended_at,
            plan.end_reason,
            [(s.task_id, s.index, s.anchor_at, s.state, s.done_by, s.reason) for s in plan.slots],
        )
        for pid, plan in plans.items()
    }


def _slots(schedule):
    return [(s.task_id, s.index, s.state, tuple(f.ref for f in s.done_by)) for s in schedule.slots]


@pytest.mark.parametrize("days", [-1, 0.1, 1, 10, 400])
def test_a_long_history_read_by_window_gives_the_same_schedule(
    database, nurse, treated, monkeypatch, days
):
    """Dense vitals with equal times, corrections and retractions: reading only the first
    facts of each window (the long-history path) completes exactly the slots reading every
    observation does."""
    import random

    import neurocart.services.schedule as service

    rng = random.Random(19)
    codes = ["8310-5", "8867-4", "8480-6", "9279-1", "59408-5", "1988-5", "751-8", "2160-0"]
    start = INFUSION - timedelta(days=2)
    items = [
        repo.ObservationIn(
            treated.id, rng.choice(codes), 37.0, "x",
            start + timedelta(minutes=5 * rng.randrange(18 * 24 * 12)),
        )
        for _ in range(1500)
    ]  # fmt: skip
    with database.transaction() as session:
        ids = repo.add_observations(session, nurse, items)
        changed = rng.sample(ids, 80)
        for i in changed[:40]:
            repo.retract_observation(session, nurse, i, reason="wrong patient")
        for i in changed[40:]:
            moved = repo.get_observation(session, i).effective_at + timedelta(minutes=7)
            repo.correct_observation(session, nurse, i, reason="time", effective_at=moved)
    now = INFUSION + timedelta(days=days)
    with database.reading() as session:
        monkeypatch.setattr(service, "WINDOWED_READ_ABOVE", 10**9)
        everything = patient_schedule(session, treated.id, now=now)
        monkeypatch.setattr(service, "WINDOWED_READ_ABOVE", 0)
        windowed = patient_schedule(session, treated.id, now=now)
    assert _slots(windowed) == _slots(everything)
    assert sum(s.state == SlotState.DONE for s in everything.slots) > (5 if days > 1 else 0)
