"""ASTCT grade of immune effector cell-associated neurotoxicity syndrome (ICANS), adults.

Lee DW, Santomasso BD, Locke FL, et al. ASTCT consensus grading for cytokine release syndrome
and neurologic toxicity associated with immune effector cells. Biol Blood Marrow Transplant
2019;25(4):625–638. doi:10.1016/j.bbmt.2018.12.758 (the adult ICANS grading table).

The grade is the most severe grade of any domain, each not attributable to another cause:

- ICE score: 7–9 → 1; 3–6 → 2; 0–2 → 3; 0 with the patient unarousable and unable to
  perform ICE → 4.
- Depressed level of consciousness: awakens spontaneously → 1; awakens to voice → 2; awakens
  only to tactile stimulus → 3; unarousable, or needs vigorous or repetitive tactile stimuli
  to arouse, stupor or coma → 4.
- Seizure: any clinical seizure, focal or generalized, that resolves rapidly, or
  non-convulsive seizures on EEG that resolve with intervention → 3; life-threatening
  prolonged seizure (> 5 min), or repetitive clinical or electrical seizures without return
  to baseline in between → 4.
- Motor findings: deep focal motor weakness (hemiparesis, paraparesis) → 4.
- Raised ICP / cerebral edema: focal/local edema on neuroimaging → 3; diffuse cerebral edema
  on neuroimaging, decerebrate or decorticate posturing, cranial nerve VI palsy, papilledema
  or Cushing's triad → 4.

ICE 10 with nothing else is grade 0. An ICE of 0 in an awake patient (e.g. global aphasia)
is grade 3; an ICE of 0 because the patient is unarousable is grade 4 — through the
consciousness domain (`consciousness` = "unarousable"), which is how this calculator reaches
it. Tremor and myoclonus are not graded here (CTCAE).

★ neurocart extension, not ASTCT — `baseline_ice_score`: neuroimmune patients often have a
lowered ICE before any treatment (dysarthria, visual loss, hand weakness, cognitive
impairment). When the pre-infusion ICE is given, only the loss from it
is graded: effective ICE = 10 − (baseline − current), floored at 0; a current ICE above the
baseline counts as 10. The other domains are unchanged. `value` and `label` are then the
baseline-adjusted grade and say so; `details["astct_grade"]` always carries the unadjusted
ASTCT grade (and `details["baseline_adjusted_grade"]` the adjusted one when a baseline is
given); `reasons` state that the value is baseline-adjusted and not the ASTCT grade, and a
warning says that a clinician must tell ICANS from a flare of the disease.

Other choices neurocart made:

- `ice_score` may be omitted (not assessable); the grade then comes from the other domains
  and a warning says ICE was not assessed.
- An unarousable patient cannot score ICE points: `consciousness` "unarousable" with an
  `ice_score` above 0 is an error naming `ice_score`; `baseline_ice_score` without
  `ice_score` is an error naming `baseline_ice_score`.
- Labels: "no ICANS" for 0, "grade n" otherwise; with a baseline, e.g.
  "no ICANS (baseline-adjusted; ASTCT grade 1)".
"""

from __future__ import annotations

import typing
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from neurocart.standards.frame import lookup
from neurocart.standards.inputs import CalcInput, Check, Columns, field
from neurocart.standards.reason import Reason
from neurocart.standards.registry import Grading, register

CITATION = (
    "Lee DW, Santomasso BD, Locke FL, et al. ASTCT consensus grading for cytokine release "
    "syndrome and neurologic toxicity associated with immune effector cells. Biol Blood Marrow "
    "Transplant 2019;25(4):625–638. doi:10.1016/j.bbmt.2018.12.758"
)

ICE_MAX = 10
ICE_GRADE: tuple[int, ...] = (3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 0)
"""ICANS grade of the ICE domain, indexed by the ICE score 0–10 (0–2 → 3, 3–6 → 2, 7–9 → 1)."""
_ICE_GRADE_ARRAY = np.asarray(ICE_GRADE, dtype=np.int64)
ICE_BAND: tuple[str, ...] = ("0–2",) * 3 + ("3–6",) * 4 + ("7–9",) * 3 + ("10",)

