"""Property tests: the fast matcher equals a naive reference, and recording more facts never
undoes a done slot nor adds an overdue one."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from neurocart.pathway import Fact, Protocol, Schedule, SlotState, compute_schedule, parse_protocol
from tests.pathway.conftest import DAY0, SMALL

# Overlapping windows (width 8 h, every 4 h) make the matching non-trivial.
OVERLAPPING = parse_protocol(
    SMALL.replace(
        "window = { after_hours = 4 }", "window = { before_hours = 3, after_hours = 5 }"
    ).replace("window = { after_hours = 12 }", "window = { before_hours = 6, after_hours = 12 }")
)
SMALL_PROTOCOL = parse_protocol(SMALL)
ANCHORS = {
    "enrolment": DAY0 - timedelta(days=30),
    "ld_start": DAY0 - timedelta(days=5),
    "infusion": DAY0,
}
CODES = [
    ("observation", "8310-5"),
    ("observation", "8867-4"),
    ("observation", "2160-0"),
    ("assessment", "ice"),
    ("assessment", "icans"),
    ("event", "mri"),
]

facts_strategy = st.lists(
    st.builds(
        lambda kc, minutes: Fact(kc[0], kc[1], DAY0 + timedelta(minutes=minutes)),  # type: ignore[arg-type]
        st.sampled_from(CODES),
        st.one_of(  # mostly the dense first days, sometimes anywhere
            st.integers(min_value=-12 * 60, max_value=3 * 24 * 60),
            st.integers(min_value=-31 * 24 * 60, max_value=200 * 24 * 60),
        ).map(lambda m: m - m % 30),
    ),
    max_size=60,
)
now_strategy = st.one_of(
    st.integers(min_value=0, max_value=3 * 24 * 60),
    st.integers(min_value=-2 * 24 * 60, max_value=200 * 24 * 60),
).map(lambda m: DAY0 + timedelta(minutes=m))
protocols = st.sampled_from([SMALL_PROTOCOL, OVERLAPPING])


def run(protocol: Protocol, facts: list[Fact], now: datetime) -> Schedule:
    return compute_schedule(protocol, ANCHORS, facts, now=now, patient={"diagnosis": "ms"})


def naive_done(protocol: Protocol, facts: list[Fact], now: datetime) -> set[tuple[str, int]]:
    """The matching rule written the obvious O(slots × facts) way."""
    done: set[tuple[str, int]] = set()
    ordered = sorted((f for f in facts if f.time <= now), key=lambda f: f.time)
    for task in protocol.tasks:
        anchor = ANCHORS[task.anchor]
        starts, ends = task.window_bounds
        per_key: list[set[int]] = []
        for key in task.completed_by.keys if task.completed_by.require == "all" else [None]:
            taken: set[int] = set()
            for fact in ordered:
                if key is None and (fact.kind, fact.code) not in task.completed_by.keys:
                    continue
                if key is not None and (fact.kind, fact.code) != key:
                    continue
                for i in range(len(starts)):
                    if i not in taken and anchor + starts[i] <= fact.time <= anchor + ends[i]:
                        taken.add(i)
                        break
            per_key.append(taken)
        done |= {(task.id, i) for i in set.intersection(*per_key)}
    return done


def slot_states(schedule: Schedule) -> dict[tuple[str, int], SlotState]:
    return {(s.task_id, s.index): s.state for s in schedule.slots}


@given(protocols, facts_strategy, now_strategy)
def test_fast_matching_equals_the_naive_rule(
    protocol: Protocol, facts: list[Fact], now: datetime
) -> None:
    states = slot_states(run(protocol, facts, now))
    fast = {key for key, state in states.items() if state is SlotState.DONE}
    applicable = {key for key, state in states.items() if state is not SlotState.NOT_APPLICABLE}
    assert fast == naive_done(protocol, facts, now) & applicable


@given(protocols, facts_strategy, facts_strategy, now_strategy)
def test_more_facts_never_undo_done_nor_add_overdue(
    protocol: Protocol, facts: list[Fact], more: list[Fact], now: datetime
) -> None:
    before = slot_states(run(protocol, facts, now))
    after = slot_states(run(protocol, facts + more, now))
    assert before.keys() == after.keys()
    for key, state in before.items():
        if state is SlotState.DONE:
            assert after[key] is SlotState.DONE, key
    overdue_before = sum(s is SlotState.OVERDUE for s in before.values())
    overdue_after = sum(s is SlotState.OVERDUE for s in after.values())
    assert overdue_after <= overdue_before


@given(protocols, facts_strategy, now_strategy)
def test_fact_order_does_not_matter(protocol: Protocol, facts: list[Fact], now: datetime) -> None:
    forward = run(protocol, facts, now)
    backward = run(protocol, facts[::-1], now)
    assert slot_states(forward) == slot_states(backward)


@given(protocols, facts_strategy, now_strategy, now_strategy)
def test_an_end_of_follow_up_only_closes_what_had_not_closed(
    protocol: Protocol, facts: list[Fact], now: datetime, ended_at: datetime
) -> None:
    alive = run(protocol, facts, now)
    ended = compute_schedule(
        protocol, ANCHORS, facts, now=now, patient={"diagnosis": "ms"}, ended_at=ended_at
    )
    for before, after in zip(alive.slots, ended.slots, strict=True):
        end = after.window_end
        if ended_at > now or before.state is SlotState.DONE:
            assert after.state is before.state  # not known yet / done stays done
        elif end is not None and end < ended_at:
            assert after.state is before.state  # closed while followed: as it was
        else:
            assert after.state is SlotState.NOT_APPLICABLE
            assert after.reason == before.reason or after.reason.startswith("follow-up ended on ")
