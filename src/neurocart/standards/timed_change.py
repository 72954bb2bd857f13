"""Confirmed worsening on a timed test: timed 25-foot walk (T25FW), 9-hole peg test (9HPT),
Symbol Digit Modalities Test (SDMT).

Thresholds: T25FW and 9HPT ≥ 20 % worsening (Hobart J, et al. Neurology 2013;80:1509–17; the
20 % rule of the PROMISE analysis; msprog's default ±20 %). SDMT: 4 points "considered
clinically important" (Mult Scler 2022;28:1101–11, doi:10.1177/13524585211049397; Benedict
RHB, et al. Mult Scler 2017;23:721–33, doi:10.1177/1352458517690821); 10 % is an alternative
(`sdmt_rule` percent or either). The default SDMT rule is `points` (≥ 4), the best-anchored
criterion; individual reliable change needs ≥ 8 points (Strober LB, et al. MSARD 2022,
doi:10.1016/j.msard.2021.103405). Confirmation after 12 weeks (84 days) by default, 24 weeks
as an option — the msprog convention (Montobbio N, et al. Mult Scler 2024,
doi:10.1177/13524585241243157).

Rule: the reference is the first assessment (fixed). A visit is worsened when (value/ref − 1)
× 100 ≥ threshold (timed tests, seconds) or when ref − value ≥ points and/or
(ref − value)/ref × 100 ≥ percent (SDMT). Onset = the first worsened visit; its confirmation
visit = the first visit ≥ onset + `confirmation_days`; confirmed when that visit and every visit
in between are worsened, otherwise scanning goes on from the next visit. Without a confirmation
visit nothing is confirmed. value = the onset day of the first confirmed worsening, or None.
Fewer than 2 assessments → None. Relapse windows are not applied (see `disability_change`).
Percentages and point differences are rounded to 6 decimals before the comparison.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import ValidationInfo, field_validator

from neurocart.standards.inputs import CalcInput, field
from neurocart.standards.reason import PERCENT, Reason
from neurocart.standards.registry import Grading, calculate, register

CITATION = (
    "Hobart J, et al. Neurology 2013;80:1509–17 (T25FW 20 %); Benedict RHB, et al. Mult Scler "
    "2017;23:721–33, doi:10.1177/1352458517690821 (SDMT 4 points); Montobbio N, et al. Mult "
    "Scler 2024, doi:10.1177/13524585241243157 (confirmation)"
)
DAY_LIMIT = 36525
Test = Literal["t25fw", "nhpt", "sdmt"]
UNITS = {"t25fw": "s", "nhpt": "s", "sdmt": "correct"}


class TimedAssessment(CalcInput):
    """One timed test result on a study day."""

    day: int = field(description="study day", unit="study day", ge=-DAY_LIMIT, le=DAY_LIMIT)
    value: float = field(description="seconds (T25FW, 9HPT) or correct responses (SDMT)",
                         ge=0, le=1000)  # fmt: skip


class TimedChangeInput(CalcInput):
    """The inputs of confirmed worsening on a timed test: results over time and thresholds."""

    test: Test = field(description="t25fw, nhpt or sdmt")
    assessments: list[TimedAssessment] = field(
        description='assessments, each {"day": int, "value": float}, any order, one per day'
    )
    confirmation_days: int = field(84, description="days from onset to the confirmation visit",
                                   unit="days", ge=1, le=730)  # fmt: skip
    threshold_percent: float | None = field(
        None, description="worsening in % (default 20; SDMT 10)", unit="%", gt=0, le=100
    )
    threshold_points: float = field(4, description="SDMT worsening in points", gt=0, le=110)
    sdmt_rule: Literal["points", "percent", "either"] = field(
        "points", description="SDMT: points (≥ threshold_points), percent, or either"
    )

    @field_validator("assessments")
    @classmethod
    def _one_per_day(
        cls, value: list[TimedAssessment], info: ValidationInfo
    ) -> list[TimedAssessment]:
        seen: set[int] = set()
        test = info.data.get("test")
        for a in value:
            if a.day in seen:
                raise ValueError(ONE_PER_DAY(day=a.day))
            seen.add(a.day)
            if test == "sdmt" and not (0 <= a.value <= 110 and a.value == int(a.value)):
                raise ValueError(SDMT_WHOLE(day=a.day))
            if test in ("t25fw", "nhpt") and a.value <= 0:
                raise ValueError(TIME_POSITIVE(day=a.day))
        return value


def _percent(inp: TimedChangeInput) -> float:
    if inp.threshold_percent is not None:
        return inp.threshold_percent
    return 10.0 if inp.test == "sdmt" else 20.0


def worsened(inp: TimedChangeInput, reference: float, value: float) -> bool:
    """Whether `value` is worse than `reference` by the test's threshold."""
    percent = _percent(inp)
    if inp.test != "sdmt":
        return bool(round((value / reference - 1.0) * 100.0, 6) >= percent)
    by_points = round(reference - value, 6) >= inp.threshold_points
    by_percent = reference > 0 and round((reference - value) / reference * 100.0, 6) >= percent
    if inp.sdmt_rule == "points":
        return bool(by_points)
    if inp.sdmt_rule == "percent":
        return bool(by_percent)
    return bool(by_points or by_percent)


