"""EDSS: Kurtzke Expanded Disability Status Scale, scored by the Neurostatus conventions.

Sources
    Kurtzke JF. Rating neurologic impairment in multiple sclerosis: an expanded disability
    status scale (EDSS). Neurology 1983;33(11):1444–1452. doi:10.1212/wnl.33.11.1444
    (the step definitions).
    Kappos L. Neurostatus-eEDSS: scoring definitions 04/10.2 and scoring table 04/10.3,
    University Hospital Basel, https://www.neurostatus.net (the visual conversion, the
    ambulation score 0–16 and the FS-combination table).

How the step is found
    1. Conversions before combining the functional systems (FS):
       visual 0–6 → 0, 1, 2, 2, 3, 3, 4 (Neurostatus definitions);
       bowel/bladder 0–6 → 0, 1, 2, 3, 3, 4, 5 (Neurostatus table as transcribed by the open
       calculators; not seen on a Neurostatus page);
       cerebral grade 1 → 0 (Kurtzke 1983: step 0 allows cerebral grade 1, steps 1.0/1.5 count
       grade-1 signs "excluding cerebral grade 1"). Only steps 0/1.0/1.5 can change by it.
    2. FS step: with `top` the highest converted grade and n_k the number of FS at grade k, the
       first rule of `FS_RULES` (F1–F22, Kurtzke's steps 1.0–5.0) that fires. FS alone never give
       more than 5.0.
    3. Ambulation step: the first row of `AMBULATION_ROWS` (Neurostatus ambulation score 0–16
       mapped onto `walking_range_m`, `assistance` and `walking_restricted`). Unrestricted
       walking (≥ 500 m without aid or rest) leaves the step to the FS.
    4. EDSS = max(FS step, ambulation step); death due to MS is the ambulation row 10
       (Neurostatus ambulation score 16), so it always gives 10.

Choices neurocart made where the sources are silent, ambiguous or disagree
    * F3–F5 (one FS at grade 4 plus grade 2/3 FS) follow the Kappos-table transcription of
      the open JavaScript calculator adobrasinovic/edss; the R package EDSScalculator gives
      4.0 for "one 4 + grade 2" and 4.5 for "one 4 + three or four grade 3". The Neurostatus
      table 04/10.3 itself was not available.
    * Cerebral grade 1 is ignored (Kurtzke); the JS calculator counts it.
    * `walking_restricted` (walks ≥ 500 m but is limited compared with healthy peers,
      Neurostatus ambulation score 1) sets a floor of 2.0.
    * `walking_range_m` is the distance walked without rest with the stated aid.
    * Any aid with < 5 m → 7.0 (Kurtzke 7.0: "unable to walk beyond approximately 5 m even
      with aid"); the Neurostatus unilateral row "< 50 m" has no lower bound.
    * `walking_range_m` omitted with assistance "none" is read as unrestricted walking, with a
      warning: the EDSS then rests on the FS alone.
    * Errors (nothing is graded): an FS grade outside its range, a negative or implausible
      walking range (> 100 km), a unilateral/bilateral aid without a walking range (it decides
      6.0 vs 6.5), a bed/chair-bound patient walking ≥ 5 m, a helpless bed patient
      (bed_communicates, bed_helpless) with any walking range > 0.
    * Warnings (graded, labelled "neurocart check:", they are not Neurostatus rules): FS that
      make walking impossible (pyramidal ≥ 5 or cerebellar 5) with unaided walking; a
      walking limitation (step ≥ 4.5) with pyramidal, cerebellar and sensory all ≤ 1; an FS
      step ≥ 4.5 with unrestricted walking (allowed by Neurostatus); any aid with < 5 m; < 5 m
      unaided; a wheelchair with a walking range ≥ 5 m (the step follows `assistance`);
      `walking_restricted` where the range or the aid already decides; the walking range not
      given.
    * Non-MS deficits are not scored (Neurostatus): the FS grades must reflect MS only.
    * Kurtzke's eighth FS ("other") is not an input: Neurostatus dropped it from the step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from neurocart.standards.inputs import CalcInput, Check, Columns, as_columns, field
from neurocart.standards.reason import Items, Reason
from neurocart.standards.registry import Grading, register

CITATION = (
    "Kurtzke JF. Rating neurologic impairment in multiple sclerosis: an expanded disability "
    "status scale (EDSS). Neurology 1983;33(11):1444–1452. doi:10.1212/wnl.33.11.1444; "
    "Kappos L. Neurostatus-eEDSS scoring definitions 04/10.2, scoring table 04/10.3 "
    "(neurostatus.net)"
)

CHECK = "neurocart check: "
"""Prefix of every warning: these are neurocart's consistency checks, not Neurostatus rules."""

