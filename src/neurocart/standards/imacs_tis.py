"""2016 ACR/EULAR Total Improvement Score (TIS) for adult dermatomyositis/polymyositis.

Aggarwal R, Rider LG, Ruperto N, et al. 2016 American College of Rheumatology/European League
Against Rheumatism criteria for minimal, moderate, and major clinical response in adult
dermatomyositis and polymyositis. Arthritis Rheumatol 2017;69(5):898–910. doi:10.1002/art.40064;
also Ann Rheum Dis 2017;76(5):792–801. doi:10.1136/annrheumdis-2017-211400. Juvenile companion
(same points, other thresholds): Rider LG et al. Arthritis Rheumatol 2017;69(5):911–923.
doi:10.1002/art.40060. (One stored PMC copy, PMC5407906, prints the JDM title over the
898–910 / art.40064 citation; PubMed gives 911–923 / art.40060 for the JDM paper, so 898–910
is the adult paper.)

The six IMACS core set measures, each at baseline and follow-up:

| measure | scale | improvement % (positive = better) |
|---|---|---|
| physician global activity | 0–10 | (baseline − follow-up) ÷ 10 × 100 |
| patient global activity | 0–10 | (baseline − follow-up) ÷ 10 × 100 |
| MMT-8 | 0–80 or 0–150 | (follow-up − baseline) ÷ mmt8_max × 100 |
| HAQ disability index | 0–3 | (baseline − follow-up) ÷ 3 × 100 |
| muscle enzyme (the most abnormal) | U/L > 0 | (baseline − follow-up) ÷ baseline × 100 |
| extramuscular global activity | 0–10 | (baseline − follow-up) ÷ 10 × 100 |

"Absolute percent change" (change ÷ the scale's range) for all but the enzyme, whose change is
relative (÷ baseline). Points per measure (conjoint-analysis weights, verified
against the published Table 3, PMC5577002):

| measure | worsening to 5 % | > 5–15 % | > 15–25 % | > 25–40 % | > 40 % |
|---|---|---|---|---|---|
| physician global | 0 | 7.5 | 15 | 17.5 | 20 |
| patient global | 0 | 2.5 | 5 | 7.5 | 10 |
| HAQ | 0 | 5 | 7.5 | 7.5 | 10 |
| muscle enzyme | 0 | 2.5 | 5 | 7.5 | 7.5 |
| extramuscular | 0 | 7.5 | 12.5 | 15 | 20 |

| measure | worsening to 2 % | > 2–10 % | > 10–20 % | > 20–30 % | > 30 % |
|---|---|---|---|---|---|
| MMT-8 | 0 | 10 | 20 | 27.5 | 32.5 |

TIS = sum, 0–100. Adult thresholds: minimal ≥ 20, moderate ≥ 40, major ≥ 60 (label none /
minimal / moderate / major).

Neurocart rules where the publication leaves a choice:

* A band's upper edge belongs to the lower band (exactly 15 % is "> 5–15 %"); worsening and
  no change score 0.
* The percentage is rounded to 6 decimals **before** banding: binary floating point makes
  a physician global 2.2 → 0.7 come out as 15.000000000000002 % (and MMT-8/80 15 → 16.6 as
  2.0000000000000018 %), which would otherwise jump a band. (The usual worked
  example, 1.5 ÷ 10 × 100, happens to be exact in IEEE doubles.)
* The extramuscular row is 7.5 / 12.5 / 15 / 20 as verified in the published table (an
  earlier recollection of 7.5 / 15 / 20 / 20 was wrong).
* The NIEHS web calculator also asks for the enzyme's upper limit of normal; its use there
  could not be confirmed, and the contract has no such field, so it is not used.
* The number of worsening core set measures is reported (Saygin D et al. Rheumatology 2023:
  minimal improvers often still worsened in one measure) and a warning is given when a
  responder has any worsening measure — a neurocart check, not part of the criteria.

Nested inputs (one object per measure), so there is no vectorized (table) path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from neurocart.standards.inputs import CalcInput, Check, Columns, field
from neurocart.standards.reason import Items, Reason
from neurocart.standards.registry import Grading, register

CITATION = (
    "Aggarwal R et al. 2016 ACR/EULAR criteria for minimal, moderate, and major clinical "
    "response in adult dermatomyositis and polymyositis. Arthritis Rheumatol "
    "2017;69(5):898–910. doi:10.1002/art.40064; Ann Rheum Dis 2017;76(5):792–801. "
    "doi:10.1136/annrheumdis-2017-211400"
)

PERCENT_DECIMALS = 6
"""The improvement percentage is rounded to this many decimals before banding."""

THRESHOLDS: tuple[tuple[float, str], ...] = ((60.0, "major"), (40.0, "moderate"), (20.0, "minimal"))
"""Adult TIS thresholds, highest first; below the lowest: "none"."""


class _Vas10(CalcInput):
    baseline: float = field(description="at baseline (0–10 cm VAS)", ge=0, le=10)
    follow_up: float = field(description="at follow-up (0–10 cm VAS)", ge=0, le=10)


class _Haq(CalcInput):
    baseline: float = field(description="HAQ disability index at baseline", ge=0, le=3)
    follow_up: float = field(description="HAQ disability index at follow-up", ge=0, le=3)


class _Mmt8(CalcInput):
    baseline: float = field(description="MMT-8 at baseline", ge=0, le=150)
    follow_up: float = field(description="MMT-8 at follow-up", ge=0, le=150)


class _Enzyme(CalcInput):
    baseline: float = field(description="enzyme at baseline", unit="U/L", gt=0, le=1_000_000)
    follow_up: float = field(description="enzyme at follow-up", unit="U/L", gt=0, le=1_000_000)


class ImacsTisInput(CalcInput):
    """The six IMACS core set measures, each at baseline and follow-up, from which the total
    improvement score is computed."""

    physician_global: _Vas10 = field(
        description='physician global activity, {"baseline": 0–10, "follow_up": 0–10} cm VAS'
    )
    patient_global: _Vas10 = field(
        description='patient global activity, {"baseline": 0–10, "follow_up": 0–10} cm VAS'
    )
    mmt8: _Mmt8 = field(
        description='manual muscle testing (8 groups), {"baseline", "follow_up"} 0–mmt8_max; '
        "higher = stronger"
    )
    haq: _Haq = field(description='HAQ disability index, {"baseline": 0–3, "follow_up": 0–3}')
    muscle_enzyme: _Enzyme = field(
        description="the most abnormal muscle enzyme (CK, aldolase, LDH, ALT or AST), "
        '{"baseline", "follow_up"} in U/L (> 0)',
        unit="U/L",
    )
    extramuscular: _Vas10 = field(
        description='extramuscular global activity (MDAAT), {"baseline": 0–10, "follow_up": 0–10}'
    )
    mmt8_max: Literal[80, 150] = field(
        150, description="maximum of the MMT-8 used: 80 (one side) or 150 (both sides)"
    )


def _mmt8_over_max(c: Columns) -> npt.NDArray[np.bool_]:
    mmt = c["mmt8"].item()
    top = float(c["mmt8_max"])
    return np.asarray(max(mmt.baseline, mmt.follow_up) > top)


OVER_MAX = Reason("MMT-8 baseline and follow-up must not exceed mmt8_max (80 one side, 150 both)")

CHECKS = (
    Check(
        field="mmt8",
        message=OVER_MAX(),
        violated=_mmt8_over_max,
    ),
)


@dataclass(frozen=True)
class PointsRow:
    """One measure's row of the points table: band upper edges (inclusive) and points."""

    name: str
    title: str
    edges: tuple[float, float, float, float]
    points: tuple[float, float, float, float, float]

    def score(self, percent: float) -> tuple[float, str]:
        """Points for an (already rounded) improvement percentage, and the band in words."""
        band = sum(percent > edge for edge in self.edges)
        if band == 0:
            text = f"≤ {self.edges[0]:g} %"
        elif band == len(self.edges):
            text = f"> {self.edges[-1]:g} %"
        else:
            text = f"> {self.edges[band - 1]:g}–{self.edges[band]:g} %"
        return self.points[band], text