_NUMBERS = ("percent", "points", "day", "value", "due", "confirmed", "confirmed_value")
SLOWER = Reason("≥ {percent} slower than the reference", patterns={"percent": PERCENT})
BELOW_POINTS = Reason("≥ {points} points below the reference", numbers=_NUMBERS)
BELOW_PERCENT = Reason("≥ {percent} % below the reference", numbers=_NUMBERS)
BELOW_EITHER = Reason("≥ {points} points or ≥ {percent} % below the reference", numbers=_NUMBERS)
TOO_FEW = Reason("fewer than 2 assessments: no change can be confirmed")
REFERENCE = Reason("reference day {day}: {value} {unit}; worsening = {rule}", numbers=_NUMBERS)
UNCONFIRMED = Reason(
    "day {day} ({value} {unit}) worsened, but no visit ≥ day {due} confirms it", numbers=_NUMBERS
)
CONFIRMED = Reason(
    "day {day} ({value} {unit}) worsened, confirmed on day {confirmed} ({confirmed_value} "
    "{unit}) with every visit in between worsened",
    numbers=_NUMBERS,
)
NOT_SUSTAINED = Reason(
    "day {day} ({value} {unit}) worsened, not sustained: day {confirmed} ({confirmed_value} "
    "{unit}) is not",
    numbers=_NUMBERS,
)
NONE_CONFIRMED = Reason("no confirmed worsening")
CONFIRMED_LABEL = Reason("confirmed worsening from day {day}", numbers=_NUMBERS)
ONE_PER_DAY = Reason("two assessments on day {day}: give one value per day", numbers=_NUMBERS)
SDMT_WHOLE = Reason("day {day}: an SDMT score is a whole number 0–110", numbers=_NUMBERS)
TIME_POSITIVE = Reason("day {day}: a time must be > 0 seconds", numbers=_NUMBERS)
WORDS = tuple(sorted(set(UNITS.values())))
"""The units its reasons quote (the catalogues list them: `locale/sources.toml`)."""


def _rule_text(inp: TimedChangeInput) -> str:
    if inp.test != "sdmt":
        return SLOWER(percent=f"{_percent(inp):g} %")
    points, percent = f"{inp.threshold_points:g}", f"{_percent(inp):g}"
    if inp.sdmt_rule == "points":
        return BELOW_POINTS(points=points)
    if inp.sdmt_rule == "percent":
        return BELOW_PERCENT(percent=percent)
    return BELOW_EITHER(points=points, percent=percent)