Assistance = Literal[
    "none",
    "unilateral",
    "bilateral",
    "wheelchair_self",
    "wheelchair_assisted",
    "bed_chair_arms",
    "bed_chair_no_arms",
    "bed_communicates",
    "bed_helpless",
]

FS_NAMES: tuple[str, ...] = (
    "visual",
    "brainstem",
    "pyramidal",
    "cerebellar",
    "sensory",
    "bowel_bladder",
    "cerebral",
)
FS_MAX: dict[str, int] = {
    "visual": 6,
    "brainstem": 5,
    "pyramidal": 6,
    "cerebellar": 5,
    "sensory": 6,
    "bowel_bladder": 6,
    "cerebral": 5,
}

# Raw FS grade (index) → grade used for the step. Identity for the FS not listed.
CONVERSIONS: dict[str, tuple[tuple[int, ...], str]] = {
    "visual": ((0, 1, 2, 2, 3, 3, 4), "Neurostatus visual conversion"),
    "bowel_bladder": ((0, 1, 2, 3, 3, 4, 5), "Neurostatus bowel/bladder conversion"),
    "cerebral": (
        (0, 0, 2, 3, 4, 5),
        "Kurtzke 1983: step 0 allows cerebral grade 1, steps 1.0/1.5 exclude it",
    ),
}

# Walking thresholds (metres; each is the inclusive lower bound of its band).
UNRESTRICTED_M = 500.0
UNAIDED_300_M = 300.0
UNAIDED_200_M = 200.0
UNAIDED_100_M = 100.0
UNILATERAL_M = 50.0
BILATERAL_M = 120.0
AIDED_MIN_M = 5.0
MAX_WALKING_M = 100_000.0

FULLY_AMBULATORY_FLOOR = 2.0
DEATH_STEP = 10.0
STEPS: tuple[float, ...] = (0.0, *(x / 2 for x in range(2, 21)))
"""Every valid EDSS value: 0, 1.0, 1.5, …, 9.5, 10 (there is no 0.5)."""

_AIDS = ("unilateral", "bilateral")
_WHEELCHAIR = ("wheelchair_self", "wheelchair_assisted")
_BED_CHAIR = ("bed_chair_arms", "bed_chair_no_arms")
_BED_HELPLESS = ("bed_communicates", "bed_helpless")

Bools = npt.NDArray[np.bool_]
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


def _fs_field(name: str, meaning: str) -> Any:
    return field(
        description=f"{meaning} FS grade (Neurostatus)",
        ge=0,
        le=FS_MAX[name],
    )


class EdssInput(CalcInput):
    """The seven functional system grades and the ambulation findings of one Neurostatus
    examination."""

    visual: int = _fs_field("visual", "visual (optic)")
    brainstem: int = _fs_field("brainstem", "brainstem")
    pyramidal: int = _fs_field("pyramidal", "pyramidal")
    cerebellar: int = _fs_field("cerebellar", "cerebellar (an 'X' suffix is scored as the number)")
    sensory: int = _fs_field("sensory", "sensory")
    bowel_bladder: int = _fs_field("bowel_bladder", "bowel and bladder")
    cerebral: int = _fs_field("cerebral", "cerebral (mental)")
    walking_range_m: float | None = field(
        None,
        description=(
            "distance walked without rest: unaided when assistance is none, with that aid "
            "otherwise; omit when not walking"
        ),
        unit="m",
        ge=0,
        le=MAX_WALKING_M,
    )
    walking_restricted: bool = field(
        False,
        description=(
            "walks ≥ 500 m but is limited compared with healthy peers (Neurostatus "
            "ambulation score 1: EDSS at least 2.0)"
        ),
    )
    assistance: Assistance = field(
        "none",
        description=(
            "walking aid or mobility: none, unilateral (cane, crutch), bilateral, wheelchair "
            "without or with help, restricted to bed/chair with or without effective arm use, "
            "helpless in bed (communicates and eats / cannot)"
        ),
    )
    died_of_ms: bool = field(False, description="death due to MS (EDSS 10)")