_EDGES = (5.0, 15.0, 25.0, 40.0)
_MMT_EDGES = (2.0, 10.0, 20.0, 30.0)

POINTS: tuple[PointsRow, ...] = (
    PointsRow("physician_global", "physician global activity", _EDGES, (0, 7.5, 15, 17.5, 20)),
    PointsRow("patient_global", "patient global activity", _EDGES, (0, 2.5, 5, 7.5, 10)),
    PointsRow("mmt8", "MMT-8", _MMT_EDGES, (0, 10, 20, 27.5, 32.5)),
    PointsRow("haq", "HAQ", _EDGES, (0, 5, 7.5, 7.5, 10)),
    PointsRow("muscle_enzyme", "muscle enzyme", _EDGES, (0, 2.5, 5, 7.5, 7.5)),
    PointsRow("extramuscular", "extramuscular activity", _EDGES, (0, 7.5, 12.5, 15, 20)),
)

SCALE_RANGE = {"physician_global": 10.0, "patient_global": 10.0, "haq": 3.0, "extramuscular": 10.0}
"""Range of the bounded lower-is-better measures (the denominator of absolute change)."""


def improvement_percent(name: str, baseline: float, follow_up: float, mmt8_max: int) -> float:
    """Improvement in percent (positive = better), rounded to `PERCENT_DECIMALS`."""
    if name == "mmt8":
        raw = (follow_up - baseline) / mmt8_max * 100
    elif name == "muscle_enzyme":
        raw = (baseline - follow_up) / baseline * 100
    else:
        raw = (baseline - follow_up) / SCALE_RANGE[name] * 100
    return round(raw, PERCENT_DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0


_NUMBERS = ("baseline", "follow_up", "p", "points", "total", "threshold", "n")
WORSENED = Reason(
    "{title} {baseline} → {follow_up}: worsened {p} % ({kind}): 0 points",
    numbers=_NUMBERS,
    patterns={"kind": "relative|absolute"},
)
IMPROVED = Reason(
    "{title} {baseline} → {follow_up}: improved {p} % ({kind}, band {band}): {points} points",
    numbers=_NUMBERS,
    patterns={"kind": "relative|absolute"},
)
TOTAL = Reason(
    "total improvement score {total}/100: {label} ≥ {threshold}",
    numbers=_NUMBERS,
    patterns={"label": "minimal|moderate|major"},
)
NO_RESPONSE = Reason(
    "total improvement score {total}/100: < 20: no response (minimal needs ≥ 20)",
    numbers=_NUMBERS,
)
WORSE_DESPITE = Reason(
    "neurocart check: {n} core set measure(s) worsened despite a {label} response ({measures})",
    numbers=_NUMBERS,
    lists={"measures": Items(", ")},
)
WORDS = ("relative", "absolute", "minimal", "major", *(row.title for row in POINTS))
"""The words its reasons quote (the catalogues list them: `locale/sources.toml`)."""


def response_label(total: float) -> str:
    """none / minimal (≥ 20) / moderate (≥ 40) / major (≥ 60)."""
    for threshold, label in THRESHOLDS:
        if total >= threshold:
            return label
    return "none"


@register(
    name="imacs_tis",
    title="ACR/EULAR 2016 total improvement score (adult DM/PM, IMACS core set)",
    citation=CITATION,
    input_model=ImacsTisInput,
    checks=CHECKS,
)
def imacs_tis(inp: ImacsTisInput) -> Grading:
    """Sum of the conjoint-analysis points of each core set measure's improvement."""
    total = 0.0
    reasons: list[str] = []
    measures: dict[str, dict[str, float]] = {}
    worsened: list[str] = []
    for row in POINTS:
        m = getattr(inp, row.name)
        pct = improvement_percent(row.name, m.baseline, m.follow_up, inp.mmt8_max)
        points, band = row.score(pct)
        total += points
        kind = "relative" if row.name == "muscle_enzyme" else "absolute"
        said = {"title": row.title, "baseline": f"{m.baseline:g}", "follow_up": f"{m.follow_up:g}"}
        if pct < 0:
            worsened.append(row.title)
            reasons.append(WORSENED(**said, p=f"{-pct:g}", kind=kind))
        else:
            reasons.append(
                IMPROVED(**said, p=f"{pct:g}", kind=kind, band=band, points=f"{points:g}")
            )
        measures[row.name] = {"percent_improvement": pct, "points": points}
    label = response_label(total)
    crossed = [t for t, name in THRESHOLDS if name == label]
    if crossed:
        reasons.append(TOTAL(total=f"{total:g}", label=label, threshold=f"{crossed[0]:g}"))
    else:
        reasons.append(NO_RESPONSE(total=f"{total:g}"))
    warnings = []
    if worsened and label != "none":
        warnings.append(WORSE_DESPITE(n=len(worsened), label=label, measures=", ".join(worsened)))
    return Grading(
        value=total,
        label=label,
        reasons=reasons,
        warnings=warnings,
        details={
            "measures": measures,
            "worsening_measures": len(worsened),
            "mmt8_max": inp.mmt8_max,
        },
    )
