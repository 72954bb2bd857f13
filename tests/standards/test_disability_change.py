"""disability_change: confirmed EDSS worsening (CDW) / improvement (CDI), msprog semantics.

Sources of the expected values:
* Montobbio N, Carmisciano L, et al. Mult Scler 2024;30(9):1185–1192,
  doi:10.1177/13524585241243157, and the R package msprog ≥ 1.0 (`R/MSprog.R`): baseline moves
  while `closest_rel_before < relapse_to_bl` (30); a confirmation visit needs
  `closest_rel_before >= relapse_to_conf` (30) and ≥ `conf_days` after the onset;
  `check_intermediate = TRUE`; `proceed_from = "firstconf"` (roving reference → first
  confirmation visit; fixed reference → search again from the next change, so a sustained
  state is re-detected in `event = "multiple"`); `impute_last_visit = 0`.
* neurocart's convention (docs/calculators.md): thresholds 0 → +1.5, 1.0–5.5 → ±1.0,
  ≥ 6.0 → ±0.5. msprog's own `compute_delta()` uses 0.5 from 5.5 on: the 5.5 rows below pin
  neurocart's rule and say so.
* The worked series are constructed by hand from those rules (no published worked example
  gives day-level series with these settings), except the roving-after-improvement case, which
  follows the pattern of msprog's vignette (subject 4).
* Cross-check against pymsprog (the Python port of msprog) — see the section at the end.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import itertools
import warnings
from collections.abc import Sequence
from typing import Any
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from neurocart.standards import CalculatorInputError, NotVectorizedError, calculate
from neurocart.standards import calculate_frame as _calculate_frame
from neurocart.standards.disability_change import (
    VALID_STEPS,
    SeriesEvents,
    confirmed_events,
    meets,
    required_change,
)

NAME = "disability_change"
STEPS = sorted(VALID_STEPS)


def series(*points: tuple[int, float]) -> list[dict[str, Any]]:
    return [{"day": d, "edss": e} for d, e in points]


def run(points: Sequence[tuple[int, float]], **options: Any) -> Any:
    return calculate(NAME, {"assessments": series(*points), **options})


def events(result: Any) -> list[tuple[int, float, float, int]]:
    return [
        (e["day"], e["from_edss"], e["to_edss"], e["confirmed_day"])
        for e in result.details["events"]
    ]


# --- thresholds ---------------------------------------------------------------------------

# baseline on day 0, candidate value on day 100, confirmed on day 200 (100 days ≥ 84)
WORSENING_THRESHOLDS = [
    (0.0, 1.5, 1),  # from 0: +1.5 needed, exactly +1.5 counts
    (0.0, 1.0, 0),  # +1.0 from 0 is just below the threshold
    (1.0, 2.0, 1),
    (1.0, 1.5, 0),
    (5.5, 6.5, 1),  # neurocart: +1.0 from 5.5 ...
    (5.5, 6.0, 0),  # ... so +0.5 does NOT count (msprog's default compute_delta would count it)
    (5.0, 6.0, 1),
    (5.0, 5.5, 0),
    (6.0, 6.5, 1),  # from 6.0 on: +0.5
    (6.0, 6.0, 0),  # the step just below +0.5 is no change
    (9.5, 10.0, 1),
]


@pytest.mark.parametrize(("reference", "value", "expected"), WORSENING_THRESHOLDS)
def test_worsening_threshold(reference: float, value: float, expected: int) -> None:
    result = run([(0, reference), (100, value), (200, value)])
    assert result.value == expected
    if expected:
        assert events(result) == [(100, reference, value, 200)]
        assert result.label == "1 CDW"
    else:
        assert result.label == "no CDW"


IMPROVEMENT_THRESHOLDS = [
    (1.0, 0.0, 1),
    (1.5, 0.0, 1),
    (2.0, 1.5, 0),
    (5.5, 4.5, 1),
    (5.5, 5.0, 0),  # msprog's default would count −0.5 from 5.5
    (6.0, 5.5, 1),
    (6.0, 6.0, 0),
    (10.0, 9.5, 1),
]


@pytest.mark.parametrize(("reference", "value", "expected"), IMPROVEMENT_THRESHOLDS)
def test_improvement_threshold(reference: float, value: float, expected: int) -> None:
    result = run([(0, reference), (100, value), (200, value)], direction="improvement")
    assert result.value == expected
    assert result.label == ("1 CDI" if expected else "no CDI")


def test_threshold_table_and_msprog_difference_at_5_5() -> None:
    assert [required_change(x) for x in (0.0, 1.0, 5.0, 5.5, 6.0, 9.5)] == [
        1.5,
        1.0,
        1.0,
        1.0,  # msprog compute_delta(5.5) = 0.5: documented difference (neurocart contract)
        0.5,
        0.5,
    ]


def test_improvement_from_zero_impossible() -> None:
    assert not meets("improvement", 0.0, 0.0)
    # a roving reference of 0 reached by an improvement cannot improve further
    result = run(
        [(0, 2.0), (100, 0.0), (200, 0.0), (300, 0.0), (400, 0.0)],
        direction="improvement",
        baseline="roving",
    )
    assert events(result) == [(100, 2.0, 0.0, 200)]


# --- confirmation -------------------------------------------------------------------------


@pytest.mark.parametrize(("confirm_day", "expected"), [(184, 1), (183, 0), (185, 1)])
def test_confirmation_at_84_days(confirm_day: int, expected: int) -> None:
    # onset day 100: day 184 is exactly 84 days later (confirmed), day 183 is 83 (not)
    result = run([(0, 2.0), (100, 3.0), (confirm_day, 3.0)])
    assert result.value == expected


def test_confirmation_168_days() -> None:
    points = [(0, 2.0), (100, 3.0), (200, 3.0), (267, 3.0), (268, 3.0)]
    assert events(run(points)) == [(100, 2.0, 3.0, 200)]
    assert events(run(points, confirmation_days=168)) == [(100, 2.0, 3.0, 268)]
    assert run(points[:-1], confirmation_days=168).value == 0  # 167 days is too soon


def test_only_the_first_eligible_visit_confirms() -> None:
    # the first visit ≥ 84 days after onset (day 190) has fallen back: not confirmed, even
    # though a later visit is worse again; scanning resumes at the visit after the onset
    result = run([(0, 2.0), (100, 3.0), (190, 2.0), (300, 3.0)])
    assert result.value == 0


def test_every_intermediate_visit_must_meet_the_threshold() -> None:
    # 2.5 on day 150 breaks the onset of day 100; the onset of day 200 is then confirmed
    result = run([(0, 2.0), (100, 3.0), (150, 2.5), (200, 3.0), (300, 3.0)])
    assert events(result) == [(200, 2.0, 3.0, 300)]
    assert any("no longer meets the threshold" in r for r in result.reasons)


def test_change_at_last_visit_not_confirmed() -> None:
    result = run([(0, 2.0), (100, 2.0), (200, 4.0)])
    assert result.value == 0
    assert any("last assessment" in w for w in result.warnings)


# --- relapses -----------------------------------------------------------------------------


@pytest.mark.parametrize(("relapse", "expected"), [(-10, 1), (-29, 1), (-30, 0), (0, 1), (5, 0)])
def test_relapse_within_30_days_moves_baseline(relapse: int, expected: int) -> None:
    # day 0 EDSS 4.0 measured within 30 days after a relapse is not a baseline: the
    # reference becomes 2.0 (day 60) and 3.0 is a CDW. Exactly 30 days after is a valid
    # baseline (msprog: closest_rel_before < relapse_to_bl), and a relapse after the visit
    # (day 5) does not move it.
    points = [(0, 4.0), (60, 2.0), (150, 3.0), (250, 3.0)]
    result = run(points, relapses=[relapse])
    assert result.value == expected
    if expected:
        assert result.details["baseline"] == {"day": 60, "edss": 2.0}
        assert any("baseline moved" in r for r in result.reasons)
    else:
        assert result.details["baseline"] == {"day": 0, "edss": 4.0}


def test_all_visits_near_relapses_no_baseline() -> None:
    result = run([(0, 2.0), (40, 5.0)], relapses=[-5, 35])
    assert result.value == 0
    assert result.details["baseline"] == {"day": None, "edss": None}
    assert result.warnings


@pytest.mark.parametrize(("relapse", "expected"), [(None, 1), (160, 1), (161, 0), (170, 0)])
def test_confirmation_too_soon_after_relapse(relapse: int | None, expected: int) -> None:
    # onset day 100; the first visit ≥ 84 days later is day 190. A relapse 29 days or less
    # before it makes it ineligible (30 days is eligible); the next eligible visit (day 300)
    # has fallen back to 2.0, so the worsening is not confirmed.
    points = [(0, 2.0), (100, 3.0), (190, 3.0), (300, 2.0)]
    result = run(points, relapses=[] if relapse is None else [relapse])
    assert result.value == expected


def test_confirmation_postponed_by_relapse() -> None:
    points = [(0, 2.0), (100, 3.0), (190, 3.0), (300, 3.0)]
    assert events(run(points, relapses=[170])) == [(100, 2.0, 3.0, 300)]


# --- roving and fixed reference -----------------------------------------------------------


def test_roving_reference_moves_after_improvement() -> None:
    # msprog vignette pattern (subject 4): an improvement confirmed, then a return to the
    # old level is a new CDW with a roving reference, even when counting worsening only
    points = [(0, 4.0), (100, 3.0), (200, 3.0), (300, 4.0), (400, 4.0)]
    fixed = run(points)
    roving = run(points, baseline="roving")
    assert fixed.value == 0
    assert roving.value == 1
    assert events(roving) == [(300, 3.0, 4.0, 400)]
    assert roving.details["other_direction_events"] == [
        {"day": 100, "from_edss": 4.0, "to_edss": 3.0, "confirmed_day": 200}
    ]
    assert run(points, baseline="roving", direction="improvement").value == 1


def test_roving_reference_moves_to_confirmation_value_not_onset_value() -> None:
    points = [(0, 2.0), (100, 3.0), (200, 4.0), (300, 5.0), (400, 5.0)]
    assert events(run(points, baseline="roving")) == [
        (100, 2.0, 3.0, 200),
        (300, 4.0, 5.0, 400),  # from the confirmation value 4.0, not the onset value 3.0
    ]


def test_fixed_baseline_counts_multiple_events() -> None:
    # msprog event="multiple" with a fixed baseline re-detects the still-worsened state in
    # every later confirmed window: three CDWs here, one with a roving reference
    points = [(0, 2.0), (100, 3.0), (200, 3.0), (300, 3.0), (400, 3.0), (500, 3.0), (600, 3.0)]
    fixed = run(points)
    assert events(fixed) == [
        (100, 2.0, 3.0, 200),
        (300, 2.0, 3.0, 400),
        (500, 2.0, 3.0, 600),
    ]
    assert fixed.label == "3 CDW"
    assert events(run(points, baseline="roving")) == [(100, 2.0, 3.0, 200)]


# --- input handling -----------------------------------------------------------------------


def test_unsorted_assessments_are_sorted() -> None:
    ordered = [(0, 2.0), (100, 3.0), (200, 3.0)]
    shuffled = [(200, 3.0), (0, 2.0), (100, 3.0)]
    a, b = run(ordered), run(shuffled)
    assert (a.value, a.details) == (b.value, b.details)
    assert any("sorted" in r for r in b.reasons)
    assert not any("sorted" in r for r in a.reasons)


def test_duplicate_days_rejected() -> None:
    with pytest.raises(CalculatorInputError) as info:
        run([(0, 2.0), (100, 3.0), (100, 3.5)])
    assert info.value.fields == ["assessments"]
    assert "day 100" in str(info.value)


@pytest.mark.parametrize("bad", [0.5, 10.5, 3.25, -1.0, 0.25, float("nan"), float("inf")])
def test_invalid_edss_step_rejected(bad: float) -> None:
    with pytest.raises(CalculatorInputError) as info:
        run([(0, 2.0), (100, bad)])
    assert info.value.fields == ["assessments.1.edss"]


@pytest.mark.parametrize(
    ("inputs", "field"),
    [
        ({"assessments": []}, "assessments"),
        ({"assessments": series((0, 2.0)), "confirmation_days": 27}, "confirmation_days"),
        ({"assessments": series((0, 2.0)), "confirmation_days": 731}, "confirmation_days"),
        ({"assessments": series((0, 2.0)), "confirmation_days": 84.5}, "confirmation_days"),
        ({"assessments": series((0, 2.0)), "direction": "both"}, "direction"),
        ({"assessments": series((0, 2.0)), "baseline": "roving_impr"}, "baseline"),
        ({"assessments": series((0, 2.0)), "relapses": [10**6]}, "relapses"),
        ({"assessments": [{"day": 0.5, "edss": 2.0}]}, "assessments.0.day"),
        ({"assessments": [{"day": 0, "edss": 2.0, "fs": 1}]}, "assessments.0.fs"),
        ({"assessments": series((0, 2.0)), "edss": 2.0}, "edss"),
        ({}, "assessments"),
    ],
)
def test_bad_input_rejected_naming_field(inputs: dict[str, Any], field: str) -> None:
    with pytest.raises(CalculatorInputError) as info:
        calculate(NAME, inputs)
    assert info.value.fields == [field]


@pytest.mark.parametrize("days", [28, 730])
def test_confirmation_days_bounds_accepted(days: int) -> None:
    assert run([(0, 2.0)], confirmation_days=days).value == 0


def test_single_assessment_no_event() -> None:
    result = run([(0, 2.0)])
    assert result.value == 0
    assert result.warnings


def test_no_vectorized_path() -> None:
    frame = pd.DataFrame({"assessments": [series((0, 2.0))]})
    with pytest.raises(NotVectorizedError):
        _calculate_frame(NAME, frame)


# --- properties ---------------------------------------------------------------------------


@st.composite
def edss_series(draw: st.DrawFn, max_visits: int = 9) -> list[tuple[int, float]]:
    """Strictly increasing days (gaps biased to the 30- and 84-day edges), EDSS random walk."""
    n = draw(st.integers(1, max_visits))
    day = draw(st.integers(-60, 60))
    gap = st.one_of(st.integers(1, 200), st.sampled_from([29, 30, 31, 83, 84, 85, 168]))
    index = draw(st.integers(0, len(STEPS) - 1))
    points = [(day, STEPS[index])]
    for _ in range(n - 1):
        day += draw(gap)
        index = min(max(index + draw(st.integers(-3, 3)), 0), len(STEPS) - 1)
        points.append((day, STEPS[index]))
    return points


@st.composite
def relapse_days(draw: st.DrawFn, points: list[tuple[int, float]]) -> list[int]:
    """Relapse onsets near the visits (often on the 29/30-day edges, often before the first)."""
    near = st.tuples(
        st.one_of(st.just(points[0][0]), st.sampled_from([d for d, _ in points])),
        st.one_of(st.sampled_from([-31, -30, -29, -1, 0, 1]), st.integers(-120, 120)),
    ).map(sum)
    return draw(st.lists(near, max_size=3))


@st.composite
def cases(draw: st.DrawFn, with_relapses: bool = True) -> dict[str, Any]:
    points = draw(edss_series())
    return {
        "assessments": series(*points),
        "direction": draw(st.sampled_from(["worsening", "improvement"])),
        "baseline": draw(st.sampled_from(["fixed", "roving"])),
        "confirmation_days": draw(st.one_of(st.sampled_from([84, 168]), st.integers(28, 200))),
        "relapses": draw(relapse_days(points)) if with_relapses else [],
    }


@given(cases())
def test_events_are_consistent(case: dict[str, Any]) -> None:
    result = calculate(NAME, case)
    evs = result.details["events"]
    n = len(case["assessments"])
    assert result.value == len(evs) >= 0
    assert result.value <= max(n - 1, 0) // 2  # each event uses its own onset and confirmation
    by_day = {a["day"]: a["edss"] for a in case["assessments"]}
    days = [e["day"] for e in evs]
    assert days == sorted(days)
    for e in evs:
        assert e["confirmed_day"] - e["day"] >= case["confirmation_days"]
        assert by_day[e["day"]] == e["to_edss"]
        assert e["confirmed_day"] in by_day
        assert meets(case["direction"], e["from_edss"], e["to_edss"])
        assert meets(case["direction"], e["from_edss"], by_day[e["confirmed_day"]])
        if case["baseline"] == "fixed":
            assert e["from_edss"] == result.details["baseline"]["edss"]
    for earlier, later in itertools.pairwise(evs):
        assert later["day"] > earlier["confirmed_day"]  # scanning resumes after confirmation


@given(cases(), st.integers(-1000, 1000))
def test_shifting_all_days_shifts_only_the_event_days(case: dict[str, Any], shift: int) -> None:
    moved = {
        **case,
        "assessments": [{**a, "day": a["day"] + shift} for a in case["assessments"]],
        "relapses": [r + shift for r in case["relapses"]],
    }
    before, after = calculate(NAME, case), calculate(NAME, moved)
    assert after.value == before.value
    assert after.details["events"] == [
        {**e, "day": e["day"] + shift, "confirmed_day": e["confirmed_day"] + shift}
        for e in before.details["events"]
    ]


@given(cases(), st.randoms(use_true_random=False))
def test_input_order_does_not_matter(case: dict[str, Any], rnd: Any) -> None:
    shuffled = list(case["assessments"])
    rnd.shuffle(shuffled)
    a, b = calculate(NAME, case), calculate(NAME, {**case, "assessments": shuffled})
    assert (a.value, a.details) == (b.value, b.details)


@given(cases(), st.sampled_from(STEPS))
def test_constant_series_has_no_event(case: dict[str, Any], value: float) -> None:
    flat = {**case, "assessments": [{**a, "edss": value} for a in case["assessments"]]}
    result = calculate(NAME, flat)
    assert result.value == 0
    assert result.details["other_direction_events"] == []


@given(cases(), st.data())
def test_later_visits_do_not_change_earlier_confirmed_events(
    case: dict[str, Any], data: st.DataObject
) -> None:
    # the scan only moves forward and a confirmation reads no visit after it, so cutting the
    # series at any day keeps exactly the events already confirmed by that day
    cut = data.draw(st.sampled_from([a["day"] for a in case["assessments"]]))
    early = [a for a in case["assessments"] if a["day"] <= cut]
    whole, part = calculate(NAME, case), calculate(NAME, {**case, "assessments": early})
    for key in ("events", "other_direction_events"):
        assert part.details[key] == [e for e in whole.details[key] if e["confirmed_day"] <= cut]


@given(cases())
def test_first_event_same_for_fixed_and_roving(case: dict[str, Any]) -> None:
    # before the first confirmed event the reference is the same in both schemes
    def first(baseline: str) -> dict[str, Any] | None:
        result = calculate(NAME, {**case, "baseline": baseline})
        both = result.details["events"] + result.details["other_direction_events"]
        return min(both, key=lambda e: e["day"]) if both else None

    assert first("fixed") == first("roving")


@given(cases())
def test_no_improvement_from_fixed_baseline_zero(case: dict[str, Any]) -> None:
    result = calculate(NAME, {**case, "baseline": "fixed", "direction": "improvement"})
    if result.details["baseline"]["edss"] == 0:
        assert result.value == 0


# --- many series at once: confirmed_events ------------------------------------------------

Flat = tuple[list[int], list[int], list[float], list[int], list[int]]
"""series, day, edss of every assessment; series, day of every relapse onset."""


def flat(cases_: Sequence[dict[str, Any]], labels: Sequence[int], rnd: Any = None) -> Flat:
    pairs = list(zip(labels, cases_, strict=True))
    rows = [(s, a["day"], a["edss"]) for s, c in pairs for a in c["assessments"]]
    relapses = [(s, r) for s, c in pairs for r in c["relapses"]]
    if rnd is not None:  # the rows of the series interleaved, days in any order
        rnd.shuffle(rows)
        rnd.shuffle(relapses)
    return (
        [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
        [r[0] for r in relapses], [r[1] for r in relapses],
    )  # fmt: skip


def batched(given_: Flat, **options: Any) -> SeriesEvents:
    series_, day, edss, r_series, r_day = given_
    return confirmed_events(
        np.array(series_, dtype=np.intp), np.array(day, dtype=np.int64),
        np.array(edss, dtype=np.float64), np.array(r_series, dtype=np.intp),
        np.array(r_day, dtype=np.int64), **options,
    )  # fmt: skip


def of_series(found: SeriesEvents, label: int) -> tuple[list[dict[str, Any]], ...]:
    """The events of one series as the calculator's details list them."""
    mine = found.series == label
    listed = [
        (bool(w), {"day": int(d), "from_edss": float(f), "to_edss": float(t),
                   "confirmed_day": int(c)})
        for w, d, f, t, c in zip(found.worsening[mine], found.day[mine], found.from_edss[mine],
                                 found.to_edss[mine], found.confirmed_day[mine], strict=True)
    ]  # fmt: skip
    return [e for w, e in listed if w], [e for w, e in listed if not w]