# ---------------------------------------------------------------------------------------------
# FS combination (shared by the scalar and the vectorized path)


@dataclass(frozen=True)
class FsProfile:
    """Counts of converted FS grades; arrays (0-d for one input, 1-d for a frame)."""

    top: Ints
    n1: Ints
    n2: Ints
    n3: Ints
    n4: Ints


@dataclass(frozen=True)
class FsRule:
    """One FS-combination rule (F1–F22): the EDSS step it gives, its wording for `reasons`, and its
    test on the FS counts."""

    rule: str
    step: float
    text: str
    fires: Callable[[FsProfile], Bools]


FS_RULES: tuple[FsRule, ...] = (
    FsRule("F1", 5.0, "an FS at grade ≥ 5", lambda p: p.top >= 5),
    FsRule("F2", 5.0, "two or more FS at grade 4", lambda p: p.n4 >= 2),
    FsRule(
        "F3",
        5.0,
        "one FS at grade 4 with three or more at grade 3",
        lambda p: (p.n4 == 1) & (p.n3 >= 3),
    ),
    FsRule(
        "F4",
        4.5,
        "one FS at grade 4 with one or two at grade 3",
        lambda p: (p.n4 == 1) & (p.n3 >= 1),
    ),
    FsRule(
        "F5",
        4.5,
        "one FS at grade 4 with one or more at grade 2, none at grade 3",
        lambda p: (p.n4 == 1) & (p.n2 >= 1),
    ),
    FsRule("F6", 4.0, "one FS at grade 4, the others ≤ 1", lambda p: p.n4 == 1),
    FsRule("F7", 5.0, "six or more FS at grade 3", lambda p: (p.top == 3) & (p.n3 >= 6)),
    FsRule("F8", 4.5, "five FS at grade 3", lambda p: (p.top == 3) & (p.n3 == 5)),
    FsRule("F9", 4.0, "three or four FS at grade 3", lambda p: (p.top == 3) & (p.n3 >= 3)),
    FsRule(
        "F10",
        4.0,
        "two FS at grade 3 with one or more at grade 2",
        lambda p: (p.top == 3) & (p.n3 == 2) & (p.n2 >= 1),
    ),
    FsRule(
        "F11",
        3.5,
        "two FS at grade 3, the others ≤ 1",
        lambda p: (p.top == 3) & (p.n3 == 2),
    ),
    FsRule(
        "F12",
        4.0,
        "one FS at grade 3 with three or more at grade 2",
        lambda p: (p.top == 3) & (p.n2 >= 3),
    ),
    FsRule(
        "F13",
        3.5,
        "one FS at grade 3 with one or two at grade 2",
        lambda p: (p.top == 3) & (p.n2 >= 1),
    ),
    FsRule("F14", 3.0, "one FS at grade 3, the others ≤ 1", lambda p: p.top == 3),
    FsRule("F15", 4.0, "six or more FS at grade 2", lambda p: (p.top == 2) & (p.n2 >= 6)),
    FsRule("F16", 3.5, "five FS at grade 2", lambda p: (p.top == 2) & (p.n2 == 5)),
    FsRule("F17", 3.0, "three or four FS at grade 2", lambda p: (p.top == 2) & (p.n2 >= 3)),
    FsRule("F18", 2.5, "two FS at grade 2", lambda p: (p.top == 2) & (p.n2 == 2)),
    FsRule("F19", 2.0, "one FS at grade 2", lambda p: p.top == 2),
    FsRule(
        "F20",
        1.5,
        "two or more FS at grade 1 (minimal signs)",
        lambda p: (p.top == 1) & (p.n1 >= 2),
    ),
    FsRule("F21", 1.0, "one FS at grade 1 (minimal signs)", lambda p: p.top == 1),
    FsRule("F22", 0.0, "all FS normal", lambda p: p.top == 0),
)
"""Evaluated top to bottom; the first rule that fires gives the FS step."""

_FS_STEPS = np.array([r.step for r in FS_RULES], dtype=np.float64)


def converted_grades(c: Columns) -> dict[str, Ints]:
    """The FS grades used for the step: visual, bowel/bladder and cerebral converted."""
    out: dict[str, Ints] = {}
    for name in FS_NAMES:
        raw = np.asarray(c[name]).astype(np.int64)
        table = CONVERSIONS.get(name)
        out[name] = np.asarray(table[0], dtype=np.int64)[raw] if table else raw
    return out


