"""ICAHT: immune effector cell-associated hematotoxicity, EHA/EBMT consensus grading.

Rejeski K, Subklewe M, Aljurf M, et al. Immune effector cell-associated hematotoxicity:
EHA/EBMT consensus grading and best practice recommendations. Blood 2023;142(10):865–877.
doi:10.1182/blood.2023020578.

Grades neutropenia after CAR-T infusion (day 0) from a series of absolute neutrophil counts
(ANC, ×10⁹/L) on study days. The lowest ANC of each day counts (several values on one day:
the lowest is kept, as in the automated implementation below).

Early ICAHT (days 0–30: 31 days with day 0), two thresholds, the grade is the higher column:

    grade   ANC ≤ 0.5 ×10⁹/L                       ANC ≤ 0.1 ×10⁹/L
    0       never                                   —
    1       1–6 days                                —
    2       7–13 days                               —
    3       14–30 days                              7–13 days
    4       never above 0.5 in days 0–30 (31 days)  ≥ 14 days

* A recovery is *stable* when ANC > threshold on ≥ 3 consecutive days. A shorter recovery
  does not end an episode: the episodes are joined and the gap days count. The same rule
  applies to the 0.1 threshold (recovery there means > 0.1).
* An episode ≤ 0.5 that starts on day 0–3 and is still ongoing at the last available ANC
  (death or last follow-up) is grade 4, whatever its length.
* `duration_mode`: `cumulative` (default) adds the days of every episode in days 0–30;
  `longest_episode` grades the longest single episode. They differ only when a stable
  recovery separates two episodes.

Late ICAHT (days 31–100) by the nadir ANC: ≤ 1.5 → 1, ≤ 1.0 → 2, ≤ 0.5 → 3, ≤ 0.1 → 4. The
nadir must be confirmed by a second value ≤ 1.5 on another day (an isolated dip is grade 0);
a single available value is graded as it is (with a warning). Values after re-treatment or
progression must be left out by the caller (the grade ends there; this module cannot know).

Checked against the automated implementation of the grading (GitHub
emilyliangmd/automatedicahtgrading, Liang EC, Fred Hutchinson: `index.Rmd`, the heatwaveR
method, and `Manual Code.R`), read for this module:

* lowest ANC per day (`slice_min`) — same here;
* thresholds ≤ 500 and ≤ 100 cells/µL (heatwaveR `threshold = 501/101, below = TRUE` on
  integer counts; manual code `anc <= 500`) — same (≤ 0.5 and ≤ 0.1 ×10⁹/L);
* stable recovery = ANC > 500 on ≥ 3 consecutive days (CIBMTR engraftment), implemented as
  `joinAcrossGaps = TRUE, maxGap = 2`; a joined exceedance lasts from its first to its last
  day, so the gap days count — same here (two neutropenic days less than 3 days apart are
  joined);
* grade 4 when the ≤ 0.5 duration is 31 days, or when the ≤ 0.5 exceedance starts on day
  0–3 and ends on the last lab date — same here;
* the grade table (`case_when`) is the higher of the two columns — same here;
* it grades the **longest** exceedance (`max(duration)`): that is `longest_episode` here;
* missing days: `zoo::na.approx(maxgap = 7, rule = 2)` then rounding to 10 cells/µL. Here
  interpolation is optional (`interpolate_gaps`, default false), is done only *between* two
  measured days (no extrapolation before the first or after the last value: the last
  available ANC keeps its meaning for the early-onset rule) and is not rounded;
* `Manual Code.R` (the non-heatwaveR variant) counts every day between two neutropenic
  measurements whatever the gap length; neurocart never counts unmeasured gaps > 7 days
  (its convention: an unknown stretch is not evidence of neutropenia);
* late ICAHT: the two lowest per-day ANC in days 31–100 (or to re-treatment/progression/last
  follow-up), graded by the lowest when the second is ≤ 1500 cells/µL or absent — same here.

Which duration the publication supports: the consensus authors' own thrombocytopenia paper
(Rejeski K, Sanz J, et al. T-ICAHT: grading and prognostic impact of thrombocytopenia after
CAR T-cell therapy, Blood; Table 1 footnote) states that T-ICAHT "follows the principal logic
of the existing N-ICAHT grading" and that for the early phase "the cumulative length beneath
the respective threshold is calculated", days of non-stable recovery (< 3 days) being
"counted to the cumulative total of days, as outlined previously"; the group's abstract
applying early ICAHT to 549 patients likewise uses the total cumulative duration of severe
neutropenia. The publication therefore supports `cumulative`, which is the default;
`longest_episode` reproduces the automated implementation. Table 1 of the 2023 paper itself
was not available in the sources searched while writing this module (only its abstract): the
thresholds above are neurocart's reading of the consensus and agree with the automated
implementation and the T-ICAHT paper's statement; confirm Table 1's footnotes against the
PDF when next reviewed.

Choices neurocart made where the sources are silent:

* Missing days without interpolation: a gap of at most 2 days between two neutropenic days
  is counted (whatever happened there, a recovery shorter than 3 days cannot end an
  episode). A longer stretch with unmeasured days is unknown: never counted as neutropenic,
  it separates episodes, and a warning names it (the grade may be underestimated).
* With `interpolate_gaps`, a stretch of ≤ 7 days without a value between two measured days
  gets linearly interpolated values; longer stretches stay unknown.
* Early phase: values after day 30 are ignored with a warning. Late phase: values before
  day 31 or after day 100 are ignored with a warning. A series with no value inside the
  phase's window is rejected (it cannot be graded), as is an empty series.
* Plausible ranges: day 0–3650, ANC 0–100 ×10⁹/L (a count typed in cells/µL, e.g. 1500, is
  rejected, not misread); at most 10,000 values.
* A series that ends before day 30 gives a provisional early grade (warning): the
  early-onset rule reads the last value as the end of follow-up, which is only true after
  death or last follow-up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import field_validator

from neurocart.standards.inputs import CalcInput, Check, Columns, field
from neurocart.standards.reason import Items, Reason
from neurocart.standards.registry import Grading, calculate, register

CITATION = (
    "Rejeski K, Subklewe M, Aljurf M, et al. Immune effector cell-associated hematotoxicity: "
    "EHA/EBMT consensus grading and best practice recommendations. Blood 2023;142(10):865–877. "
    "doi:10.1182/blood.2023020578"
)

EARLY_FIRST_DAY = 0
EARLY_LAST_DAY = 30
EARLY_WINDOW_DAYS = EARLY_LAST_DAY - EARLY_FIRST_DAY + 1  # 31 days with day 0
LATE_FIRST_DAY = 31
LATE_LAST_DAY = 100

SEVERE_10E9_L = 0.5
"""Severe neutropenia: ANC ≤ 0.5 ×10⁹/L."""
PROFOUND_10E9_L = 0.1
"""Profound neutropenia: ANC ≤ 0.1 ×10⁹/L."""
STABLE_RECOVERY_DAYS = 3
"""A recovery above the threshold ends an episode only when it lasts ≥ 3 consecutive days."""
EARLY_ONSET_LAST_DAY = 3
"""An episode starting on day 0–3 that is still ongoing at the last ANC is grade 4."""
MAX_INTERPOLATED_GAP_DAYS = 7
"""At most 7 consecutive days without a value may be interpolated."""

SEVERE_DAY_BANDS: tuple[tuple[int, int], ...] = ((14, 3), (7, 2), (1, 1))
"""(minimum days ≤ 0.5, grade), highest first; all 31 days of the window is grade 4."""
PROFOUND_DAY_BANDS: tuple[tuple[int, int], ...] = ((14, 4), (7, 3))
"""(minimum days ≤ 0.1, grade), highest first."""

LATE_NADIR_BANDS: tuple[tuple[float, int], ...] = ((0.1, 4), (0.5, 3), (1.0, 2), (1.5, 1))
"""(nadir ANC at or below, grade), most severe first."""
LATE_CONFIRMATION_10E9_L = 1.5
"""The late nadir counts when a second value (another day) is ≤ 1.5 ×10⁹/L."""

MAX_STUDY_DAY = 3650
MAX_ANC_10E9_L = 100.0
MAX_SERIES_LENGTH = 10_000

Phase = Literal["early", "late"]
DurationMode = Literal["cumulative", "longest_episode"]


class AncValue(CalcInput):
    """One ANC measurement on a study day (day 0 = infusion)."""

    day: int = field(
        description="study day of the measurement (day 0 = infusion)",
        unit="day",
        ge=0,
        le=MAX_STUDY_DAY,
    )
    anc_10e9_l: float = field(
        description="absolute neutrophil count", unit="×10⁹/L", ge=0, le=MAX_ANC_10E9_L
    )


class IcahtInput(CalcInput):
    """An ANC series and how to grade it (early or late phase)."""

    anc_series: list[AncValue] = field(
        description=(
            'ANC time course: a list of {"day": int ≥ 0, "anc_10e9_l": float ×10⁹/L}, any '
            "order; several values on one day: the lowest counts"
        ),
    )
    phase: Phase = field("early", description="early ICAHT (days 0–30) or late ICAHT (days 31–100)")
    duration_mode: DurationMode = field(
        "cumulative",
        description=(
            "early phase: count the days of all episodes (cumulative, as the consensus "
            "authors describe) or of the longest episode only (as the automated "
            "implementation does)"
        ),
    )
    interpolate_gaps: bool = field(
        False,
        description=(
            "early phase, neurocart option: fill ≤ 7 consecutive days without a value by "
            "linear interpolation between the measured days around them"
        ),
    )

    @field_validator("anc_series")
    @classmethod
    def _series_size(cls, value: list[AncValue]) -> list[AncValue]:
        if not value:
            raise ValueError(NO_VALUE())
        if len(value) > MAX_SERIES_LENGTH:
            raise ValueError(TOO_MANY(n=MAX_SERIES_LENGTH))
        return value


def _window(phase: str) -> tuple[int, int]:
    if phase == "late":
        return LATE_FIRST_DAY, LATE_LAST_DAY
    return EARLY_FIRST_DAY, EARLY_LAST_DAY


def _nothing_in_window(c: Columns) -> bool:
    first, last = _window(str(c["phase"]))
    return not any(first <= item.day <= last for item in np.ravel(c["anc_series"]))


CHECKS = (
    Check(
        field="anc_series",
        message=(
            "needs at least one value inside the phase's window "
            f"(early: days {EARLY_FIRST_DAY}–{EARLY_LAST_DAY}, "
            f"late: days {LATE_FIRST_DAY}–{LATE_LAST_DAY})"
        ),
        violated=_nothing_in_window,
    ),
)


@dataclass(frozen=True)
class Episode:
    """Days first..last (inclusive) with ANC at or below a threshold, short recoveries joined."""

    first: int
    last: int

    @property
    def days(self) -> int:
        return self.last - self.first + 1

    def as_dict(self, threshold: float) -> dict[str, Any]:
        return {
            "threshold_10e9_l": threshold,
            "start_day": self.first,
            "end_day": self.last,
            "days": self.days,
        }


def _daily_lowest(series: Sequence[AncValue], first: int, last: int) -> dict[int, float]:
    daily: dict[int, float] = {}
    for item in series:
        if first <= item.day <= last:
            daily[item.day] = min(item.anc_10e9_l, daily.get(item.day, item.anc_10e9_l))
    return daily


def _outside_window_warning(series: Sequence[AncValue], phase: str) -> list[str]:
    first, last = _window(phase)
    before = sum(1 for item in series if item.day < first)
    after = sum(1 for item in series if item.day > last)
    out = []
    said = {"phase": phase, "first": first, "last": last}
    if before:
        out.append(BEFORE_WINDOW(n=before, **said))
    if after:
        out.append(AFTER_WINDOW(n=after, **said))
    return out


def _duplicate_days(series: Sequence[AncValue], first: int, last: int) -> list[int]:
    seen: dict[int, int] = {}
    for item in series:
        if first <= item.day <= last:
            seen[item.day] = seen.get(item.day, 0) + 1
    return sorted(day for day, n in seen.items() if n > 1)


def _interpolated(daily: Mapping[int, float]) -> dict[int, float]:
    """Values for runs of ≤ 7 days without a value between two measured days."""
    days = sorted(daily)
    filled: dict[int, float] = {}
    for a, b in pairwise(days):
        if 0 < b - a - 1 <= MAX_INTERPOLATED_GAP_DAYS:
            for day in range(a + 1, b):
                t = (day - a) / (b - a)
                # a·(1−t) + b·t: each term is monotone in its value, so lowering a measured
                # value never raises an interpolated one (not even by rounding).
                filled[day] = daily[a] * (1.0 - t) + daily[b] * t
    return filled


def _episodes(daily: Mapping[int, float], threshold: float) -> list[Episode]:
    """Episodes at or below `threshold`, joined across recoveries shorter than 3 days."""
    episodes: list[Episode] = []
    for day in sorted(d for d, v in daily.items() if v <= threshold):
        if episodes and day - episodes[-1].last - 1 < STABLE_RECOVERY_DAYS:
            episodes[-1] = Episode(episodes[-1].first, day)
        else:
            episodes.append(Episode(day, day))
    return episodes


NO_VALUE = Reason("at least one ANC value is needed")
TOO_MANY = Reason("at most {n} ANC values", numbers=("n",))
DAY = Reason("day {day}", numbers=("day",))
DAYS = Reason("days {first}–{last}", numbers=("first", "last"))
NONE = "none"
COUNTING = {"cumulative": "cumulative, all episodes", "longest_episode": "longest episode"}
NO_ANC = "no ANC"
ANC_ABOVE = Reason("ANC > {threshold}", numbers=("threshold",))
ANC_ABOVE_OR_NONE = Reason("ANC > {threshold} or no ANC", numbers=("threshold",))
SEVERAL = Reason(
    "several values on {days}: the lowest ANC of each day counted", lists={"days": Items(", ")}
)
INTERPOLATED = Reason(
    "linearly interpolated (≤ {gap} days without a value): {spans}",
    numbers=("gap",),
    lists={"spans": Items(", ")},
)
COUNTED = Reason(
    "ANC ≤ {threshold} ×10⁹/L: {days} day(s) counted ({counting}); episodes: {episodes}",
    numbers=("threshold", "days"),
    lists={"episodes": Items(", ")},
)
NO_STABLE_RECOVERY = Reason(
    "{span}: {what} for fewer than {n} days between neutropenic days — no stable recovery: "
    "counted within the episode",
    numbers=("n",),
)
STABLE_RECOVERY = Reason(
    "{span}: ANC > {threshold} on ≥ {n} consecutive days — stable recovery, the episodes are "
    "separate",
    numbers=("threshold", "n"),
)
_RULE_NUMBERS = ("grade", "threshold", "first", "last", "window", "days", "onset", "day")
THROUGHOUT = Reason(
    "grade {grade}: ANC ≤ {threshold} throughout days {first}–{last} ({window} days, no stable "
    "recovery): never above {threshold} ×10⁹/L",
    numbers=_RULE_NUMBERS,
)
FOR_DAYS = Reason(
    "grade {grade}: ANC ≤ {threshold} for {days} day(s) ({span} days)", numbers=_RULE_NUMBERS
)
ONGOING = Reason(
    "grade {grade}: episode of ANC ≤ {threshold} began on day {onset} (day {first}–{last}) and "
    "was still ongoing at the last available ANC (day {day})",
    numbers=_RULE_NUMBERS,
)
NEVER = Reason(
    "grade 0: ANC never ≤ {threshold} ×10⁹/L in days {first}–{last}", numbers=_RULE_NUMBERS
)
NADIR = Reason(
    "nadir ANC {nadir} ×10⁹/L on day {day} (days {first}–{last}, {n} day(s) with a value)",
    numbers=("nadir", "day", "first", "last", "n"),
)
LATE_ZERO = Reason("nadir {nadir} > {limit} ×10⁹/L: grade 0", numbers=("nadir", "limit"))
LATE_GRADE = Reason(
    "nadir {nadir} ≤ {limit} ×10⁹/L: grade {grade}", numbers=("nadir", "limit", "grade")
)
SINGLE = Reason("single available value graded as it is: {graded}")
CONFIRMED = Reason(
    "confirmed by a second value {value} ×10⁹/L on day {day} (≤ {limit}): {graded}",
    numbers=("value", "day", "limit"),
)
ISOLATED = Reason(
    "isolated dip: every other value is > {limit} ×10⁹/L (next lowest {value} on day {day}), "
    "transient neutropenia is not graded: grade 0",
    numbers=("limit", "value", "day"),
)
_WARNING_NUMBERS = ("n", "first", "last", "threshold", "gap", "day")
BEFORE_WINDOW = Reason(
    "{n} value(s) before day {first} ignored: {phase} ICAHT covers days {first}–{last}",
    numbers=_WARNING_NUMBERS,
    patterns={"phase": "early|late"},
)
AFTER_WINDOW = Reason(
    "{n} value(s) after day {last} ignored: {phase} ICAHT covers days {first}–{last}",
    numbers=_WARNING_NUMBERS,
    patterns={"phase": "early|late"},
)
GAP_UNKNOWN = Reason(
    "{span} (threshold {threshold}): no ANC on some of these days; not counted as neutropenic "
    "and treated as ending the episode — the grade may be underestimated (interpolate_gaps can "
    "fill ≤ {gap} days)",
    numbers=_WARNING_NUMBERS,
)
GAP_UNKNOWN_INTERPOLATED = Reason(
    "{span} (threshold {threshold}): no ANC on some of these days; not counted as neutropenic "
    "and treated as ending the episode — the grade may be underestimated",
    numbers=_WARNING_NUMBERS,
)
PROVISIONAL = Reason(
    "last ANC on day {day}, before day {last}: the early grade is final only if follow-up ended "
    "there (death or last follow-up); otherwise it is provisional",
    numbers=_WARNING_NUMBERS,
)
LATE_START = Reason(
    "first ANC on day {day}: earlier days are unknown and not counted", numbers=_WARNING_NUMBERS
)
EARLY_OPTIONS = Reason("duration_mode and interpolate_gaps apply to early ICAHT only: ignored")
SINGLE_LATE = Reason(
    "a single ANC value after day 30: graded as it is, not confirmed by a second value"
)
EARLY_LABEL = Reason("early ICAHT grade {grade}", numbers=("grade",))
LATE_LABEL = Reason("late ICAHT grade {grade}", numbers=("grade",))
WORDS = (NONE, NO_ANC, *COUNTING.values(), "early", "late")
"""The texts its reasons quote (the catalogues list them: `locale/sources.toml`)."""


def _span(first: int, last: int) -> str:
    return DAY(day=first) if first == last else DAYS(first=first, last=last)


def _spans(episodes: Sequence[Episode]) -> str:
    return ", ".join(_span(e.first, e.last) for e in episodes) or NONE


def _several(duplicates: Sequence[int]) -> str:
    return SEVERAL(days=", ".join(DAY(day=d) for d in duplicates))


def _runs(days: Sequence[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for day in sorted(days):
        if runs and day == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _counted(episodes: Sequence[Episode], mode: str) -> int:
    if not episodes:
        return 0
    if mode == "longest_episode":
        return max(e.days for e in episodes)
    return sum(e.days for e in episodes)


def _band(days: int, bands: tuple[tuple[int, int], ...]) -> int:
    return next((grade for minimum, grade in bands if days >= minimum), 0)


def _range_text(days: int, bands: tuple[tuple[int, int], ...], top: int | None) -> str:
    """The published day range that `days` fell in, e.g. '7–13' or '≥ 14'."""
    minimums = [minimum for minimum, _ in bands]
    for i, minimum in enumerate(minimums):
        if days >= minimum:
            upper = minimums[i - 1] - 1 if i > 0 else top
            return f"{minimum}–{upper}" if upper is not None else f"≥ {minimum}"
    return f"< {minimums[-1]}"


def _joined_gaps(
    episodes: Sequence[Episode], daily: Mapping[int, float], threshold: float
) -> list[tuple[int, int]]:
    """Runs of days inside episodes that were above the threshold or unmeasured."""
    inside = [
        day
        for e in episodes
        for day in range(e.first, e.last + 1)
        if day not in daily or daily[day] > threshold
    ]
    return _runs(inside)


def _separations(
    episodes: Sequence[Episode], daily: Mapping[int, float]
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Between consecutive episodes: stable recoveries (≥ 3 consecutive known days above the
    threshold) and stretches where missing values leave it unknown."""
    stable: list[tuple[int, int]] = []
    unknown: list[tuple[int, int]] = []
    for before, after in pairwise(episodes):
        gap = (before.last + 1, after.first - 1)
        known = _runs([day for day in range(gap[0], gap[1] + 1) if day in daily])
        if any(b - a + 1 >= STABLE_RECOVERY_DAYS for a, b in known):
            stable.append(gap)
        else:
            unknown.append(gap)
    return stable, unknown