Consciousness = Literal[
    "normal", "awakens_spontaneously", "awakens_to_voice", "awakens_to_tactile", "unarousable"
]
Seizure = Literal["none", "resolves_rapidly", "prolonged_or_repetitive"]
Motor = Literal["none", "deep_focal_weakness"]
CerebralEdema = Literal["none", "focal", "diffuse"]

CONSCIOUSNESS_GRADE: dict[str, int] = {
    "normal": 0,
    "awakens_spontaneously": 1,
    "awakens_to_voice": 2,
    "awakens_to_tactile": 3,
    "unarousable": 4,
}
SEIZURE_GRADE: dict[str, int] = {"none": 0, "resolves_rapidly": 3, "prolonged_or_repetitive": 4}
MOTOR_GRADE: dict[str, int] = {"none": 0, "deep_focal_weakness": 4}
CEREBRAL_EDEMA_GRADE: dict[str, int] = {"none": 0, "focal": 3, "diffuse": 4}

DOMAINS: dict[str, dict[str, int]] = {
    "consciousness": CONSCIOUSNESS_GRADE,
    "seizure": SEIZURE_GRADE,
    "motor": MOTOR_GRADE,
    "cerebral_edema": CEREBRAL_EDEMA_GRADE,
}
"""The non-ICE domains: field name → grade of each choice."""

WORDS: dict[str, str] = {
    "awakens_spontaneously": "depressed consciousness, awakens spontaneously",
    "awakens_to_voice": "depressed consciousness, awakens to voice",
    "awakens_to_tactile": "depressed consciousness, awakens only to tactile stimulus",
    "unarousable": "unarousable (or needs vigorous/repetitive tactile stimuli); stupor or coma",
    "resolves_rapidly": (
        "clinical seizure resolving rapidly, or non-convulsive seizures on EEG resolving with "
        "intervention"
    ),
    "prolonged_or_repetitive": (
        "life-threatening prolonged seizure (> 5 min), or repetitive seizures without return "
        "to baseline"
    ),
    "deep_focal_weakness": "deep focal motor weakness (hemiparesis, paraparesis)",
    "focal": "focal/local edema on neuroimaging",
    "diffuse": (
        "diffuse cerebral edema, decerebrate/decorticate posturing, CN VI palsy, papilledema "
        "or Cushing's triad"
    ),
}

for _domain, _literal in (
    ("consciousness", Consciousness),
    ("seizure", Seizure),
    ("motor", Motor),
    ("cerebral_edema", CerebralEdema),
):
    assert set(DOMAINS[_domain]) == set(typing.get_args(_literal))

LABELS: tuple[str, ...] = ("no ICANS", "grade 1", "grade 2", "grade 3", "grade 4")
_LABEL_ARRAY = np.asarray(LABELS, dtype=object)


_NUMBERS = (
    "t", "limit", "grade", "n", "flow", "ice", "top", "baseline", "effective", "hypotension",
    "hypoxia", "points", "total",
)  # fmt: skip
"""Fields of its reasons that are always a number (see `Reason.numbers`)."""
NO_ICE_WARNING = Reason("ICE score not given: the grade rests on the other domains only")
MOTOR_WARNING = Reason(
    "motor weakness counts only when new and not attributable to another cause: myelitis or a "
    "known lesion may explain it"
)
ADJUSTED_WARNING = Reason(
    "baseline-adjusted grade (neurocart extension, not ASTCT): report the ASTCT grade ({label}) "
    "beside it"
)
FLARE_WARNING = Reason(
    "a clinician must tell ICANS from a flare of the neurological disease (new focal deficit in "
    "the territory of a known lesion, congruent MRI lesion, CSF, antibodies)"
)
ADJUSTED_LABEL = Reason("{label} (baseline-adjusted; ASTCT {astct})", numbers=_NUMBERS)