def fs_profile(grades: Mapping[str, Ints]) -> FsProfile:
    """Count the converted FS grades (highest, and how many at 1–4), the only facts the FS rules
    read."""
    stacked = np.stack([grades[name] for name in FS_NAMES])
    return FsProfile(
        top=stacked.max(axis=0),
        n1=(stacked == 1).sum(axis=0),
        n2=(stacked == 2).sum(axis=0),
        n3=(stacked == 3).sum(axis=0),
        n4=(stacked == 4).sum(axis=0),
    )


def _first(fired: list[Bools], what: str) -> Ints:
    """Index of the first true condition in each row."""
    matrix = np.stack([np.asarray(f, dtype=bool) for f in fired])
    if not matrix.any(axis=0).all():
        raise RuntimeError(f"EDSS: no {what} matched (a validated input should always match)")
    return np.asarray(matrix.argmax(axis=0), dtype=np.int64)


def fs_rule_index(profile: FsProfile) -> Ints:
    """Index into FS_RULES of the first rule that fires, per row; its step is the FS part of the
    EDSS."""
    return _first([r.fires(profile) for r in FS_RULES], "FS rule")


# ---------------------------------------------------------------------------------------------
# Ambulation (shared by the scalar and the vectorized path)


@dataclass(frozen=True)
class AmbulationRow:
    """One row of the ambulation table: the EDSS step it sets, its wording, and when it applies
    (walking range and aid)."""

    row: str
    step: float
    text: Reason
    """Clinician's words; `{m}` is the walking range."""
    applies: Callable[[Columns], Bools]
    neurostatus_score: int | None = None


def _is(c: Columns, *choices: str) -> Bools:
    out = np.zeros(np.shape(c["assistance"]), dtype=bool)
    for choice in choices:
        out = out | (c["assistance"] == choice)
    return out


def _m(c: Columns) -> Floats:
    return np.asarray(c["walking_range_m"], dtype=np.float64)


def _unaided(c: Columns) -> Bools:
    return _is(c, "none")