def _early(inp: IcahtInput) -> Grading:
    series = inp.anc_series
    measured = _daily_lowest(series, EARLY_FIRST_DAY, EARLY_LAST_DAY)
    filled = _interpolated(measured) if inp.interpolate_gaps else {}
    daily = {**measured, **filled}
    mode = inp.duration_mode
    last_measured = max(measured)

    severe = _episodes(daily, SEVERE_10E9_L)
    profound = _episodes(daily, PROFOUND_10E9_L)
    severe_days = _counted(severe, mode)
    profound_days = _counted(profound, mode)
    counting = COUNTING[mode]

    reasons: list[str] = []
    warnings = _outside_window_warning(series, "early")
    duplicates = _duplicate_days(series, EARLY_FIRST_DAY, EARLY_LAST_DAY)
    if duplicates:
        reasons.append(_several(duplicates))
    if filled:
        spans = ", ".join(_span(a, b) for a, b in _runs(list(filled)))
        reasons.append(INTERPOLATED(gap=MAX_INTERPOLATED_GAP_DAYS, spans=spans))
    for threshold, days, episodes in (
        (SEVERE_10E9_L, severe_days, severe),
        (PROFOUND_10E9_L, profound_days, profound),
    ):
        reasons.append(
            COUNTED(threshold=threshold, days=days, counting=counting, episodes=_spans(episodes))
        )
    for threshold, episodes in ((SEVERE_10E9_L, severe), (PROFOUND_10E9_L, profound)):
        for a, b in _joined_gaps(episodes, daily, threshold):
            known = sum(1 for day in range(a, b + 1) if day in daily)
            what = (
                ANC_ABOVE(threshold=threshold)
                if known == b - a + 1
                else NO_ANC
                if known == 0
                else ANC_ABOVE_OR_NONE(threshold=threshold)
            )
            reasons.append(NO_STABLE_RECOVERY(span=_span(a, b), what=what, n=STABLE_RECOVERY_DAYS))
        stable, unknown = _separations(episodes, daily)
        for a, b in stable:
            reasons.append(
                STABLE_RECOVERY(span=_span(a, b), threshold=threshold, n=STABLE_RECOVERY_DAYS)
            )
        for a, b in unknown:
            unknown_gap = GAP_UNKNOWN_INTERPOLATED if inp.interpolate_gaps else GAP_UNKNOWN
            warnings.append(
                unknown_gap(span=_span(a, b), threshold=threshold, gap=MAX_INTERPOLATED_GAP_DAYS)
            )

    rules: list[tuple[int, Reason, dict[str, object]]] = []
    if severe_days >= EARLY_WINDOW_DAYS:
        rules.append(
            (
                4,
                THROUGHOUT,
                {
                    "threshold": SEVERE_10E9_L,
                    "first": EARLY_FIRST_DAY,
                    "last": EARLY_LAST_DAY,
                    "window": EARLY_WINDOW_DAYS,
                },
            )
        )
    elif severe_days:
        grade = _band(severe_days, SEVERE_DAY_BANDS)
        span = _range_text(severe_days, SEVERE_DAY_BANDS, EARLY_WINDOW_DAYS - 1)
        rules.append(
            (grade, FOR_DAYS, {"threshold": SEVERE_10E9_L, "days": severe_days, "span": span})
        )
    if profound_days >= PROFOUND_DAY_BANDS[-1][0]:
        grade = _band(profound_days, PROFOUND_DAY_BANDS)
        span = _range_text(profound_days, PROFOUND_DAY_BANDS, None)
        rules.append(
            (grade, FOR_DAYS, {"threshold": PROFOUND_10E9_L, "days": profound_days, "span": span})
        )
    if severe and severe[-1].last == last_measured and severe[-1].first <= EARLY_ONSET_LAST_DAY:
        rules.append(
            (
                4,
                ONGOING,
                {
                    "threshold": SEVERE_10E9_L,
                    "onset": severe[-1].first,
                    "first": EARLY_FIRST_DAY,
                    "last": EARLY_ONSET_LAST_DAY,
                    "day": last_measured,
                },
            )
        )
    value = max((grade for grade, _, _ in rules), default=0)
    if value == 0:
        reasons.append(NEVER(threshold=SEVERE_10E9_L, first=EARLY_FIRST_DAY, last=EARLY_LAST_DAY))
    reasons.extend(
        template(grade=grade, **params) for grade, template, params in rules if grade == value > 0
    )

    if last_measured < EARLY_LAST_DAY:
        warnings.append(PROVISIONAL(day=last_measured, last=EARLY_LAST_DAY))
    if measured and min(measured) > EARLY_FIRST_DAY:
        warnings.append(LATE_START(day=min(measured)))

    return Grading(
        value=value,
        label=EARLY_LABEL(grade=value),
        reasons=reasons,
        warnings=warnings,
        details={
            "phase": "early",
            "duration_mode": mode,
            "days_anc_le_0_5": severe_days,
            "days_anc_le_0_1": profound_days,
            "episodes": [e.as_dict(SEVERE_10E9_L) for e in severe]
            + [e.as_dict(PROFOUND_10E9_L) for e in profound],
            "interpolated_days": sorted(filled),
            "last_anc_day": last_measured,
        },
    )