def assert_batch_is_the_calculator_s(
    many: list[dict[str, Any]], labels: Sequence[int], found: SeriesEvents, **options: Any
) -> None:
    assert set(found.series.tolist()) <= set(labels)
    for label, case in zip(labels, many, strict=True):
        for direction in ("worsening", "improvement"):
            details = calculate(NAME, {**case, **options, "direction": direction}).details
            worse, better = of_series(found, label)
            counted, other = (worse, better) if direction == "worsening" else (better, worse)
            assert counted == details["events"], (label, direction)
            assert other == details["other_direction_events"], (label, direction)


@st.composite
def batches(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Several series (relapses on the edges, days on the 30- and 84-day edges) and one set of
    options (confirmation periods often exactly a drawn gap, or the limits 28 and 730)."""
    many = draw(st.lists(cases(), min_size=1, max_size=6))
    edges = st.sampled_from([28, 29, 30, 31, 83, 84, 85, 168, 730])
    options = {
        "baseline": draw(st.sampled_from(["fixed", "roving"])),
        "confirmation_days": draw(st.one_of(edges, st.integers(28, 730))),
    }
    return [{k: c[k] for k in ("assessments", "relapses")} for c in many], options


@settings(max_examples=300)
@given(batches(), st.randoms(use_true_random=False), st.integers(0, 3))
def test_confirmed_events_of_many_series_are_the_calculator_s(
    batch: tuple[list[dict[str, Any]], dict[str, Any]], rnd: Any, spacing: int
) -> None:
    many, options = batch
    labels = [spacing * i + i for i in range(len(many))]  # labels need not be 0, 1, 2 …
    found = batched(flat(many, labels, rnd), **options)
    assert_batch_is_the_calculator_s(many, labels, found, **options)
    event("events: " + str(len(found.series)))


AND_BACK = series(
    (0, 3.0), (100, 4.0), (200, 4.5), (300, 2.0), (400, 2.0), (500, 4.0), (550, 3.0),
    (700, 4.0), (800, 4.0),
)  # fmt: skip


@pytest.mark.parametrize("baseline", ["fixed", "roving"])
def test_confirmed_events_on_the_edges(baseline: str) -> None:
    many = [
        # confirmed exactly at 84 days (day 184), not one day short (series 1: day 183)
        {"assessments": series((0, 2.0), (100, 3.0), (184, 3.0)), "relapses": []},
        {"assessments": series((0, 2.0), (100, 3.0), (183, 3.0)), "relapses": []},
        # the baseline moves off a visit 29 days after a relapse, not off one 30 days after
        {"assessments": series((0, 1.0), (29, 3.0), (120, 4.0), (220, 4.0)), "relapses": [0]},
        {"assessments": series((30, 3.0), (120, 4.0), (220, 4.0)), "relapses": [0]},
        # the confirmation waits until 30 days after a relapse: day 184 is too soon, 200 is not
        {"assessments": series((0, 2.0), (100, 3.0), (184, 3.0), (200, 3.0)), "relapses": [170]},
        # no baseline (every visit within 30 days after a relapse), a single visit
        {"assessments": series((0, 2.0), (10, 4.0)), "relapses": [-5, 5]},
        {"assessments": series((0, 2.0)), "relapses": []},
        # worsening, improvement back, worsening again; a lapse in between
        {"assessments": AND_BACK, "relapses": []},
    ]
    labels = list(range(len(many)))
    options = {"baseline": baseline, "confirmation_days": 84}
    found = batched(flat(many, labels), **options)
    assert_batch_is_the_calculator_s(many, labels, found, **options)
    assert of_series(found, 0)[0]
    assert not of_series(found, 1)[0]
    assert of_series(found, 4)[0][0]["confirmed_day"] == 200


def test_confirmed_events_of_nothing() -> None:
    found = batched(([], [], [], [], []))
    assert len(found.series) == len(found.day) == len(found.confirmed_day) == 0


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (([0, 0, 1, 1], [0, 100, 0, 100], [2.0, 3.0, 2.0, float("nan")], [], []), "edss"),
        (([0, 0, 1, 1], [0, 100, 0, 100], [2.0, 3.0, 2.0, 0.5], [], []), "edss"),
        (([0, 0, 1, 1], [0, 100, 0, 0], [2.0, 3.0, 2.0, 3.0], [], []), "assessments"),
        (([0, 0, 1, 1], [0, 100, 0, 10**6], [2.0, 3.0, 2.0, 3.0], [], []), "day"),
        (([0, 0, 1, 1], [0, 100, 0, 100], [2.0, 3.0, 2.0, 3.0], [1], [10**6]), "relapses"),
    ],
)
def test_confirmed_events_refuse_what_the_calculator_refuses(bad: Flat, field: str) -> None:
    with pytest.raises(CalculatorInputError) as caught:
        batched(bad)
    (problem,) = caught.value.fields
    assert problem.startswith("assessments.1." if field in ("edss", "day") else field)


def test_confirmed_events_refuse_the_lowest_label_first() -> None:
    bad = ([5, 5, 2, 2], [0, 100, 0, 100], [2.0, 0.5, 2.0, 10.5], [], [])
    with pytest.raises(CalculatorInputError) as caught:
        batched(bad)
    assert "10.5" in str(caught.value)


@pytest.mark.parametrize(
    ("options", "field"),
    [({"confirmation_days": 27}, "confirmation_days"),
     ({"confirmation_days": 731}, "confirmation_days"),
     ({"baseline": "both"}, "baseline")],
)  # fmt: skip
def test_confirmed_events_refuse_the_options_the_calculator_refuses(
    options: dict[str, Any], field: str
) -> None:
    with pytest.raises(CalculatorInputError) as caught:
        batched(([0], [0], [2.0], [], []), **options)
    assert caught.value.fields == [field]


# --- cross-check against pymsprog ---------------------------------------------------------
#
# The installed pymsprog is 0.1.1: pymsprog ≥ 1.0 (the port of msprog ≥ 1.0 whose argument
# names neurocart follows: conf_days, relapse_to_bl, relapse_to_conf, proceed_from ...) requires
# numpy < 2 and pandas < 3, which this project does not use, so pip resolves `pymsprog>=0.1` to
# 0.1.1. Its API and, in two places, its semantics are older:
#
# 1. Relapse influence is one parameter, `rel_infl`, compared with `<=` (baseline moves) and
#    `>` (confirmation eligible), where msprog ≥ 1.0 uses `< relapse_to_bl` and
#    `>= relapse_to_conf`. Days are integers, so rel_infl=29 gives exactly msprog ≥ 1.0 with
#    relapse_to_bl = relapse_to_conf = 30 (a visit 30 days after an onset is a valid baseline
#    and a valid confirmation visit; 29 is not).
# 2. After a confirmed event, 0.1.1 looks for the "next change": the first later visit that is
#    no longer worsened (improved) from the reference, or that differs from the confirmation
#    value by its threshold. A roving reference moves to the visit *before* that next change
#    (msprog ≥ 1.0: to the confirmation visit), and with a fixed reference the search resumes
#    *at* that next change (msprog ≥ 1.0: at the next visit that is a change from the
#    reference, so a sustained state is re-detected). These coincide when the next change is
#    the visit right after the confirmation (or the confirmation is the last visit), and for
#    a roving reference also when no next change exists. The comparison below therefore checks
#    the event lists up to and including the first event after which the two versions can
#    continue differently — everything before that point is computed from identical states.
#    This is a version difference, not a neurocart discrepancy: the unit tests above pin the
#    msprog ≥ 1.0 behaviour (test_fixed_baseline_counts_multiple_events,
#    test_roving_reference_moves_to_confirmation_value_not_onset_value), and
#    test_pymsprog_0_1_version_difference shows the minimal example.
# 3. pymsprog 0.1.1 crashes on pandas 3 when it fills its summary table (it writes the event
#    sequence string into an int64 column). The shim below only makes that table object-typed;
#    the event detection is untouched.

try:
    import pymsprog

    PYMSPROG_VERSION: str | None = importlib.metadata.version("pymsprog")
except ImportError:  # pragma: no cover - pymsprog is a dev dependency
    pymsprog = None
    PYMSPROG_VERSION = None
legacy_only = pytest.mark.skipif(
    PYMSPROG_VERSION is None or not PYMSPROG_VERSION.startswith("0."),
    reason=f"pymsprog {PYMSPROG_VERSION}: the adapter below maps the 0.1.x API only",
)
EPOCH = datetime.date(2020, 1, 1)


class _PandasCompat:
    """pandas, except that pymsprog's summary table is built with object columns."""

    def __getattr__(self, name: str) -> Any:
        return getattr(pd, name)

    @staticmethod
    def DataFrame(*args: Any, **kwargs: Any) -> pd.DataFrame:  # noqa: N802 (pandas' name)
        frame = pd.DataFrame(*args, **kwargs)
        return frame.astype(object) if "event_sequence" in frame.columns else frame


def _neurocart_delta(reference: float) -> float:
    return required_change(reference)


Row = tuple[str, int, float, float]  # direction, onset day, from_edss, to_edss


def pymsprog_events(case: dict[str, Any]) -> list[Row]:
    """All events (both directions) that pymsprog 0.1.1 finds with neurocart's settings."""
    visits = sorted(case["assessments"], key=lambda a: a["day"])
    data = pd.DataFrame(
        {
            "id": 1,
            "edss": [a["edss"] for a in visits],
            "date": [pd.Timestamp(EPOCH + datetime.timedelta(days=a["day"])) for a in visits],
        }
    )
    relapse = (
        pd.DataFrame(
            {
                "id": 1,
                "date": [
                    pd.Timestamp(EPOCH + datetime.timedelta(days=r)) for r in case["relapses"]
                ],
            }
        )
        if case["relapses"]
        else None  # 0.1.1 cannot take an empty relapse table (np.vectorize on size 0)
    )
    with mock.patch.object(pymsprog, "pd", _PandasCompat()), warnings.catch_warnings():
        # 0.1.1 uses pandas idioms that pandas 3 deprecates (inplace dropna ...)
        warnings.simplefilter("ignore")
        _, results = pymsprog.MSprog(
            data,
            subj_col="id",
            value_col="edss",
            date_col="date",
            relapse=relapse,
            outcome="edss",
            # neurocart thresholds: 0 → 1.5, 1.0–5.5 → 1.0, ≥ 6.0 → 0.5 (msprog's default
            # compute_delta would use 0.5 from 5.5), same value in both directions; an
            # improvement of 1.5 from 0 is impossible anyway
            delta_fun=_neurocart_delta,
            # confirmation window [confirmation_days, ∞): 0.1.1 counts whole months
            # (int(m × 30.44) days) minus a left tolerance; 0 months with a left tolerance of
            # −confirmation_days and an unbounded right end (conf_left) is exactly that
            conf_months=[0],
            conf_tol_days=[-case["confirmation_days"], 0],
            conf_left=True,
            require_sust_months=0,  # msprog require_sust_days = 0
            rel_infl=29,  # = relapse_to_bl = relapse_to_conf = 30 in msprog ≥ 1.0 (note 1)
            event="multiple",  # every event, in order
            baseline=case["baseline"],  # fixed / roving
            sub_threshold=False,  # msprog sub_threshold_rebl = "none"
            relapse_rebl=False,  # msprog relapse_rebl = FALSE
            min_value=0,  # no minimum EDSS for a worsening
            prog_last_visit=False,  # msprog impute_last_visit = 0
            include_dates=True,
            include_value=True,
            verbose=0,
        )
    # check_intermediate and proceed_from have no 0.1.1 argument: 0.1.1 always checks every
    # intermediate visit and resumes after the first confirmation (note 2 for the rest)
    return [
        (
            "improvement" if row.event_type == "impr" else "worsening",
            (row.date - EPOCH).days,
            float(row.blvalue),
            float(row.value),
        )
        for row in results.itertuples()
    ]


def _continues_like_pymsprog_0_1(
    e: dict[str, Any], direction: str, visits: list[dict[str, Any]], baseline: str
) -> bool:
    """Whether msprog ≥ 1.0 and pymsprog 0.1.1 resume identically after this event (note 2)."""
    days = [a["day"] for a in visits]
    values: list[float] = [a["edss"] for a in visits]
    c = days.index(e["confirmed_day"])
    if c == len(visits) - 1:
        return True
    ref: float = e["from_edss"]
    delta = required_change(ref)

    def next_change(v: float) -> bool:
        lapsed = v - ref < delta if direction == "worsening" else v - ref > -delta
        return lapsed or abs(v - values[c]) >= required_change(values[c])

    nxt = next((x for x in range(c + 1, len(visits)) if next_change(values[x])), None)
    return nxt == c + 1 or (baseline == "roving" and nxt is None)


def compare_with_pymsprog(case: dict[str, Any], *, record: bool = False) -> None:
    result = calculate(NAME, {**case, "direction": "worsening"})
    tagged = [("worsening", e) for e in result.details["events"]] + [
        ("improvement", e) for e in result.details["other_direction_events"]
    ]
    tagged.sort(key=lambda t: t[1]["day"])
    ours: list[Row] = [(k, e["day"], e["from_edss"], e["to_edss"]) for k, e in tagged]
    theirs = pymsprog_events(case)
    visits = sorted(case["assessments"], key=lambda a: a["day"])
    cut = next(
        (
            i + 1
            for i, (k, e) in enumerate(tagged)
            if not _continues_like_pymsprog_0_1(e, k, visits, case["baseline"])
        ),
        None,
    )
    if record:
        event(f"{len(ours)} events, " + (f"compared {cut}" if cut is not None else "all compared"))
    if cut is None:
        assert ours == theirs, (case, ours, theirs)
    else:
        assert ours[:cut] == theirs[:cut], (case, ours, theirs)


@legacy_only
@settings(max_examples=100, deadline=None)
@given(cases(with_relapses=False))
def test_agrees_with_pymsprog_without_relapses(case: dict[str, Any]) -> None:
    compare_with_pymsprog(case, record=True)


@legacy_only
@settings(max_examples=100, deadline=None)
@given(cases(with_relapses=True))
def test_agrees_with_pymsprog_with_relapses(case: dict[str, Any]) -> None:
    compare_with_pymsprog(case, record=True)


@legacy_only
@pytest.mark.parametrize(
    "case",
    [
        # relapse edges: baseline 29 / 30 days after an onset, confirmation 29 / 30 days after
        {"points": [(0, 4.0), (60, 2.0), (150, 3.0), (250, 3.0)], "relapses": [-29]},
        {"points": [(0, 4.0), (60, 2.0), (150, 3.0), (250, 3.0)], "relapses": [-30]},
        {"points": [(0, 2.0), (100, 3.0), (190, 3.0), (300, 2.0)], "relapses": [160]},
        {"points": [(0, 2.0), (100, 3.0), (190, 3.0), (300, 2.0)], "relapses": [161]},
        # 84 / 83 days, roving after an improvement, the 5.5 threshold
        {"points": [(0, 2.0), (100, 3.0), (184, 3.0)], "relapses": []},
        {"points": [(0, 2.0), (100, 3.0), (183, 3.0)], "relapses": []},
        {"points": [(0, 4.0), (100, 3.0), (200, 3.0), (300, 4.0), (400, 4.0)], "relapses": []},
        {"points": [(0, 5.5), (100, 6.0), (200, 6.0)], "relapses": []},
    ],
)
@pytest.mark.parametrize("baseline", ["fixed", "roving"])
def test_agrees_with_pymsprog_on_the_edges(case: dict[str, Any], baseline: str) -> None:
    compare_with_pymsprog(
        {
            "assessments": series(*case["points"]),
            "baseline": baseline,
            "confirmation_days": 84,
            "relapses": case["relapses"],
        }
    )


@legacy_only
def test_pymsprog_0_1_version_difference() -> None:
    # The minimal example of note 2. msprog ≥ 1.0 with a fixed reference resumes right after
    # the confirmation (day 190) and re-detects the sustained 3.0 on day 300, confirmed on day
    # 400 (50 days after the relapse of day 350). pymsprog 0.1.1 skips to its "next change"
    # (5.0 on day 400) and reports that onset instead. neurocart follows msprog ≥ 1.0.
    case = {
        "assessments": series((0, 2.0), (100, 3.0), (190, 3.0), (300, 3.0), (400, 5.0), (500, 5.0)),
        "baseline": "fixed",
        "confirmation_days": 84,
        "relapses": [350],
    }
    ours = events(calculate(NAME, case))
    assert ours == [(100, 2.0, 3.0, 190), (300, 2.0, 3.0, 400)]
    assert pymsprog_events(case) == [
        ("worsening", 100, 2.0, 3.0),
        ("worsening", 400, 2.0, 5.0),
    ]