AMBULATION_ROWS: tuple[AmbulationRow, ...] = (
    AmbulationRow(
        "died_of_ms",
        DEATH_STEP,
        Reason(
            "death due to MS",
        ),
        lambda c: np.asarray(c["died_of_ms"], dtype=bool),
        16,
    ),
    AmbulationRow(
        "bed_helpless",
        9.5,
        Reason(
            "totally helpless bed patient; cannot communicate effectively or eat/swallow",
        ),
        lambda c: _is(c, "bed_helpless"),
        15,
    ),
    AmbulationRow(
        "bed_communicates",
        9.0,
        Reason(
            "helpless bed patient; can communicate and eat",
        ),
        lambda c: _is(c, "bed_communicates"),
        14,
    ),
    AmbulationRow(
        "bed_chair_no_arms",
        8.5,
        Reason(
            "essentially restricted to bed much of the day; some effective use of arm(s); "
            "some self-care",
        ),
        lambda c: _is(c, "bed_chair_no_arms"),
        13,
    ),
    AmbulationRow(
        "bed_chair_arms",
        8.0,
        Reason(
            "essentially restricted to bed or chair or pushed in a wheelchair, out of bed most of "
            "the day; many self-care functions; effective use of arms",
        ),
        lambda c: _is(c, "bed_chair_arms"),
        12,
    ),
    AmbulationRow(
        "wheelchair_assisted",
        7.5,
        Reason(
            "wheelchair with help: cannot take more than a few steps; may need help to transfer",
        ),
        lambda c: _is(c, "wheelchair_assisted"),
        11,
    ),
    AmbulationRow(
        "wheelchair_self",
        7.0,
        Reason(
            "wheelchair without help: cannot walk 5 m even with aid; wheels self and transfers "
            "alone",
        ),
        lambda c: _is(c, "wheelchair_self"),
        10,
    ),
    AmbulationRow(
        "aid_lt_5",
        7.0,
        Reason(
            "walks {m} m with aid (< 5 m): cannot walk 5 m even with aid (Kurtzke 7.0; "
            "neurocart convention)",
            numbers=("m",),
        ),
        lambda c: _is(c, *_AIDS) & (_m(c) < AIDED_MIN_M),
    ),
    AmbulationRow(
        "unilateral_ge_50",
        6.0,
        Reason(
            "walks {m} m with unilateral assistance (≥ 50 m)",
            numbers=("m",),
        ),
        lambda c: _is(c, "unilateral") & (_m(c) >= UNILATERAL_M),
        6,
    ),
    AmbulationRow(
        "unilateral_lt_50",
        6.5,
        Reason(
            "walks {m} m with unilateral assistance (< 50 m)",
            numbers=("m",),
        ),
        lambda c: _is(c, "unilateral") & (_m(c) >= AIDED_MIN_M),
        8,
    ),
    AmbulationRow(
        "bilateral_ge_120",
        6.0,
        Reason(
            "walks {m} m with bilateral assistance (≥ 120 m)",
            numbers=("m",),
        ),
        lambda c: _is(c, "bilateral") & (_m(c) >= BILATERAL_M),
        7,
    ),
    AmbulationRow(
        "bilateral_5_120",
        6.5,
        Reason(
            "walks {m} m with bilateral assistance (≥ 5 m and < 120 m)",
            numbers=("m",),
        ),
        lambda c: _is(c, "bilateral") & (_m(c) >= AIDED_MIN_M),
        9,
    ),
    AmbulationRow(
        "restricted_ge_500",
        FULLY_AMBULATORY_FLOOR,
        Reason(
            "walks {m} m without aid or rest (≥ 500 m) but is restricted compared with healthy "
            "peers: fully ambulatory, EDSS at least 2.0",
            numbers=("m",),
        ),
        lambda c: _unaided(c) & (_m(c) >= UNRESTRICTED_M) & c["walking_restricted"],
        1,
    ),
    AmbulationRow(
        "unrestricted",
        0.0,
        Reason(
            "walks {m} m without aid or rest (≥ 500 m): unrestricted, the FS decide",
            numbers=("m",),
        ),
        lambda c: _unaided(c) & (_m(c) >= UNRESTRICTED_M),
        0,
    ),
    AmbulationRow(
        "unaided_300_500",
        4.5,
        Reason(
            "walks {m} m without aid or rest (≥ 300 m and < 500 m)",
            numbers=("m",),
        ),
        lambda c: _unaided(c) & (_m(c) >= UNAIDED_300_M),
        2,
    ),
    AmbulationRow(
        "unaided_200_300",
        5.0,
        Reason(
            "walks {m} m without aid or rest (≥ 200 m and < 300 m)",
            numbers=("m",),
        ),
        lambda c: _unaided(c) & (_m(c) >= UNAIDED_200_M),
        3,
    ),
    AmbulationRow(
        "unaided_100_200",
        5.5,
        Reason(
            "walks {m} m without aid or rest (≥ 100 m and < 200 m)",
            numbers=("m",),
        ),
        lambda c: _unaided(c) & (_m(c) >= UNAIDED_100_M),
        4,
    ),
    AmbulationRow(
        "unaided_lt_100",
        6.0,
        Reason(
            "walks {m} m without aid (< 100 m)",
            numbers=("m",),
        ),
        lambda c: _unaided(c) & (_m(c) >= 0),
        5,
    ),
    AmbulationRow(
        "not_given_restricted",
        FULLY_AMBULATORY_FLOOR,
        Reason(
            "walking range not given, no aid, walking restricted compared with healthy peers: "
            "fully ambulatory, EDSS at least 2.0",
        ),
        lambda c: _unaided(c) & np.isnan(_m(c)) & c["walking_restricted"],
        1,
    ),
    AmbulationRow(
        "not_given",
        0.0,
        Reason(
            "walking range not given, no aid: read as unrestricted, the FS decide",
        ),
        lambda c: _unaided(c) & np.isnan(_m(c)),
        0,
    ),
)
"""Evaluated top to bottom; the first row that applies gives the ambulation step."""

_AMBULATION_STEPS = np.array([r.step for r in AMBULATION_ROWS], dtype=np.float64)
_WALKING_FREE = {"restricted_ge_500", "unrestricted", "not_given_restricted", "not_given"}
"""Rows where walking is not limited: the FS decide (at least 2.0 when restricted)."""