def adjusted_label(adjusted: int, astct: int) -> str:
    """Label of a baseline-adjusted grade, naming the ASTCT grade beside it."""
    return ADJUSTED_LABEL(label=LABELS[adjusted], astct=LABELS[astct])


_ALL_LABELS = np.asarray(
    list(LABELS) + [adjusted_label(a, g) for a in range(5) for g in range(5)], dtype=object
)
"""The ASTCT labels, then the baseline-adjusted ones at len(LABELS) + 5 × adjusted + ASTCT."""


def effective_ice(current: Any, baseline: Any) -> Any:
    """ICE graded against the patient's baseline: 10 − (baseline − current), within 0–10."""
    return np.clip(ICE_MAX - (baseline - current), 0, ICE_MAX)


class IcansInput(CalcInput):
    """The ASTCT ICANS domains (ICE, consciousness, seizures, motor findings, cerebral edema) and,
    optionally, the patient's pre-infusion ICE."""

    ice_score: int | None = field(
        None, description="ICE score; omit when not assessable", ge=0, le=ICE_MAX
    )
    consciousness: Consciousness = field(
        "normal", description="depressed level of consciousness not attributable to another cause"
    )
    seizure: Seizure = field("none", description="seizures")
    motor: Motor = field("none", description="new deep focal motor weakness")
    cerebral_edema: CerebralEdema = field(
        "none", description="raised intracranial pressure / cerebral edema"
    )
    baseline_ice_score: int | None = field(
        None,
        description=(
            "neurocart extension, not ASTCT: the patient's pre-infusion ICE; only the loss "
            "from it is graded"
        ),
        ge=0,
        le=ICE_MAX,
    )


CHECKS = (
    Check(
        field="baseline_ice_score",
        message="a baseline ICE needs the current ice_score to compare with",
        violated=lambda c: ~np.isnan(c["baseline_ice_score"]) & np.isnan(c["ice_score"]),
    ),
    Check(
        field="ice_score",
        message=(
            'an unarousable patient (consciousness "unarousable") cannot perform ICE: '
            "ice_score is 0, or omit it"
        ),
        violated=lambda c: (c["consciousness"] == "unarousable") & (c["ice_score"] > 0),
    ),
)


def _icans_frame(c: Columns) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    ice = c["ice_score"]
    assessed = ~np.isnan(ice)
    ice_int = np.where(assessed, ice, ICE_MAX).astype(np.int64)  # not assessed: no ICE grade
    others = np.zeros(len(ice), dtype=np.int64)
    for name, table in DOMAINS.items():  # one take over each column's choice codes
        np.maximum(others, lookup(c[name], table), out=others)
    astct = np.maximum(_ICE_GRADE_ARRAY[ice_int], others)
    baseline = c["baseline_ice_score"]
    has_baseline = ~np.isnan(baseline)
    if not has_baseline.any():
        return astct, _LABEL_ARRAY[astct]
    effective = np.where(has_baseline, effective_ice(ice_int, baseline), ICE_MAX).astype(np.int64)
    adjusted = np.maximum(_ICE_GRADE_ARRAY[effective], others)
    values = np.where(has_baseline, adjusted, astct)
    which = np.where(has_baseline, len(LABELS) + 5 * adjusted + astct, astct)
    return values, _ALL_LABELS[which]