def _cumulative_days(low: npt.NDArray[np.bool_]) -> tuple[npt.NDArray[np.int64], Any]:
    """Days counted per series (rows) and the first day of each series' last episode.

    `low[s, d]`: the lowest ANC of day `d` of series `s` is at or below the threshold. Two
    neutropenic days with fewer than `STABLE_RECOVERY_DAYS` days between them are one episode
    (`_episodes`), so a day is inside an episode when it is neutropenic or when the neutropenic
    days just before and just after it are at most that many days apart; episodes are
    separated by at least that many days outside, so each is one run of inside days.
    """
    days = np.arange(low.shape[1])
    before = np.maximum.accumulate(np.where(low, days, -(10**6)), axis=1)
    after = np.minimum.accumulate(np.where(low, days, 10**6)[:, ::-1], axis=1)[:, ::-1]
    inside = low | (after - before <= STABLE_RECOVERY_DAYS)
    starts = inside & ~np.pad(inside, ((0, 0), (1, 0)))[:, :-1]
    last_start = np.where(starts, days, -1).max(axis=1)
    return inside.sum(axis=1).astype(np.int64), last_start


def _bands(days: npt.NDArray[np.int64], bands: tuple[tuple[int, int], ...]) -> Any:
    grade = np.zeros(len(days), dtype=np.int64)
    for minimum, g in reversed(bands):  # lowest band first: the higher ones overwrite it
        grade[days >= minimum] = g
    return grade