def ambulation_row_index(c: Columns) -> Ints:
    """Index into AMBULATION_ROWS of the first row that applies, per row; its step is the ambulation
    part of the EDSS."""
    # fixed-width text compares in C; the validated object array would compare per element
    fast = {**c, "assistance": np.asarray(c["assistance"], dtype=str)}
    return _first([r.applies(fast) for r in AMBULATION_ROWS], "ambulation row")


def combine(fs_step: Floats, ambulation_step: Floats) -> Floats:
    """EDSS = the higher of the FS and ambulation steps (death due to MS is the row 10)."""
    return np.maximum(fs_step, ambulation_step)


def _step_text(value: float) -> str:
    return f"{value:g}" if value in (0.0, 10.0) else f"{value:.1f}"


_LABELS = np.array(["" for _ in range(21)], dtype=object)
"""Label by half-step index (value × 2); index 1 (0.5) is not an EDSS step."""
for _step in STEPS:
    _LABELS[round(_step * 2)] = f"EDSS {_step_text(_step)}"


def labels(values: Floats) -> npt.NDArray[Any]:
    """ "EDSS 3.5"-style labels for an array of EDSS values (vectorized path)."""
    return np.asarray(_LABELS[np.rint(np.asarray(values) * 2).astype(np.int64)], dtype=object)


def _edss_frame(c: Columns) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    fs_step = _FS_STEPS[fs_rule_index(fs_profile(converted_grades(c)))]
    ambulation_step = _AMBULATION_STEPS[ambulation_row_index(c)]
    values = combine(fs_step, ambulation_step)
    return values, labels(values)


# ---------------------------------------------------------------------------------------------
# Cross-field errors


CHECKS: tuple[Check, ...] = (
    Check(
        field="walking_range_m",
        message=(
            "required when assistance is unilateral or bilateral: the distance walked with that "
            "aid decides between EDSS 6.0 and 6.5"
        ),
        violated=lambda c: _is(c, *_AIDS) & np.isnan(c["walking_range_m"]) & ~c["died_of_ms"],
    ),
    Check(
        field="walking_range_m",
        message=(
            "must be omitted or below 5 m when assistance is bed_chair_arms or "
            "bed_chair_no_arms: a patient restricted to bed or chair cannot walk 5 m; if the "
            "patient walks, give the walking aid as assistance"
        ),
        violated=lambda c: _is(c, *_BED_CHAIR) & (c["walking_range_m"] >= AIDED_MIN_M),
    ),
    Check(
        field="walking_range_m",
        message=(
            "must be omitted or 0 when assistance is bed_communicates or bed_helpless: a "
            "helpless bed patient does not walk"
        ),
        violated=lambda c: _is(c, *_BED_HELPLESS) & (c["walking_range_m"] > 0),
    ),
)


# ---------------------------------------------------------------------------------------------
# The scalar path: the same tables, plus the explanation


def _fmt_m(m: float) -> str:
    return f"{m:g}"


def _fs_word(name: str) -> str:
    return name.replace("_", "/")


CONVERTED = Reason(
    "{fs} FS {raw} counted as {used} for the step ({source})", numbers=("raw", "used")
)
GRADE_GROUP = Reason(
    "grade {grade}: {names}", numbers=("grade",), lists={"names": Items(", ")}, registered=False
)
"""One grade of the FS profile and the systems at it ("grade 2: visual, sensory")."""
FS_STEP = Reason(
    "FS step {step} (rule {rule}: {text}) [grades counted — {profile}]",
    numbers=("step",),
    patterns={"rule": r"F\d+"},
    lists={"profile": Items("; ", GRADE_GROUP)},
)
ALL_ZERO = "all 0"
AMBULATION_STEP = Reason(
    "ambulation: {row} (Neurostatus ambulation score {score}) → step {step}",
    numbers=("score", "step"),
)
AMBULATION_AT_LEAST = Reason(
    "ambulation: {row} (Neurostatus ambulation score {score}) → at least {step}",
    numbers=("score", "step"),
)
AMBULATION_FREE = Reason(
    "ambulation: {row} (Neurostatus ambulation score {score})", numbers=("score",)
)
AMBULATION_STEP_ONLY = Reason("ambulation: {row} → step {step}", numbers=("step",))
DEATH = Reason(
    "death due to MS (Neurostatus ambulation score 16): EDSS 10; the FS grades and the walking "
    "inputs are not used"
)
TOTAL = Reason(
    "EDSS {value} = max(FS step {fs}, ambulation step {ambulation}): {decided}",
    numbers=("value", "fs", "ambulation"),
)
DECIDED = ("set by the FS", "set by ambulation", "FS and ambulation agree")