ICE_NOT_ASSESSED = Reason("ICE not assessed: graded on the other domains")
ICE_NORMAL = Reason("ICE {ice}/{top}: normal", numbers=_NUMBERS)
ICE_UNAROUSABLE = Reason(
    "ICE 0/{top} because the patient is unarousable → grade 4 through depressed consciousness",
    numbers=_NUMBERS,
)
ICE_BAND_GRADE = Reason("ICE {ice}/{top} ({band}) → grade {grade}", numbers=_NUMBERS)
ICE_ZERO_AWAKE = Reason("ICE 0 in an awake patient (e.g. global aphasia) is grade 3")
DOMAIN_GRADE = Reason("{finding} → grade {grade}", numbers=_NUMBERS)
ASTCT = Reason("ASTCT grade: {label} (the most severe domain)", numbers=_NUMBERS)
ASTCT_UNADJUSTED = Reason(
    "ASTCT grade (unadjusted): {label} (the most severe domain)", numbers=_NUMBERS
)
ADJUSTED = Reason(
    "BASELINE-ADJUSTED, a neurocart extension and NOT the ASTCT grade: baseline ICE {baseline}, "
    "current {ice}, effective ICE = 10 − ({baseline} − {ice}) = {effective} → {label}",
    numbers=_NUMBERS,
)
ADJUSTED_ABOVE = Reason(
    "BASELINE-ADJUSTED, a neurocart extension and NOT the ASTCT grade: baseline ICE {baseline}, "
    "current {ice}, effective ICE = 10 − ({baseline} − {ice}) = {effective} (current above "
    "baseline counts as 10) → {label}",
    numbers=_NUMBERS,
)


@register(
    name="icans",
    title="ASTCT grade of immune effector cell-associated neurotoxicity syndrome (adults)",
    citation=CITATION,
    input_model=IcansInput,
    vectorized=_icans_frame,
    checks=CHECKS,
)
def icans(inp: IcansInput) -> Grading:
    """ICANS grade 0–4: the most severe domain; baseline-adjusted when a baseline ICE is given."""
    reasons: list[str] = []
    warnings: list[str] = []
    ice = inp.ice_score
    if ice is None:
        ice_grade = 0
        reasons.append(ICE_NOT_ASSESSED())
        warnings.append(NO_ICE_WARNING())
    else:
        ice_grade = ICE_GRADE[ice]
        if ice == ICE_MAX:
            reasons.append(ICE_NORMAL(ice=ice, top=ICE_MAX))
        elif ice == 0 and inp.consciousness == "unarousable":
            reasons.append(ICE_UNAROUSABLE(top=ICE_MAX))
        else:
            reasons.append(
                ICE_BAND_GRADE(ice=ice, top=ICE_MAX, band=ICE_BAND[ice], grade=ice_grade)
            )
            if ice == 0:
                reasons.append(ICE_ZERO_AWAKE())
    domain_grades: dict[str, int] = {"ice": ice_grade}
    for name, table in DOMAINS.items():
        choice = getattr(inp, name)
        grade = table[choice]
        domain_grades[name] = grade
        if grade:
            reasons.append(DOMAIN_GRADE(finding=WORDS[choice], grade=grade))
    others = max(domain_grades[name] for name in DOMAINS)
    astct = max(ice_grade, others)
    if inp.motor != "none":
        warnings.append(MOTOR_WARNING())
    details: dict[str, Any] = {"astct_grade": astct, "domain_grades": domain_grades}

    baseline = inp.baseline_ice_score
    if baseline is None or ice is None:  # the checks forbid a baseline without a current ICE
        reasons.append(ASTCT(label=LABELS[astct]))
        return Grading(astct, LABELS[astct], reasons, warnings, details)

    effective = int(effective_ice(ice, baseline))
    adjusted = max(ICE_GRADE[effective], others)
    reasons.append(ASTCT_UNADJUSTED(label=LABELS[astct]))
    template = ADJUSTED_ABOVE if ice > baseline else ADJUSTED
    reasons.append(
        template(baseline=baseline, ice=ice, effective=effective, label=LABELS[adjusted])
    )
    warnings.append(ADJUSTED_WARNING(label=LABELS[astct]))
    warnings.append(FLARE_WARNING())
    details["baseline_adjusted_grade"] = adjusted
    details["effective_ice_score"] = effective
    return Grading(adjusted, adjusted_label(adjusted, astct), reasons, warnings, details)