def early_grades(
    series: npt.NDArray[np.intp], day: npt.NDArray[np.int64], anc: npt.NDArray[np.float64]
) -> npt.NDArray[np.int64]:
    """The early ICAHT grade of many ANC series at once, as `calculate("icaht", ...)` gives it
    with the default options (cumulative days, no interpolation) for each series.

    Row i is the ANC `anc[i]` (×10⁹/L) of series `series[i]` (0 … n−1, each present) on study
    day `day[i]`, every day within 0–30. A cohort grades 10,000 patients in milliseconds
    instead of seconds; a series the scalar calculator would refuse is refused the same way
    (it is graded by it, which raises).
    """
    n = int(series.max()) + 1 if len(series) else 0
    bad = (day < EARLY_FIRST_DAY) | (day > EARLY_LAST_DAY) | ~(anc >= 0) | ~(anc <= MAX_ANC_10E9_L)
    bad |= (np.bincount(series, minlength=n) > MAX_SERIES_LENGTH)[series]
    if bad.any():
        s = series[np.argmax(bad)]
        given = [
            {"day": int(day[i]), "anc_10e9_l": float(anc[i])} for i in np.flatnonzero(series == s)
        ]
        calculate("icaht", {"anc_series": given, "phase": "early"})  # raises, naming the field
        raise ValueError(f"series {s}: a day outside 0–30 or an ANC outside 0–100 ×10⁹/L")
    lowest = np.full((n, EARLY_WINDOW_DAYS), np.inf)
    np.minimum.at(lowest, (series, day - EARLY_FIRST_DAY), anc)
    measured = np.isfinite(lowest)
    last_measured = np.where(measured, np.arange(EARLY_WINDOW_DAYS), -1).max(axis=1)
    severe_days, last_start = _cumulative_days(lowest <= SEVERE_10E9_L)
    profound_days, _ = _cumulative_days(lowest <= PROFOUND_10E9_L)
    last_low = np.where(lowest <= SEVERE_10E9_L, np.arange(EARLY_WINDOW_DAYS), -1).max(axis=1)
    grade = np.where(severe_days >= EARLY_WINDOW_DAYS, 4, _bands(severe_days, SEVERE_DAY_BANDS))
    grade = np.maximum(grade, _bands(profound_days, PROFOUND_DAY_BANDS))
    ongoing = (last_low >= 0) & (last_low == last_measured) & (last_start <= EARLY_ONSET_LAST_DAY)
    return np.where(ongoing, 4, grade).astype(np.int64)