def _conversion_reasons(inp: EdssInput, grades: Mapping[str, Ints]) -> list[str]:
    reasons = []
    for name, (_, source) in CONVERSIONS.items():
        raw = int(getattr(inp, name))
        used = int(grades[name])
        if raw != used:
            reasons.append(CONVERTED(fs=_fs_word(name), raw=raw, used=used, source=source))
    return reasons


def _fs_reason(rule: FsRule, grades: Mapping[str, Ints]) -> str:
    by_grade: dict[int, list[str]] = {}
    for name in FS_NAMES:
        grade = int(grades[name])
        if grade >= 1:
            by_grade.setdefault(grade, []).append(_fs_word(name))
    profile = "; ".join(
        GRADE_GROUP(grade=g, names=", ".join(names))
        for g, names in sorted(by_grade.items(), reverse=True)
    )
    return FS_STEP(
        step=_step_text(rule.step), rule=rule.rule, text=rule.text, profile=profile or ALL_ZERO
    )


_W = ("grade", "m", "step")
"""The number fields of the warnings."""
PYRAMIDAL_SEVERE = Reason(
    "pyramidal {grade} (paraplegia, hemiplegia or worse)", numbers=_W, registered=False
)
CEREBELLAR_SEVERE = "cerebellar 5 (no coordinated movement)"
UNRESTRICTED_WALKING = "unrestricted walking"
METRES = Reason("{m} m", numbers=_W, registered=False)
HARD_TO_RECONCILE = Reason(
    "neurocart check: {findings} is hard to reconcile with {walked} without aid: check the FS "
    "grades and the walking range",
    lists={"findings": Items(" and ", PYRAMIDAL_SEVERE)},
)
UNEXPLAINED_LIMITATION = Reason(
    "neurocart check: walking limitation (ambulation step {step}) not explained by the FS "
    "profile (pyramidal, cerebellar and sensory all ≤ 1): check the FS grades, or whether a "
    "non-MS cause limits walking (not scored)",
    numbers=_W,
)
FS_ALONE = Reason(
    "neurocart check: the FS alone give {step} although walking is not limited (≥ 500 m without "
    "aid or rest); Neurostatus allows this, but confirm the walking range",
    numbers=_W,
)
AID_UNDER_5 = Reason(
    "neurocart check: walks {m} m with {assistance} assistance, under 5 m: scored 7.0 (Kurtzke: "
    "cannot walk 5 m even with aid); Neurostatus has no separate row for this — record the "
    "wheelchair/bed category if it applies",
    numbers=_W,
)
UNAIDED_UNDER_5 = Reason(
    "neurocart check: walks only {m} m without aid: scored 6.0 (< 100 m unaided); if the "
    "patient cannot walk 5 m even with aid, EDSS 7.0 or higher applies — record the aid or "
    "wheelchair",
    numbers=_W,
)
WHEELCHAIR_WALKS = Reason(
    "neurocart check: walking range {m} m contradicts {assistance} (cannot walk 5 m even with "
    "aid); scored by the wheelchair ({step}). If the patient walks that far with an aid, give "
    "that aid as assistance: the best performance decides, and the step would be lower",
    numbers=_W,
)
RESTRICTED_IGNORED = Reason(
    "neurocart check: walking_restricted (≥ 500 m but limited) ignored: the walking range or "
    "aid already sets the step"
)
RANGE_NOT_GIVEN = Reason(
    "neurocart check: walking range not given: walking read as unrestricted (≥ 500 m without "
    "aid or rest), so the EDSS rests on the FS alone — record the range if walking is limited"
)


WORDS = (
    *(_fs_word(name) for name in FS_NAMES),
    *(source for _, source in CONVERSIONS.values()),
    *(rule.text for rule in FS_RULES),
    ALL_ZERO,
    *DECIDED,
    CEREBELLAR_SEVERE,
    UNRESTRICTED_WALKING,
    *_WHEELCHAIR,
)
"""The texts its reasons quote (the catalogues list them: `locale/sources.toml`)."""


