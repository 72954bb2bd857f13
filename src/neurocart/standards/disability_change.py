"""Confirmed disability worsening (CDW) and improvement (CDI) on a series of EDSS assessments.

Source: Montobbio N, Carmisciano L, Signori A, et al. Creating an automated tool for a
consistent and repeatable evaluation of disability progression in clinical studies for multiple
sclerosis. Mult Scler 2024;30(9):1185–1192. doi:10.1177/13524585241243157 — and its reference
implementation, the R package msprog (CRAN 1.0.1, `R/MSprog.R`, `R/compute_delta.R`), whose
event semantics this module reproduces with the settings fixed in neurocart's contract.
Roving reference: Kappos L et al. Mult Scler 2018;24(7):963–973. doi:10.1177/1352458517709619.

The rules, in order
-------------------
1. The assessments are sorted by day. Two assessments on the same day are an error (msprog
   silently keeps the last one; neurocart refuses to guess which one is right). Every EDSS
   must be a valid step: 0, 1.0, 1.5, …, 9.5, 10 (there is no 0.5).
2. Baseline = the first assessment; while it lies within 30 days after a relapse onset
   (0 ≤ assessment day − onset day < 30) it moves to the next assessment (msprog
   `relapse_to_bl = 30`; an assessment exactly 30 days after the onset is a valid baseline).
3. Minimum change from the reference (msprog's `>=`: a change equal to the threshold counts):
   reference 0 → +1.5 (an improvement from 0 is impossible); 1.0–5.5 → ±1.0; ≥ 6.0 → ±0.5.
4. Scanning forward from the visit after the reference, the onset is the first assessment
   whose change from the reference meets the threshold, in either direction.
5. Confirmation visit = the first assessment ≥ `confirmation_days` after the onset that also
   lies ≥ 30 days after the latest relapse onset (msprog `relapse_to_conf = 30`). The event is
   confirmed when every assessment from the onset up to and including that visit still meets
   the threshold from the same reference, in the same direction (msprog
   `check_intermediate = TRUE`). A change at the last assessment has nothing after it and is
   never confirmed (msprog `impute_last_visit = 0`). An unconfirmed change is skipped and
   scanning resumes at the next assessment.
6. After a confirmed event scanning resumes after the confirmation visit (msprog
   `proceed_from = "firstconf"`). A roving reference moves to the confirmation visit (its
   value) after every confirmed CDW *or* CDI — also when only one direction is counted, so that
   a return to the old level after an improvement is a new worsening (msprog vignette, subject
   4). A fixed reference never moves, and a still-worsened state confirmed again later counts
   again (msprog `event = "multiple"`).
7. value = the number of confirmed events in the requested direction; `details["events"]` lists
   them (day = onset, from_edss = reference, to_edss = onset value, confirmed_day).

msprog defaults that differ from neurocart's settings
-----------------------------------------------------
* `delta_fun` — msprog's `compute_delta()` gives 1.5 for 0, 1.0 for 0 < x ≤ 5.0 and **0.5
  above 5.0**; neurocart uses **1.0 at 5.5** (the common trial convention "≤ 5.5 → 1.0"), so
  from 5.5 neurocart needs 6.5 (or 4.5) where msprog needs 6.0 (or 5.0).
* `conf_tol_days` — msprog (7, 730.5): confirmation from 77 days up to 2 years after onset;
  neurocart: [confirmation_days, ∞) — no early tolerance, no late limit.
* `event` — msprog "firstCDW"; neurocart counts every event ("multiple").
* same-day duplicates — msprog keeps the last; neurocart rejects them.
* Defaults that are the same: `baseline` fixed, `proceed_from` firstconf, `check_intermediate`
  TRUE, `relapse_to_bl` 30, `relapse_to_event` 0, `relapse_to_conf` 30, `require_sust_days` 0,
  `impute_last_visit` 0; `sub_threshold_rebl`, `skip_local_extrema`, `relapse_rebl`, `bl_geq`
  are not implemented (msprog defaults: none / FALSE / FALSE / FALSE). PIRA/RAW classification
  is not part of this calculator.

Choices neurocart made
----------------------
* `confirmation_days` is limited to 28–730 days: a shorter period is not a confirmation in any
  published CDW definition, and the bound catches weeks or months typed as days.
* A relapse onset after every assessment, or long before the first, changes nothing.
* The older pymsprog 0.1.x (the Python port before 1.0) differs from msprog ≥ 1.0 after a
  confirmed event (it moves the roving reference to the last visit before the next change and
  does not re-detect a sustained state with a fixed reference) and treats a visit exactly 30
  days after a relapse as still under its influence. neurocart follows msprog ≥ 1.0 (the
  version the publication's tool is maintained as); the test module documents the cross-check.

Many series at once
-------------------
`confirmed_events` finds the confirmed events of many series in one vectorized pass (a cohort's
EDSS series in milliseconds instead of one validated call per patient), with the rules above
and the same floating-point comparisons; a property test holds it to the calculator, series by
series.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import field_validator

from neurocart.standards.inputs import CalcInput, field
from neurocart.standards.reason import Reason
from neurocart.standards.registry import Grading, calculate, register

CITATION = (
    "Montobbio N, Carmisciano L, Signori A, et al. Creating an automated tool for a consistent "
    "and repeatable evaluation of disability progression in clinical studies for multiple "
    "sclerosis. Mult Scler 2024;30(9):1185–1192. doi:10.1177/13524585241243157 "
    "(R package msprog)"
)

RELAPSE_TO_BASELINE_DAYS = 30
"""A baseline within this many days after a relapse onset (exclusive) moves to the next visit."""
RELAPSE_TO_CONFIRMATION_DAYS = 30
"""A confirmation visit must lie at least this many days after the latest relapse onset."""

THRESHOLDS: tuple[tuple[float, float, float], ...] = (
    # (lowest reference, highest reference, minimum change)
    (0.0, 0.0, 1.5),
    (1.0, 5.5, 1.0),
    (6.0, 10.0, 0.5),
)
"""Minimum clinically meaningful EDSS change, by reference value (inclusive bounds)."""

VALID_STEPS: frozenset[float] = frozenset([0.0] + [x / 2 for x in range(2, 21)])
"""0, 1.0, 1.5, …, 9.5, 10 — the EDSS has no step 0.5."""

DAY_LIMIT = 36525
"""Study days are accepted within ±100 years of day 0."""

Direction = Literal["worsening", "improvement"]

_NUMBERS = (
    "n", "day", "edss", "gap", "window", "reference", "reference_day", "value", "change",
    "needed", "confirmed", "confirmed_edss", "after", "days", "limit",
)  # fmt: skip
_DIRECTION = {"direction": "worsening|improvement"}
SORTED = Reason("{n} assessments sorted by day", numbers=_NUMBERS)
THRESHOLDS_TEXT = Reason(
    "thresholds from the reference: +1.5 from 0 (no improvement possible from 0), ±1.0 from "
    "1.0–5.5, ±0.5 from 6.0 or more; a change equal to the threshold counts"
)
NEAR_RELAPSE = Reason(
    "assessment on day {day} (EDSS {edss}) lies {gap} days after a relapse onset (< {window}): "
    "baseline moved to the next assessment",
    numbers=_NUMBERS,
)
BASELINE = Reason("{baseline} baseline: EDSS {edss} on day {day}", numbers=_NUMBERS)
STEP = Reason(
    "EDSS {reference} (reference, day {reference_day}) → {value} on day {day} ({change}; "
    "{needed} needed)",
    numbers=_NUMBERS,
)
"""The change from the reference to an onset (a parameter of the event reasons)."""
AT_LAST = Reason(
    "{direction} {step}: at the last assessment, cannot be confirmed", patterns=_DIRECTION
)
AT_LAST_REPEAT = Reason(
    "{direction} {step}: at the last assessment, cannot be confirmed — repeat the EDSS ≥ {days} "
    "days later",
    numbers=_NUMBERS,
    patterns=_DIRECTION,
)
NO_CONFIRMATION = Reason(
    "{direction} {step}: not confirmed — no assessment ≥ {days} days later and ≥ {window} days "
    "after a relapse onset",
    numbers=_NUMBERS,
    patterns=_DIRECTION,
)
LAPSED = Reason(
    "{direction} {step}: not confirmed — EDSS {edss} on day {day} no longer meets the threshold",
    numbers=_NUMBERS,
    patterns=_DIRECTION,
)
CONFIRMED = Reason(
    "{kind}: {step}, confirmed on day {confirmed} (EDSS {confirmed_edss}, {after} days after "
    "onset ≥ {days}), every assessment in between still meeting the threshold",
    numbers=_NUMBERS,
    patterns={"kind": "CDW|CDI"},
)
ROVING = Reason("roving reference moved to EDSS {edss} (confirmation, day {day})", numbers=_NUMBERS)
NO_BASELINE = Reason(
    "every assessment lies within {window} days after a relapse: no baseline, no change can be "
    "assessed",
    numbers=_NUMBERS,
)
TOO_FEW = Reason("fewer than two assessments from the baseline on: no change can be assessed")
COUNT_LABEL = Reason("{n} {kind}", numbers=_NUMBERS, patterns={"kind": "CDW|CDI"})
NONE_LABEL = Reason("no {kind}", patterns={"kind": "CDW|CDI"})
NOT_A_STEP = Reason(
    "{value} is not an EDSS step; expected 0, 1.0, 1.5, …, 9.5 or 10 (there is no 0.5)",
    numbers=_NUMBERS,
)
NONE_GIVEN = Reason("at least one assessment is required")
ONE_PER_DAY = Reason("two assessments on day {day}: give one EDSS per day", numbers=_NUMBERS)
RELAPSE_OUTSIDE = Reason("relapse day {day} is outside ±{limit}", numbers=_NUMBERS)
WORDS = ("worsening", "improvement", "fixed", "roving")
"""The words its reasons quote (the catalogues list them: `locale/sources.toml`)."""


def required_change(reference: float) -> float:
    """The minimum EDSS change (either direction) that counts from `reference`."""
    for low, high, delta in THRESHOLDS:
        if low <= reference <= high:
            return delta
    raise ValueError(f"EDSS {reference:g} is not a valid step")


def meets(direction: Direction, reference: float, value: float) -> bool:
    """Whether `value` differs from `reference` by at least the threshold in `direction`."""
    delta = required_change(reference)
    if direction == "worsening":
        return value - reference >= delta
    # An improvement from 0 is impossible (there is nothing below 0).
    return reference > 0 and reference - value >= delta


def _change(reference: float, value: float) -> Direction | None:
    if meets("worsening", reference, value):
        return "worsening"
    if meets("improvement", reference, value):
        return "improvement"
    return None


class Assessment(CalcInput):
    """One EDSS assessment on a study day, the unit of the confirmed-change rules."""

    day: int = field(
        description="study day of the assessment (day 0 = infusion)",
        unit="study day",
        ge=-DAY_LIMIT,
        le=DAY_LIMIT,
    )
    edss: float = field(description="EDSS step: 0, 1.0, 1.5, …, 9.5, 10 (no 0.5)", ge=0, le=10)

    @field_validator("edss")
    @classmethod
    def _valid_step(cls, value: float) -> float:
        if value not in VALID_STEPS:
            raise ValueError(NOT_A_STEP(value=f"{value:g}"))
        return value


class DisabilityChangeInput(CalcInput):
    """A patient's EDSS series and the options of the confirmed-change definition (direction,
    baseline, confirmation period)."""

    assessments: list[Assessment] = field(
        description='EDSS assessments, each {"day": int, "edss": float}, in any order; '
        "at most one per day"
    )
    direction: Direction = field(
        "worsening", description="which confirmed events to count: worsening (CDW) or improvement"
    )
    baseline: Literal["fixed", "roving"] = field(
        "fixed",
        description="fixed: the first valid assessment stays the reference; roving: the "
        "reference moves to the confirmation visit after every confirmed event",
    )
    confirmation_days: int = field(
        84,
        description="minimum days from onset to the confirmation assessment (84 = 12 weeks, "
        "168 = 24 weeks)",
        unit="days",
        ge=28,
        le=730,
    )
    relapses: list[int] = field([], description="study days of relapse onsets", unit="study day")

    @field_validator("assessments")
    @classmethod
    def _one_per_day(cls, value: list[Assessment]) -> list[Assessment]:
        if not value:
            raise ValueError(NONE_GIVEN())
        seen: set[int] = set()
        for a in value:
            if a.day in seen:
                raise ValueError(ONE_PER_DAY(day=a.day))
            seen.add(a.day)
        return value

    @field_validator("relapses")
    @classmethod
    def _relapse_days_in_range(cls, value: list[int]) -> list[int]:
        for day in value:
            if not -DAY_LIMIT <= day <= DAY_LIMIT:
                raise ValueError(RELAPSE_OUTSIDE(day=day, limit=DAY_LIMIT))
        return value


@dataclass(frozen=True)
class Event:
    """One confirmed event, with the indices of its visits in the sorted series."""

    direction: Direction
    reference_index: int
    onset_index: int
    confirmation_index: int


def _days_since_relapse(day: int, relapses: list[int]) -> int | None:
    gaps = [day - r for r in relapses if r <= day]
    return min(gaps) if gaps else None


def _near_relapse(day: int, relapses: list[int], window: int) -> bool:
    gap = _days_since_relapse(day, relapses)
    return gap is not None and gap < window


def _signed(x: float) -> str:
    return f"{x:+.1f}"


def _fmt(x: float) -> str:
    return "0" if x == 0 else ("10" if x == 10 else f"{x:.1f}")


def _threshold_text(reference: float, direction: Direction) -> str:
    delta = required_change(reference)
    return _signed(delta if direction == "worsening" else -delta)


@register(
    name="disability_change",
    title="Confirmed disability worsening / improvement on EDSS (msprog semantics)",
    citation=CITATION,
    input_model=DisabilityChangeInput,
)
def disability_change(inp: DisabilityChangeInput) -> Grading:
    """Count confirmed EDSS worsening or improvement events, msprog style."""
    visits = sorted(inp.assessments, key=lambda a: a.day)
    days = [a.day for a in visits]
    edss = [a.edss for a in visits]
    relapses = sorted(set(inp.relapses))
    n = len(visits)
    abbrev = "CDW" if inp.direction == "worsening" else "CDI"
    reasons: list[str] = []
    warnings: list[str] = []

    if [a.day for a in inp.assessments] != days:
        reasons.append(SORTED(n=n))
    reasons.append(THRESHOLDS_TEXT())

    ref = 0
    while ref < n and _near_relapse(days[ref], relapses, RELAPSE_TO_BASELINE_DAYS):
        gap = _days_since_relapse(days[ref], relapses)
        reasons.append(
            NEAR_RELAPSE(
                day=days[ref], edss=_fmt(edss[ref]), gap=gap, window=RELAPSE_TO_BASELINE_DAYS
            )
        )
        ref += 1
    if ref >= n:
        warnings.append(NO_BASELINE(window=RELAPSE_TO_BASELINE_DAYS))
        return _grading(
            inp, abbrev, [], [], days, edss, {"day": None, "edss": None}, reasons, warnings
        )
    baseline_info = {"day": days[ref], "edss": edss[ref]}
    reasons.append(BASELINE(baseline=inp.baseline, edss=_fmt(edss[ref]), day=days[ref]))
    if n - ref < 2:
        warnings.append(TOO_FEW())

    found: list[Event] = []
    search = ref + 1
    while search < n:
        reference = edss[ref]
        onset = next((i for i in range(search, n) if _change(reference, edss[i])), None)
        if onset is None:
            break
        direction = _change(reference, edss[onset])
        assert direction is not None
        step = STEP(
            reference=_fmt(reference),
            reference_day=days[ref],
            value=_fmt(edss[onset]),
            day=days[onset],
            change=_signed(edss[onset] - reference),
            needed=_threshold_text(reference, direction),
        )
        confirm = next(
            (
                j
                for j in range(onset + 1, n)
                if days[j] - days[onset] >= inp.confirmation_days
                and not _near_relapse(days[j], relapses, RELAPSE_TO_CONFIRMATION_DAYS)
            ),
            None,
        )
        if confirm is None:
            if onset == n - 1:
                if direction == inp.direction:
                    warnings.append(
                        AT_LAST_REPEAT(direction=direction, step=step, days=inp.confirmation_days)
                    )
                else:
                    reasons.append(AT_LAST(direction=direction, step=step))
            else:
                reasons.append(
                    NO_CONFIRMATION(
                        direction=direction, step=step, days=inp.confirmation_days,
                        window=RELAPSE_TO_CONFIRMATION_DAYS,
                    )
                )  # fmt: skip
            search = onset + 1
            continue
        lapse = next(
            (k for k in range(onset + 1, confirm + 1) if not meets(direction, reference, edss[k])),
            None,
        )
        if lapse is not None:
            reasons.append(
                LAPSED(direction=direction, step=step, edss=_fmt(edss[lapse]), day=days[lapse])
            )
            search = onset + 1
            continue
        event = Event(direction, ref, onset, confirm)
        found.append(event)
        kind = "CDW" if direction == "worsening" else "CDI"
        reasons.append(
            CONFIRMED(
                kind=kind, step=step, confirmed=days[confirm], confirmed_edss=_fmt(edss[confirm]),
                after=days[confirm] - days[onset], days=inp.confirmation_days,
            )
        )  # fmt: skip
        if inp.baseline == "roving":
            ref = confirm
            reasons.append(ROVING(edss=_fmt(edss[ref]), day=days[ref]))
        search = confirm + 1

    counted = [e for e in found if e.direction == inp.direction]
    other = [e for e in found if e.direction != inp.direction]
    return _grading(inp, abbrev, counted, other, days, edss, baseline_info, reasons, warnings)


def _as_dict(e: Event, days: list[int], edss: list[float]) -> dict[str, Any]:
    return {
        "day": days[e.onset_index],
        "from_edss": edss[e.reference_index],
        "to_edss": edss[e.onset_index],
        "confirmed_day": days[e.confirmation_index],
    }


def _grading(
    inp: DisabilityChangeInput,
    abbrev: str,
    counted: list[Event],
    other: list[Event],
    days: list[int],
    edss: list[float],
    baseline_info: dict[str, Any],
    reasons: list[str],
    warnings: list[str],
) -> Grading:
    value = len(counted)
    label = COUNT_LABEL(n=value, kind=abbrev) if value else NONE_LABEL(kind=abbrev)
    return Grading(
        value=value,
        label=label,
        reasons=reasons,
        warnings=warnings,
        details={
            "events": [_as_dict(e, days, edss) for e in counted],
            "other_direction_events": [_as_dict(e, days, edss) for e in other],
            "baseline": baseline_info,
            "confirmation_days": inp.confirmation_days,
        },
    )


@dataclass(frozen=True)
class SeriesEvents:
    """The confirmed events of many series (`confirmed_events`): one entry per event, series by
    series and, within a series, in the order the calculator confirms them — the events of
    `details["events"]` and `details["other_direction_events"]` together, told apart by
    `worsening`."""

    series: npt.NDArray[np.intp]
    """The series of the event (its label in the call)."""
    worsening: npt.NDArray[np.bool_]
    """A CDW (True) or a CDI (False)."""
    day: npt.NDArray[np.int64]
    """The onset day."""
    from_edss: npt.NDArray[np.float64]
    """The reference EDSS."""
    to_edss: npt.NDArray[np.float64]
    """The EDSS at the onset."""
    confirmed_day: npt.NDArray[np.int64]
    """The day of the confirmation visit."""


_STEPS = np.array(sorted(VALID_STEPS))
_SPAN = 2 * DAY_LIMIT + 731 + 1
"""Keys of one series (series × span + day) stay apart from the next one's even when a
confirmation period (≤ 730 days) is added to the last day."""


def confirmed_events(
    series: npt.NDArray[np.intp],
    day: npt.NDArray[np.int64],
    edss: npt.NDArray[np.float64],
    relapse_series: npt.NDArray[np.intp] | None = None,
    relapse_day: npt.NDArray[np.int64] | None = None,
    *,
    baseline: Literal["fixed", "roving"] = "fixed",
    confirmation_days: int = 84,
) -> SeriesEvents:
    """The confirmed events of many EDSS series at once, as `calculate("disability_change",
    ...)` finds them for each series with these options (both directions: the direction only
    chooses which of them the calculator counts).

    Row i is the EDSS `edss[i]` of series `series[i]` (a label ≥ 0) on study day `day[i]`, in
    any order; the relapse onsets of a series are the `relapse_day` whose `relapse_series` is
    its label (those of a label without assessments are not read). A series the calculator
    would refuse (an EDSS that is not a step, two assessments on a day, a day or a relapse
    outside ±100 years) is refused the same way, the one with the lowest label first: it is
    graded by the calculator, which raises.

    The scan of each series (rules 4–6) is vectorized over the series: the confirmation visit
    of every possible onset and whether every visit up to it still meets the threshold are
    worked out for all rows at once, so that each step of the scan — the first confirmed onset
    from where the series' scan stands — is one lookup per series, and there are as many steps
    as the most events of one series (a roving reference grades the rows again after each).
    """
    series = np.asarray(series, dtype=np.intp)
    day = np.asarray(day, dtype=np.int64)
    edss = np.asarray(edss, dtype=np.float64)
    r_series = np.asarray([] if relapse_series is None else relapse_series, dtype=np.intp)
    r_day = np.asarray([] if relapse_day is None else relapse_day, dtype=np.int64)
    _refuse_options(baseline, confirmation_days)
    _refuse_series(series, day, edss, r_series, r_day)

    order = np.lexsort((day, series))
    label, d, e = series[order], day[order], edss[order]
    n = len(label)
    if n == 0:
        return _events([], label, d, e)
    rows = np.arange(n)
    first = np.r_[True, label[1:] != label[:-1]]
    starts = np.flatnonzero(first)
    ends = np.r_[starts[1:], n].astype(np.intp)
    block = np.cumsum(first) - 1  # the series of each row, numbered 0 … in label order
    key = block * _SPAN + (d + DAY_LIMIT)  # ascending: the rows are sorted by series and day

    # the days since the latest relapse onset on or before each visit (rules 2 and 5)
    known = np.isin(r_series, label)
    r_order = np.lexsort((r_day[known], r_series[known]))
    r_block = np.searchsorted(label[starts], r_series[known][r_order])
    r_d = r_day[known][r_order]
    latest = np.searchsorted(r_block * _SPAN + (r_d + DAY_LIMIT), key, side="right") - 1
    has_relapse = latest >= 0
    if len(r_d):
        has_relapse &= r_block[np.maximum(latest, 0)] == block
        gap = d - r_d[np.maximum(latest, 0)]
    else:
        gap = np.zeros(n, dtype=np.int64)

    def far_from_relapse(window: int) -> npt.NDArray[np.bool_]:
        return ~has_relapse | (gap >= window)

    # the baseline: the first assessment not within 30 days after a relapse onset (rule 2)
    valid_baseline = np.where(far_from_relapse(RELAPSE_TO_BASELINE_DAYS), rows, n)
    reference = np.minimum.reduceat(valid_baseline, starts)
    # the confirmation visit of an onset at each row (rule 5): the first visit at least
    # `confirmation_days` later that also lies 30 days or more after the latest relapse onset
    later = np.searchsorted(key, key + confirmation_days, side="left")
    eligible = np.where(far_from_relapse(RELAPSE_TO_CONFIRMATION_DAYS), rows, n)
    next_eligible = np.r_[np.minimum.accumulate(eligible[::-1])[::-1], n]
    confirm = next_eligible[later]
    has_confirm = confirm < ends[block]
    confirm = np.where(has_confirm, confirm, rows)

    def graded(ref_row: npt.NDArray[np.intp]) -> tuple[Any, Any]:
        """Per row, whether an onset there would be confirmed from its series' reference, and
        whether it is a worsening; and the next row (itself or later) with a confirmed onset."""
        ref = e[np.minimum(ref_row, n - 1)[block]]
        delta = _required_changes(ref)
        worse = e - ref >= delta
        better = (ref > 0) & (ref - e >= delta)
        span = confirm - rows
        kept_worse = np.r_[0, np.cumsum(worse)]
        kept_better = np.r_[0, np.cumsum(better)]
        stays_worse = kept_worse[confirm + 1] - kept_worse[rows + 1] == span
        stays_better = kept_better[confirm + 1] - kept_better[rows + 1] == span
        confirmed = has_confirm & ((worse & stays_worse) | (better & stays_better))
        at = np.where(confirmed, rows, n)
        return worse, np.r_[np.minimum.accumulate(at[::-1])[::-1], n]

    found: list[tuple[Any, ...]] = []
    active = np.flatnonzero(reference < ends)
    ref_row = reference.copy()
    search = reference + 1
    worse, next_confirmed = graded(ref_row)
    while len(active):
        active = active[search[active] < ends[active]]
        onset = next_confirmed[search[active]]
        hit = onset < ends[active]
        active, onset = active[hit], onset[hit]
        if not len(active):
            break
        visit = confirm[onset]
        found.append((active, worse[onset], onset, ref_row[active], visit))
        search[active] = visit + 1
        if baseline == "roving":
            ref_row[active] = visit
            worse, next_confirmed = graded(ref_row)
    return _events(found, label[starts], d, e)


def _required_changes(reference: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """`required_change` of every reference (NaN for a value no threshold covers)."""
    out = np.full(len(reference), np.nan)
    for low, high, delta in THRESHOLDS:
        out[(reference >= low) & (reference <= high)] = delta
    return out


def _events(
    found: list[tuple[Any, ...]],
    labels: npt.NDArray[np.intp],
    d: npt.NDArray[np.int64],
    e: npt.NDArray[np.float64],
) -> SeriesEvents:
    """The events found step by step, series by series (in each, in the order of the steps)."""
    if not found:
        empty = np.zeros(0, dtype=np.intp)
        return SeriesEvents(
            empty, np.zeros(0, bool), empty.astype(np.int64), np.zeros(0), np.zeros(0),
            empty.astype(np.int64),
        )  # fmt: skip
    block, worse, onset, ref_row, visit = (np.concatenate(c) for c in zip(*found, strict=True))
    order = np.argsort(block, kind="stable")
    block, worse, onset, ref_row, visit = (c[order] for c in (block, worse, onset, ref_row, visit))
    return SeriesEvents(
        series=labels[block],
        worsening=worse.astype(bool),
        day=d[onset],
        from_edss=e[ref_row],
        to_edss=e[onset],
        confirmed_day=d[visit],
    )


def _refuse_options(baseline: str, confirmation_days: int) -> None:
    """Refuse options the calculator refuses, as it refuses them."""
    if (
        baseline in ("fixed", "roving")
        and type(confirmation_days) is int
        and 28 <= confirmation_days <= 730
    ):
        return
    calculate(
        "disability_change",
        {
            "assessments": [{"day": 0, "edss": 0.0}],
            "baseline": baseline,
            "confirmation_days": confirmation_days,
        },
    )  # raises, naming the field
    raise ValueError(f"options refused: baseline {baseline!r}, {confirmation_days!r} days")


def _refuse_series(
    series: npt.NDArray[np.intp],
    day: npt.NDArray[np.int64],
    edss: npt.NDArray[np.float64],
    r_series: npt.NDArray[np.intp],
    r_day: npt.NDArray[np.int64],
) -> None:
    """Refuse the series (the lowest label first) that the calculator refuses, as it does."""
    if len(series) != len(day) or len(series) != len(edss) or len(r_series) != len(r_day):
        raise ValueError("series, day and edss (and relapse_series, relapse_day) differ in length")
    if (series < 0).any() or (r_series < 0).any():
        raise ValueError("a series label is negative")
    bad_row = ~np.isin(edss, _STEPS) | (day < -DAY_LIMIT) | (day > DAY_LIMIT)
    order = np.lexsort((day, series))
    same = (series[order][1:] == series[order][:-1]) & (day[order][1:] == day[order][:-1])
    bad_row[order[1:][same]] = True
    bad_relapse = ((r_day < -DAY_LIMIT) | (r_day > DAY_LIMIT)) & np.isin(r_series, series)
    if not bad_row.any() and not bad_relapse.any():
        return
    s = min(series[bad_row].min(initial=np.iinfo(np.intp).max),
            r_series[bad_relapse].min(initial=np.iinfo(np.intp).max))  # fmt: skip
    calculate(
        "disability_change",
        {
            "assessments": [
                {"day": int(day[i]), "edss": float(edss[i])} for i in np.flatnonzero(series == s)
            ],
            "relapses": [int(r) for r in r_day[r_series == s]],
        },
    )  # raises, naming the field
    raise ValueError(f"series {s}: an EDSS that is not a step, two on a day or a day out of range")
