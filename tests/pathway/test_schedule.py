"""The engine: states by `now`, window edges, matching, anchors, conditions, helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from neurocart.pathway import (
    PATIENT_DIED,
    Fact,
    Protocol,
    SlotState,
    compute_schedule,
    due_today,
    load_shipped,
    overdue_critical,
    summarize,
    totals,
)
from tests.pathway.conftest import DAY0

H = timedelta(hours=1)
D = timedelta(days=1)
MIN = timedelta(minutes=1)
ENROL = DAY0 - 30 * D
LD = DAY0 - 5 * D
ANCHORS = {"enrolment": ENROL, "ld_start": LD, "infusion": DAY0}
MS = {"diagnosis": "ms"}


def obs(code: str, at: datetime, ref: int | None = None) -> Fact:
    return Fact("observation", code, at, ref)


def states(
    protocol: Protocol, task: str, facts: list[Fact], now: datetime, **kw: object
) -> list[SlotState]:
    schedule = compute_schedule(
        protocol,
        kw.pop("anchors", ANCHORS),  # type: ignore[arg-type]
        facts,
        now=now,
        patient=kw.pop("patient", MS),  # type: ignore[arg-type]
        ended_at=kw.pop("ended_at", None),  # type: ignore[arg-type]
    )
    return [s.state for s in schedule.of_task(task)]


def test_states_follow_now(small: Protocol) -> None:
    # screen: window [enrolment − 1 d, enrolment + 1 d]
    assert states(small, "screen", [], ENROL - D - MIN) == [SlotState.UPCOMING]
    assert states(small, "screen", [], ENROL - D) == [SlotState.DUE]
    assert states(small, "screen", [], ENROL + D) == [SlotState.DUE]
    assert states(small, "screen", [], ENROL + D + MIN) == [SlotState.OVERDUE]
    done = [obs("2160-0", ENROL)]
    assert states(small, "screen", done, ENROL + 10 * D) == [SlotState.DONE]


@pytest.mark.parametrize(
    ("at", "completes"),
    [
        (ENROL - D, True),  # exactly at window start
        (ENROL + D, True),  # exactly at window end
        (ENROL - D - MIN, False),
        (ENROL + D + MIN, False),  # one minute late: overdue
    ],
)
def test_window_edges_are_inclusive(small: Protocol, at: datetime, completes: bool) -> None:
    expected = SlotState.DONE if completes else SlotState.OVERDUE
    assert states(small, "screen", [obs("2160-0", at)], ENROL + 5 * D) == [expected]


def test_done_records_the_fact_and_study_day(small: Protocol) -> None:
    fact = Fact("assessment", "icans", DAY0 + 13 * H, ref=42)
    schedule = compute_schedule(small, ANCHORS, [fact], now=DAY0 + 2 * D + MIN, patient=MS)
    ice = schedule.of_task("ice")
    assert [s.state for s in ice] == [
        SlotState.OVERDUE,
        SlotState.DONE,
        SlotState.OVERDUE,
        SlotState.OVERDUE,
    ]
    assert ice[1].done_by == (fact,)
    assert ice[1].done_at == fact.time
    assert ice[1].window_start == DAY0 + 12 * H
    assert ice[1].window_end == DAY0 + 24 * H
    assert [s.study_day for s in ice] == [0, 0, 1, 1]
    baseline = schedule.of_task("baseline_ice")[0]
    assert baseline.study_day == -6
    assert baseline.due_at == LD - D


def test_one_fact_completes_at_most_one_slot(small: Protocol) -> None:
    at_boundary = Fact("assessment", "ice", DAY0 + 12 * H)  # end of slot 0 and start of slot 1
    assert states(small, "ice", [at_boundary], DAY0 + 5 * D)[:2] == [
        SlotState.DONE,
        SlotState.OVERDUE,
    ]
    two = [at_boundary, Fact("assessment", "ice", DAY0 + 12 * H)]
    assert states(small, "ice", two, DAY0 + 5 * D)[:3] == [
        SlotState.DONE,
        SlotState.DONE,
        SlotState.OVERDUE,
    ]
    # Two facts inside one slot's window complete that slot only.
    early = [Fact("assessment", "ice", DAY0 + H), Fact("assessment", "ice", DAY0 + 2 * H)]
    assert states(small, "ice", early, DAY0 + 5 * D)[:2] == [SlotState.DONE, SlotState.OVERDUE]


def test_require_all_needs_every_code_in_the_window(small: Protocol) -> None:
    facts = [obs("8310-5", DAY0 + H), obs("8867-4", DAY0 + 3 * H), obs("8310-5", DAY0 + 5 * H)]
    schedule = compute_schedule(small, ANCHORS, facts, now=DAY0 + 9 * H, patient=MS)
    vitals = schedule.of_task("vitals")
    assert len(vitals) == 12
    assert [s.state for s in vitals[:4]] == [
        SlotState.DONE,
        SlotState.OVERDUE,
        SlotState.DUE,
        SlotState.UPCOMING,
    ]
    assert vitals[0].done_by == (facts[0], facts[1])


def test_facts_after_now_are_ignored(small: Protocol) -> None:
    future = [Fact("assessment", "ice", DAY0 + 6 * H)]
    assert states(small, "ice", future, DAY0 + 5 * H)[0] is SlotState.DUE
    assert states(small, "ice", future, DAY0 + 6 * H)[0] is SlotState.DONE


def test_other_kinds_and_codes_do_not_match(small: Protocol) -> None:
    wrong = [
        obs("ice", DAY0 + H),
        Fact("event", "ice", DAY0 + H),
        Fact("assessment", "edss", DAY0 + H),
    ]
    assert states(small, "ice", wrong, DAY0 + 2 * D)[0] is SlotState.OVERDUE


def test_unknown_anchor_date_is_not_yet_scheduled(small: Protocol) -> None:
    anchors = {"enrolment": ENROL, "ld_start": None}
    schedule = compute_schedule(small, anchors, [], now=ENROL + D, patient=MS)
    vitals = schedule.of_task("vitals")
    assert {s.state for s in vitals} == {SlotState.NOT_SCHEDULED}
    assert vitals[0].window_start is None
    assert vitals[0].due_at is None
    assert "infusion date not known" in vitals[0].reason
    assert [s.study_day for s in vitals[:7]] == [0, 0, 0, 0, 0, 0, 1]  # known from the offset
    baseline = schedule.of_task("baseline_ice")[0]
    assert baseline.state is SlotState.NOT_SCHEDULED
    assert baseline.study_day is None
    assert schedule.of_task("screen")[0].state is SlotState.DUE


@pytest.mark.parametrize(
    ("patient", "applies"),
    [
        ({"diagnosis": "ms"}, True),
        ({"diagnosis": "NMOSD"}, True),  # case-insensitive
        ({"diagnosis": "mg"}, False),
        ({"diagnosis": ["cidp", "ms"]}, True),  # a collection: any value
        ({}, False),  # unknown diagnosis: not assumed
    ],
)
def test_conditions(small: Protocol, patient: dict[str, object], applies: bool) -> None:
    schedule = compute_schedule(small, ANCHORS, [], now=DAY0, patient=patient)
    mri = schedule.of_task("mri")
    assert len(mri) == 2
    if applies:
        assert {s.state for s in mri} == {SlotState.UPCOMING}
    else:
        assert {s.state for s in mri} == {SlotState.NOT_APPLICABLE}
        assert "diagnosis" in mri[0].reason
    assert schedule.of_task("ice")[0].state is not SlotState.NOT_APPLICABLE


def test_mri_only_for_ms_and_nmosd_in_the_default_protocol() -> None:
    protocol = load_shipped()
    for diagnosis, applies in (("ms", True), ("nmosd", True), ("mg", False), ("cidp", False)):
        schedule = compute_schedule(
            protocol, {"infusion": DAY0}, now=DAY0, patient={"diagnosis": diagnosis}
        )
        assert (schedule.of_task("fu_mri")[0].state is SlotState.UPCOMING) is applies
        assert (schedule.of_task("fu_edss")[0].state is SlotState.UPCOMING) is applies
        assert (schedule.of_task("fu_mg_scales")[0].state is SlotState.UPCOMING) is (
            diagnosis == "mg"
        )


def test_entecavir_is_a_standing_order_when_anti_hbc_positive() -> None:
    protocol = load_shipped()
    anchors = {"ld_start": LD, "infusion": DAY0}
    positive = compute_schedule(protocol, anchors, now=DAY0, patient={"anti_hbc_positive": True})
    negative = compute_schedule(protocol, anchors, now=DAY0, patient={"anti_hbc_positive": False})
    assert len(positive.of_task("so_entecavir")) == 12
    assert positive.of_task("so_entecavir")[0].state is SlotState.DUE
    assert {s.state for s in negative.of_task("so_entecavir")} == {SlotState.NOT_APPLICABLE}


def test_helpers(small: Protocol) -> None:
    facts = [Fact("assessment", "ice", DAY0 + H)]
    for k in range(3):
        facts += [obs("8310-5", DAY0 + 4 * k * H), obs("8867-4", DAY0 + 4 * k * H)]
    now = DAY0 + 25 * H  # day 1, 09:00 UTC
    schedule = compute_schedule(small, ANCHORS, facts, now=now, patient=MS)
    critical = overdue_critical(schedule)
    assert [(s.task_id, s.index) for s in critical] == [
        ("vitals", 3),
        ("ice", 1),
        ("vitals", 4),
        ("vitals", 5),
    ]  # by window start; ties in protocol order
    today = due_today(schedule)
    assert [(s.task_id, s.index) for s in today] == [
        ("vitals", 6),
        ("ice", 2),
        ("vitals", 7),
        ("vitals", 8),
        ("vitals", 9),
        ("ice", 3),
    ]  # due now, then those opening before midnight UTC (day 0 + 40 h)
    # In UTC+9 "today" already ends at 15:00 UTC.
    tokyo = due_today(schedule, ZoneInfo("Asia/Tokyo"))
    assert [(s.task_id, s.index) for s in tokyo] == [("vitals", 6), ("ice", 2), ("vitals", 7)]
    counts = summarize(schedule)
    assert list(counts) == ["screening", "acute", "follow_up"]
    assert counts["acute"][SlotState.DONE] == 4
    assert counts["acute"][SlotState.OVERDUE] == 4
    assert counts["follow_up"][SlotState.UPCOMING] == 2
    assert sum(totals(schedule).values()) == len(schedule.slots) == 1 + 1 + 12 + 4 + 2


def test_default_protocol_missed_vitals_is_one_critical_alert() -> None:
    protocol = load_shipped()
    codes = ["8310-5", "8867-4", "8480-6", "9279-1", "59408-5"]
    facts = [obs(c, DAY0 + k * 4 * H + 30 * MIN) for k in range(18) if k != 7 for c in codes]
    facts += [Fact("assessment", "ice", DAY0 + k * 12 * H + H) for k in range(6)]
    schedule = compute_schedule(protocol, {"infusion": DAY0}, facts, now=DAY0 + 3 * D, patient=MS)
    alerts = overdue_critical(schedule)
    assert [(s.task_id, s.index, s.study_day) for s in alerts] == [("vitals", 7, 1)]


def test_bad_inputs_are_named() -> None:
    protocol = load_shipped()
    naive = datetime(2025, 1, 1)
    with pytest.raises(ValueError, match="now"):
        compute_schedule(protocol, {}, now=naive)
    with pytest.raises(ValueError, match=r"anchors\.infusion"):
        compute_schedule(protocol, {"infusion": naive}, now=DAY0)
    with pytest.raises(ValueError, match="unknown anchor 'infusin'"):
        compute_schedule(protocol, {"infusin": DAY0}, now=DAY0)
    with pytest.raises(ValueError, match="time"):
        Fact("observation", "8310-5", naive)
    with pytest.raises(ValueError, match="kind"):
        Fact("lab", "8310-5", DAY0)  # type: ignore[arg-type]


def test_standard_anchor_unused_by_the_protocol_is_ignored() -> None:
    protocol = load_shipped("outpatient-follow-up")
    schedule = compute_schedule(protocol, {"enrolment": ENROL, "infusion": DAY0}, now=DAY0)
    assert len(schedule.slots) == 28
    assert schedule.now.tzinfo is UTC


def test_nothing_is_due_or_overdue_after_death(small: Protocol) -> None:
    died = DAY0 + 10 * H  # 3 Mar 2025, 18:00 UTC
    facts = [obs("8310-5", DAY0 + 30 * MIN), obs("8867-4", DAY0 + 30 * MIN)]  # vitals slot 0
    facts += [obs("8310-5", DAY0 + 9 * H), obs("8867-4", DAY0 + 9 * H)]  # slot 2, open at death
    facts += [Fact("assessment", "ice", DAY0 + H)]
    now = DAY0 + 100 * D
    alive = compute_schedule(small, ANCHORS, facts, now=now, patient=MS)
    schedule = compute_schedule(
        small, ANCHORS, facts, now=now, patient=MS, ended_at=died, end_reason=PATIENT_DIED
    )
    assert len(alive.in_state(SlotState.OVERDUE)) > 10  # without the death: all missed
    assert (schedule.ended_at, schedule.end_reason) == (died, "patient died")
    vitals = schedule.of_task("vitals")
    # done before death stay done; [4 h, 8 h] closed undone while alive stays overdue;
    # [12 h, 16 h] was open at death, everything later opens after it
    assert [s.state for s in vitals[:4]] == [
        SlotState.DONE,
        SlotState.OVERDUE,
        SlotState.DONE,
        SlotState.NOT_APPLICABLE,
    ]
    assert {s.state for s in vitals[3:]} == {SlotState.NOT_APPLICABLE}
    assert {s.reason for s in vitals[3:]} == {"patient died on 2025-03-03"}
    ice = schedule.of_task("ice")
    assert [s.state for s in ice] == [SlotState.DONE] + [SlotState.NOT_APPLICABLE] * 3
    assert ice[1].reason == "patient died on 2025-03-03"  # [12 h, 24 h]: opens after death
    assert {s.state for s in schedule.of_task("mri")} == {SlotState.NOT_APPLICABLE}
    assert schedule.of_task("screen")[0].state is SlotState.OVERDUE  # missed while alive
    assert all(
        s.window_end is not None and s.window_end < died
        for s in schedule.in_state(SlotState.OVERDUE)
    )
    assert not schedule.in_state(SlotState.DUE, SlotState.UPCOMING)
    assert overdue_critical(schedule) == []  # nobody is paged for a deceased patient
    assert overdue_critical(alive)
    assert due_today(schedule) == []


def test_a_slot_open_at_the_end_is_not_applicable_never_overdue(small: Protocol) -> None:
    died = DAY0 + 2 * H  # vitals slot 0 [0 h, 4 h] open, nothing recorded
    for now in (DAY0 + 3 * H, DAY0 + 5 * H, DAY0 + 30 * D):
        got = states(small, "vitals", [], now, ended_at=died)
        assert got == [SlotState.NOT_APPLICABLE] * len(got), now


def test_an_end_after_now_is_not_known_yet(small: Protocol) -> None:
    now = DAY0 + 9 * H
    alive = compute_schedule(small, ANCHORS, [], now=now, patient=MS)
    later = compute_schedule(small, ANCHORS, [], now=now, patient=MS, ended_at=now + MIN)
    assert [s.state for s in later.slots] == [s.state for s in alive.slots]
    assert later.ended_at is None
    assert later.end_reason == ""


def test_an_end_before_an_anchor_is_known_closes_its_tasks(small: Protocol) -> None:
    anchors = {"enrolment": ENROL, "ld_start": None, "infusion": None}
    ended = datetime(2025, 2, 3, 23, 30, tzinfo=ZoneInfo("America/New_York"))  # 4 Feb UTC
    schedule = compute_schedule(small, anchors, [], now=ENROL + 60 * D, patient=MS, ended_at=ended)
    assert schedule.end_reason == "follow-up ended"
    vitals = schedule.of_task("vitals")
    assert {s.state for s in vitals} == {SlotState.NOT_APPLICABLE}
    assert {s.reason for s in vitals} == {"follow-up ended on 2025-02-04"}  # on the UTC clock
    assert not schedule.in_state(SlotState.NOT_SCHEDULED)
    # a condition the patient does not meet keeps its own reason
    mg = compute_schedule(
        small, anchors, [], now=ENROL + 60 * D, patient={"diagnosis": "mg"}, ended_at=ended
    )
    assert mg.of_task("mri")[0].reason.startswith("diagnosis is 'mg'")


def test_bad_end_of_follow_up_is_named(small: Protocol) -> None:
    with pytest.raises(ValueError, match="ended_at"):
        compute_schedule(small, ANCHORS, now=DAY0, ended_at=datetime(2025, 3, 3))
    with pytest.raises(ValueError, match="end_reason"):
        compute_schedule(small, ANCHORS, now=DAY0, end_reason=PATIENT_DIED)


def test_the_end_is_dated_on_the_site_clock(small: Protocol, site_zone) -> None:
    """A death at 23:00 UTC on 1 June is on 2 June in Beijing: the slots say so."""
    site_zone("Asia/Shanghai")
    died = datetime(2025, 6, 1, 23, tzinfo=UTC)
    anchors = {"enrolment": ENROL, "ld_start": None, "infusion": None}
    schedule = compute_schedule(
        small, anchors, [], now=died + D, patient=MS, ended_at=died, end_reason=PATIENT_DIED
    )
    assert {s.reason for s in schedule.of_task("vitals")} == {"patient died on 2025-06-02"}