def _late_grade(anc: float) -> int:
    return next((grade for limit, grade in LATE_NADIR_BANDS if anc <= limit), 0)


def _late(inp: IcahtInput) -> Grading:
    series = inp.anc_series
    daily = _daily_lowest(series, LATE_FIRST_DAY, LATE_LAST_DAY)
    ordered = sorted(daily.items(), key=lambda kv: (kv[1], kv[0]))
    nadir_day, nadir = ordered[0]
    second = ordered[1] if len(ordered) > 1 else None

    reasons: list[str] = []
    warnings = _outside_window_warning(series, "late")
    if inp.duration_mode != "cumulative" or inp.interpolate_gaps:
        warnings.append(EARLY_OPTIONS())
    duplicates = _duplicate_days(series, LATE_FIRST_DAY, LATE_LAST_DAY)
    if duplicates:
        reasons.append(_several(duplicates))
    nadir_grade = _late_grade(nadir)
    reasons.append(
        NADIR(
            nadir=f"{nadir:g}", day=nadir_day, first=LATE_FIRST_DAY, last=LATE_LAST_DAY,
            n=len(daily),
        )
    )  # fmt: skip
    if second is None:
        value = nadir_grade
        if nadir_grade:
            warnings.append(SINGLE_LATE())
        reasons.append(SINGLE(graded=_late_text(nadir, value)))
    elif second[1] <= LATE_CONFIRMATION_10E9_L:
        value = nadir_grade
        reasons.append(
            CONFIRMED(
                value=f"{second[1]:g}", day=second[0], limit=LATE_CONFIRMATION_10E9_L,
                graded=_late_text(nadir, value),
            )
        )  # fmt: skip
    else:
        value = 0
        reasons.append(
            ISOLATED(limit=LATE_CONFIRMATION_10E9_L, value=f"{second[1]:g}", day=second[0])
        )
    return Grading(
        value=value,
        label=LATE_LABEL(grade=value),
        reasons=reasons,
        warnings=warnings,
        details={
            "phase": "late",
            "nadir_anc_10e9_l": nadir,
            "nadir_day": nadir_day,
            "confirming_anc_10e9_l": None if second is None else second[1],
            "confirming_day": None if second is None else second[0],
            "confirmed": second is not None and second[1] <= LATE_CONFIRMATION_10E9_L,
        },
    )


def _late_text(nadir: float, grade: int) -> str:
    if grade == 0:
        return LATE_ZERO(nadir=f"{nadir:g}", limit=LATE_NADIR_BANDS[-1][0])
    limit = next(limit for limit, g in LATE_NADIR_BANDS if g == grade)
    return LATE_GRADE(nadir=f"{nadir:g}", limit=limit, grade=grade)


@register(
    name="icaht",
    title="ICAHT — immune effector cell-associated hematotoxicity (EHA/EBMT 2023)",
    citation=CITATION,
    input_model=IcahtInput,
    checks=CHECKS,
)
def icaht(inp: IcahtInput) -> Grading:
    """Early (days 0–30) or late (days 31–100) ICAHT grade from an ANC series."""
    return _late(inp) if inp.phase == "late" else _early(inp)