@register(
    name="timed_change",
    title="Confirmed worsening on T25FW, 9-hole peg test or SDMT",
    citation=CITATION,
    input_model=TimedChangeInput,
)
def timed_change(inp: TimedChangeInput) -> Grading:
    """The onset day of the first confirmed worsening, or None."""
    series = sorted(inp.assessments, key=lambda a: a.day)
    unit = UNITS[inp.test]
    rule = _rule_text(inp)
    if len(series) < 2:
        return Grading(value=None, label=NONE_CONFIRMED(), reasons=[TOO_FEW()])
    ref = series[0]
    reasons = [REFERENCE(day=ref.day, value=f"{ref.value:g}", unit=unit, rule=rule)]
    flags = [worsened(inp, ref.value, a.value) for a in series]
    for i in range(1, len(series)):
        if not flags[i]:
            continue
        onset = series[i]
        due = onset.day + inp.confirmation_days
        j = next((k for k in range(i, len(series)) if series[k].day >= due), None)
        if j is None:
            reasons.append(UNCONFIRMED(day=onset.day, value=f"{onset.value:g}", unit=unit, due=due))
            continue
        if all(flags[i : j + 1]):
            conf = series[j]
            reasons.append(
                CONFIRMED(
                    day=onset.day, value=f"{onset.value:g}", unit=unit, confirmed=conf.day,
                    confirmed_value=f"{conf.value:g}",
                )
            )  # fmt: skip
            return Grading(
                value=onset.day,
                label=CONFIRMED_LABEL(day=onset.day),
                reasons=reasons,
                details={
                    "reference_day": ref.day,
                    "reference_value": ref.value,
                    "onset_day": onset.day,
                    "confirmed_day": conf.day,
                },
            )
        failed = next(series[k] for k in range(i, j + 1) if not flags[k])
        reasons.append(
            NOT_SUSTAINED(
                day=onset.day, value=f"{onset.value:g}", unit=unit, confirmed=failed.day,
                confirmed_value=f"{failed.value:g}",
            )
        )  # fmt: skip
    reasons.append(NONE_CONFIRMED())
    return Grading(
        value=None,
        label=NONE_CONFIRMED(),
        reasons=reasons,
        details={"reference_day": ref.day, "reference_value": ref.value},
    )


def confirmed_onsets(
    test: Test,
    series: npt.NDArray[np.intp],
    day: npt.NDArray[np.int64],
    value: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """The onset day of the first confirmed worsening of many series at once (NaN: none), as
    `calculate("timed_change", {"test": test, "assessments": ...})` gives it for each series
    with the default thresholds and confirmation.

    Row i is the result `value[i]` of series `series[i]` (0 … n−1, each present) on study day
    `day[i]`, one per day, any order. The worsened flags are the calculator's own (`worsened`,
    row by row: its rounding is Python's); the scan for the confirmation visit is a search
    over all series at once. A series the calculator would refuse is refused the same way (it
    is graded by it, which raises).
    """
    params = TimedChangeInput.model_validate({"test": test, "assessments": []})
    n = int(series.max()) + 1 if len(series) else 0
    order = np.lexsort((day, series))
    s, d, v = series[order], day[order], value[order]
    _refuse_what_the_calculator_refuses(test, s, d, v)
    start = np.searchsorted(s, np.arange(n))
    end = np.searchsorted(s, np.arange(n), side="right")
    reference = v[start][s]
    flags = np.fromiter(
        (worsened(params, r, x) for r, x in zip(reference.tolist(), v.tolist(), strict=True)),
        dtype=bool,
        count=len(v),
    )
    rows = np.arange(len(v))
    candidate = flags & (rows > start[s])
    span = int(d.max() - d.min()) + params.confirmation_days + 1 if len(d) else 1
    key = s.astype(np.int64) * span + (d - (d.min() if len(d) else 0))
    due = np.searchsorted(key, key + params.confirmation_days)  # first visit ≥ onset + 84 days
    reached = due < end[s]
    not_worse = np.concatenate([[0], np.cumsum(~flags)])
    sustained = not_worse[np.minimum(due, len(v) - 1) + 1] - not_worse[rows] == 0
    confirmed = candidate & reached & sustained
    onset = np.full(n, np.nan)
    first = np.flatnonzero(confirmed)
    first = first[np.unique(s[first], return_index=True)[1]]  # the earliest per series
    onset[s[first]] = d[first]
    return onset


def _refuse_what_the_calculator_refuses(
    test: Test, s: npt.NDArray[Any], d: npt.NDArray[Any], v: npt.NDArray[Any]
) -> None:
    """Grade the first series holding a value the input model refuses, so that it raises."""
    bad = (np.abs(d) > DAY_LIMIT) | ~(v >= 0) | ~(v <= 1000)
    if test == "sdmt":
        bad |= (v > 110) | (v != np.floor(v))
    else:
        bad |= v <= 0
    bad[1:] |= (s[1:] == s[:-1]) & (d[1:] == d[:-1])  # two results on one day
    if bad.any():
        rows = np.flatnonzero(s == s[np.argmax(bad)])
        given = [{"day": int(d[i]), "value": float(v[i])} for i in rows]
        calculate("timed_change", {"test": test, "assessments": given})
        raise ValueError(f"series {s[rows[0]]}: a result the calculator refuses")