def _warnings(inp: EdssInput, fs_step: float, row: AmbulationRow) -> list[str]:
    if inp.died_of_ms:
        return []
    out: list[str] = []
    m = inp.walking_range_m
    walks_unaided = inp.assistance == "none" and (m is None or m >= AIDED_MIN_M)
    cannot_walk = [
        text
        for text, applies in (
            (PYRAMIDAL_SEVERE(grade=inp.pyramidal), inp.pyramidal >= 5),
            (CEREBELLAR_SEVERE, inp.cerebellar == 5),
        )
        if applies
    ]
    if walks_unaided and cannot_walk:
        unrestricted = m is None or m >= UNRESTRICTED_M
        walked = UNRESTRICTED_WALKING if unrestricted else METRES(m=_fmt_m(m or 0.0))
        out.append(HARD_TO_RECONCILE(findings=" and ".join(cannot_walk), walked=walked))
    if row.step >= 4.5 and max(inp.pyramidal, inp.cerebellar, inp.sensory) <= 1:
        out.append(UNEXPLAINED_LIMITATION(step=_step_text(row.step)))
    if fs_step >= 4.5 and row.row in _WALKING_FREE:
        out.append(FS_ALONE(step=_step_text(fs_step)))
    if row.row == "aid_lt_5":
        out.append(AID_UNDER_5(m=_fmt_m(m or 0.0), assistance=inp.assistance))
    if inp.assistance == "none" and m is not None and m < AIDED_MIN_M:
        out.append(UNAIDED_UNDER_5(m=_fmt_m(m)))
    if inp.assistance in _WHEELCHAIR and m is not None and m >= AIDED_MIN_M:
        out.append(
            WHEELCHAIR_WALKS(m=_fmt_m(m), assistance=inp.assistance, step=_step_text(row.step))
        )
    if inp.walking_restricted and row.row not in _WALKING_FREE:
        out.append(RESTRICTED_IGNORED())
    if inp.assistance == "none" and m is None:
        out.append(RANGE_NOT_GIVEN())
    return out


@register(
    name="edss",
    title="EDSS (Kurtzke Expanded Disability Status Scale, Neurostatus conventions)",
    citation=CITATION,
    input_model=EdssInput,
    vectorized=_edss_frame,
    checks=CHECKS,
)
def edss(inp: EdssInput) -> Grading:
    """The EDSS step with the conversions, FS rule and ambulation row that set it."""
    c = as_columns(inp)
    grades = converted_grades(c)
    rule = FS_RULES[int(fs_rule_index(fs_profile(grades)))]
    row = AMBULATION_ROWS[int(ambulation_row_index(c))]
    value = float(combine(np.asarray(rule.step), np.asarray(row.step)))
    label = str(labels(np.asarray(value)).item())

    m = inp.walking_range_m
    walked = row.text(m=_fmt_m(m) if m is not None else "?")
    step = _step_text(row.step)
    if row.neurostatus_score is None:
        ambulation_reason = AMBULATION_STEP_ONLY(row=walked, step=step)
    elif row.row not in _WALKING_FREE:
        ambulation_reason = AMBULATION_STEP(row=walked, score=row.neurostatus_score, step=step)
    elif row.step > 0:
        ambulation_reason = AMBULATION_AT_LEAST(row=walked, score=row.neurostatus_score, step=step)
    else:
        ambulation_reason = AMBULATION_FREE(row=walked, score=row.neurostatus_score)
    if inp.died_of_ms:
        reasons = [DEATH()]
    else:
        if rule.step > row.step:
            decided = DECIDED[0]
        elif row.step > rule.step:
            decided = DECIDED[1]
        else:
            decided = DECIDED[2]
        reasons = [
            *_conversion_reasons(inp, grades),
            _fs_reason(rule, grades),
            ambulation_reason,
            TOTAL(
                value=_step_text(value),
                fs=_step_text(rule.step),
                ambulation=_step_text(row.step),
                decided=decided,
            ),
        ]
    details: dict[str, Any] = {
        "fs_step": rule.step,
        "fs_rule": rule.rule,
        "ambulation_step": row.step,
        "ambulation_row": row.row,
        "neurostatus_ambulation_score": row.neurostatus_score,
        "converted_grades": {name: int(grades[name]) for name in FS_NAMES},
    }
    return Grading(
        value=value,
        label=label,
        reasons=reasons,
        warnings=_warnings(inp, rule.step, row),
        details=details,
    )
