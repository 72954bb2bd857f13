"""IEC-HS: immune effector cell-associated HLH-like syndrome — identification and grade.

Hines MR, Knight TE, McNerney KO, et al. Immune effector cell-associated hemophagocytic
lymphohistiocytosis-like syndrome. Transplant Cell Ther 2023;29(7):438.e1–438.e16.
doi:10.1016/j.jtct.2023.03.006 (ASTCT consensus).

value: 0 = IEC-HS criteria not met; 1–5 = IEC-HS grade.

Identification (all three):

1. a hyperinflammatory picture attributable to the immune effector cell therapy — not to
   infection, disease progression or another cause; typically emerging as CRS resolves, or
   worsening after initial improvement with CRS-directed therapy (`attributable_to_iec_therapy`,
   `onset`);
2. ferritin elevated > 2 × the upper limit of normal or > 2 × the baseline at infusion, and/or
   rapidly rising in the clinician's assessment;
3. at least one manifestation: hemophagocytosis in marrow or tissue; new, progressive or
   refractory cytopenias; hypofibrinogenemia (coagulopathy, fibrinogen < 1.5 g/L); hepatic
   transaminase elevation; new or worsening hepatosplenomegaly; renal insufficiency; pulmonary
   manifestations; neurotoxicity; hypertriglyceridemia; raised LDH.

Grade (the most severe feature present, once the criteria are met):

- grade 1 — asymptomatic or mild; no IEC-HS-directed treatment needed (criteria met and
  nothing below applies);
- grade 2 — mild to moderate; needs IEC-HS-directed therapy, e.g. anakinra or
  corticosteroids (`iec_hs_directed_therapy`);
- grade 3 — severe, with organ dysfunction: new-onset renal insufficiency
  (`renal_dysfunction` = new_renal_insufficiency), hypoxia needing supplemental oxygen
  (`respiratory_support` = supplemental_oxygen), coagulopathy with bleeding needing
  transfusion (`bleeding` = requiring_transfusion);
- grade 4 — life-threatening: hemodynamic instability needing vasopressors (`vasopressors`),
  hypoxia needing positive-pressure ventilation, non-invasive or invasive
  (`respiratory_support` = positive_pressure_ventilation), renal failure needing dialysis
  (`renal_dysfunction` = dialysis), life-threatening bleeding (`bleeding` = life_threatening);
- grade 5 — death from IEC-HS (`died_of_iec_hs`).

Computed from values (thresholds are module constants, each with a boundary test):

- ferritin: `ferritin_ug_l` > 2 × `ferritin_uln_ug_l`, or > 2 × `ferritin_baseline_ug_l`
  (strictly greater: exactly 2 × does not count);
- fibrinogen: `fibrinogen_g_l` < 1.5 g/L (150 mg/dL);
- transaminases: ALT or AST > 5 × the ULN, or > 5 × the baseline when the baseline itself
  was above the ULN;
- triglycerides: fasting `triglycerides_mmol_l` ≥ 3.0 mmol/L (265 mg/dL, the HLH-2004 cut-off);
- LDH: `ldh_u_l` > `ldh_uln_u_l`.

Taken as clinician judgement (booleans or enumerations, never inferred): attribution to the
IEC therapy and the onset; a rapid ferritin rise; hemophagocytosis (pathology); new,
progressive or refractory cytopenias (judged against the expected post-lymphodepletion
course); hepatosplenomegaly; renal insufficiency and dialysis; pulmonary manifestations and
respiratory support (hypoxia counts as a pulmonary manifestation); neurotoxicity; the need
for IEC-HS-directed therapy; bleeding; vasopressors; death from IEC-HS.

Input rules: a measured ferritin needs a reference (ULN or baseline) unless the rise is
flagged as rapid; ALT, AST and LDH need their laboratory ULN; a ULN or baseline ferritin
without the current ferritin is an error; death from IEC-HS when the criteria are not met is
an error (the input contradicts itself).

Verification status. The stored copies searched for this module held the abstract of Hines
et al. but not its identification and grading tables. The structure above follows the
abstract and neurocart's reading of the consensus; the exact numbers (2 × ULN or
baseline for ferritin; 5 × ULN or baseline for transaminases; < 150 mg/dL fibrinogen) and
the organ-dysfunction examples of grades 3 and 4 follow the consensus as its authors'
framework is commonly reproduced, and must be checked against the paper's tables before
clinical release — they live in the constants and in `_grade` below, one place each.
Where the paper and this text differ, the paper wins.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from neurocart.standards._labels import by_integer
from neurocart.standards.inputs import CalcInput, Check, Columns, as_columns, field
from neurocart.standards.reason import Items, Reason
from neurocart.standards.registry import Grading, register

CITATION = (
    "Hines MR, Knight TE, McNerney KO, et al. Immune effector cell-associated hemophagocytic "
    "lymphohistiocytosis-like syndrome. Transplant Cell Ther 2023;29(7):438.e1–438.e16. "
    "doi:10.1016/j.jtct.2023.03.006"
)

FERRITIN_FOLD = 2.0
"""Ferritin must exceed this multiple of the ULN or of the baseline (strictly)."""
FIBRINOGEN_BELOW_G_L = 1.5
"""Hypofibrinogenemia: fibrinogen strictly below 1.5 g/L (150 mg/dL)."""
TRANSAMINASE_FOLD = 5.0
"""Transaminase elevation: strictly above 5 × ULN (or 5 × an abnormal baseline)."""
TRIGLYCERIDES_FROM_MMOL_L = 3.0
"""Hypertriglyceridemia: fasting triglycerides ≥ 3.0 mmol/L (265 mg/dL)."""

Onset = Literal["as_crs_resolves", "without_preceding_crs", "during_active_crs"]
Respiratory = Literal["none", "supplemental_oxygen", "positive_pressure_ventilation"]
Renal = Literal["none", "new_renal_insufficiency", "dialysis"]
Bleeding = Literal["none", "requiring_transfusion", "life_threatening"]


class IecHsInput(CalcInput):
    """The clinician's attribution and onset, the laboratory criteria with their ULN or baseline,
    and the organ findings that grade IEC-HS."""

    # --- identification: attribution and onset (clinician judgement) ---
    attributable_to_iec_therapy: bool = field(
        description="clinician judgement: the hyperinflammatory picture is attributable to the "
        "immune effector cell therapy, not to infection, disease progression or another cause"
    )
    onset: Onset | None = field(
        None,
        description="onset: as_crs_resolves (with resolving CRS, or worsening after initial "
        "improvement with CRS-directed therapy), without_preceding_crs, during_active_crs",
    )
    # --- ferritin ---
    ferritin_ug_l: float | None = field(
        None, description="current (peak) ferritin", unit="µg/L", ge=0, le=1_000_000
    )
    ferritin_uln_ug_l: float | None = field(
        None, description="laboratory upper limit of normal for ferritin", unit="µg/L", gt=0,
        le=2000,
    )  # fmt: skip
    ferritin_baseline_ug_l: float | None = field(
        None, description="ferritin at the time of infusion", unit="µg/L", gt=0, le=1_000_000
    )
    ferritin_rapid_rise: bool = field(
        False, description="clinician judgement: ferritin is rising rapidly"
    )
    # --- manifestations ---
    hemophagocytosis: bool = field(
        False, description="hemophagocytosis in bone marrow or another tissue (pathology)"
    )
    new_or_worsening_cytopenias: bool = field(
        False,
        description="clinician judgement: newly emergent, progressive or refractory cytopenias "
        "(beyond the expected course after lymphodepletion)",
    )
    fibrinogen_g_l: float | None = field(
        None, description="fibrinogen (< 1.5 g/L counts)", unit="g/L", ge=0, le=20
    )
    alt_u_l: float | None = field(None, description="ALT", unit="U/L", ge=0, le=50000)
    alt_uln_u_l: float | None = field(
        None, description="laboratory ULN for ALT", unit="U/L", gt=0, le=500
    )
    alt_baseline_u_l: float | None = field(
        None, description="ALT before infusion", unit="U/L", ge=0, le=50000
    )
    ast_u_l: float | None = field(None, description="AST", unit="U/L", ge=0, le=50000)
    ast_uln_u_l: float | None = field(
        None, description="laboratory ULN for AST", unit="U/L", gt=0, le=500
    )
    ast_baseline_u_l: float | None = field(
        None, description="AST before infusion", unit="U/L", ge=0, le=50000
    )
    hepatosplenomegaly: bool = field(
        False, description="new or worsening hepatomegaly or splenomegaly"
    )
    renal_dysfunction: Renal = field(
        "none",
        description="none, new_renal_insufficiency (new-onset renal insufficiency), "
        "dialysis (renal failure needing renal replacement therapy)",
    )
    pulmonary_manifestations: bool = field(
        False,
        description="pulmonary manifestations (hypoxia, infiltrates, pulmonary edema); implied "
        "when respiratory_support is not none",
    )
    respiratory_support: Respiratory = field(
        "none",
        description="none, supplemental_oxygen (hypoxia needing oxygen without positive "
        "pressure), positive_pressure_ventilation (CPAP, BiPAP or mechanical ventilation)",
    )
    neurotoxicity: bool = field(False, description="neurotoxicity (e.g. ICANS) present")
    triglycerides_mmol_l: float | None = field(
        None, description="fasting triglycerides (≥ 3.0 mmol/L counts)", unit="mmol/L", ge=0,
        le=100,
    )  # fmt: skip
    ldh_u_l: float | None = field(None, description="LDH", unit="U/L", ge=0, le=100000)
    ldh_uln_u_l: float | None = field(
        None, description="laboratory ULN for LDH", unit="U/L", gt=0, le=2000
    )
    # --- severity ---
    iec_hs_directed_therapy: bool = field(
        False,
        description="IEC-HS-directed therapy needed (e.g. anakinra, corticosteroids, "
        "ruxolitinib, emapalumab)",
    )
    bleeding: Bleeding = field(
        "none",
        description="none, requiring_transfusion (coagulopathy with bleeding needing "
        "transfusion), life_threatening",
    )
    vasopressors: bool = field(False, description="hemodynamic instability needing vasopressors")
    died_of_iec_hs: bool = field(False, description="death attributed to IEC-HS (grade 5)")


def _num(c: Columns, name: str) -> npt.NDArray[np.float64]:
    return np.asarray(c[name], dtype=np.float64)


def _given(c: Columns, name: str) -> npt.NDArray[np.bool_]:
    return np.asarray(~np.isnan(_num(c, name)))


def _bool(c: Columns, name: str) -> npt.NDArray[np.bool_]:
    return np.asarray(c[name], dtype=bool)


def _transaminase_high(c: Columns, enzyme: str) -> npt.NDArray[np.bool_]:
    value = _num(c, f"{enzyme}_u_l")
    uln = _num(c, f"{enzyme}_uln_u_l")
    baseline = _num(c, f"{enzyme}_baseline_u_l")
    with np.errstate(invalid="ignore"):
        abnormal_baseline = baseline > uln
        reference = np.where(abnormal_baseline, baseline, uln)
        return np.asarray(value > TRANSAMINASE_FOLD * reference)


def _criteria(c: Columns) -> dict[str, npt.NDArray[np.bool_]]:
    """Every identification criterion as a boolean array (NaN comparisons are false)."""
    ferritin = _num(c, "ferritin_ug_l")
    with np.errstate(invalid="ignore"):
        above_uln = ferritin > FERRITIN_FOLD * _num(c, "ferritin_uln_ug_l")
        above_baseline = ferritin > FERRITIN_FOLD * _num(c, "ferritin_baseline_ug_l")
        low_fibrinogen = _num(c, "fibrinogen_g_l") < FIBRINOGEN_BELOW_G_L
        high_tg = _num(c, "triglycerides_mmol_l") >= TRIGLYCERIDES_FROM_MMOL_L
        high_ldh = _num(c, "ldh_u_l") > _num(c, "ldh_uln_u_l")
    crit: dict[str, npt.NDArray[np.bool_]] = {
        "ferritin_above_uln": np.asarray(above_uln),
        "ferritin_above_baseline": np.asarray(above_baseline),
        "ferritin_rapid_rise": _bool(c, "ferritin_rapid_rise"),
        "hemophagocytosis": _bool(c, "hemophagocytosis"),
        "cytopenias": _bool(c, "new_or_worsening_cytopenias"),
        "hypofibrinogenemia": np.asarray(low_fibrinogen),
        "alt": _transaminase_high(c, "alt"),
        "ast": _transaminase_high(c, "ast"),
        "hepatosplenomegaly": _bool(c, "hepatosplenomegaly"),
        "renal": np.asarray(c["renal_dysfunction"] != "none"),
        "pulmonary": np.asarray(
            _bool(c, "pulmonary_manifestations") | (c["respiratory_support"] != "none")
        ),
        "neurotoxicity": _bool(c, "neurotoxicity"),
        "hypertriglyceridemia": np.asarray(high_tg),
        "ldh": np.asarray(high_ldh),
    }
    return crit


_MANIFESTATIONS = (
    "hemophagocytosis",
    "cytopenias",
    "hypofibrinogenemia",
    "alt",
    "ast",
    "hepatosplenomegaly",
    "renal",
    "pulmonary",
    "neurotoxicity",
    "hypertriglyceridemia",
    "ldh",
)


def _met(c: Columns, crit: dict[str, npt.NDArray[np.bool_]]) -> npt.NDArray[np.bool_]:
    ferritin = (
        crit["ferritin_above_uln"] | crit["ferritin_above_baseline"] | crit["ferritin_rapid_rise"]
    )
    manifestation = np.zeros_like(ferritin)
    for name in _MANIFESTATIONS:
        manifestation = manifestation | crit[name]
    return np.asarray(_bool(c, "attributable_to_iec_therapy") & ferritin & manifestation)


def _criteria_met(c: Columns) -> npt.NDArray[np.bool_]:
    return _met(c, _criteria(c))


def _severity(c: Columns) -> npt.NDArray[np.int64]:
    """The grade the severity fields point to, 1–5, ignoring whether criteria are met."""
    resp = c["respiratory_support"]
    renal = c["renal_dysfunction"]
    bleed = c["bleeding"]
    grade4 = (
        _bool(c, "vasopressors")
        | (resp == "positive_pressure_ventilation")
        | (renal == "dialysis")
        | (bleed == "life_threatening")
    )
    grade3 = (
        (resp == "supplemental_oxygen")
        | (renal == "new_renal_insufficiency")
        | (bleed == "requiring_transfusion")
    )
    grade2 = _bool(c, "iec_hs_directed_therapy")
    grade = np.where(
        _bool(c, "died_of_iec_hs"),
        5,
        np.where(grade4, 4, np.where(grade3, 3, np.where(grade2, 2, 1))),
    )
    return np.asarray(grade, dtype=np.int64)


def _grade(c: Columns) -> npt.NDArray[np.int64]:
    return np.asarray(np.where(_criteria_met(c), _severity(c), 0), dtype=np.int64)


def _labels(grades: npt.NDArray[np.int64]) -> npt.NDArray[Any]:
    return by_integer(grades, lambda g: NOT_MET_LABEL if g == 0 else f"grade {g}")


def _vectorized(c: Columns) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    grades = _grade(c)
    return grades, _labels(grades)


def _value_without(c: Columns, value: str, reference: str) -> npt.NDArray[np.bool_]:
    return np.asarray(_given(c, value) & ~_given(c, reference))


CHECKS = (
    Check(
        field="ferritin_uln_ug_l",
        message="a measured ferritin needs a reference to judge the rise: give the laboratory "
        "ULN (ferritin_uln_ug_l) or the ferritin at infusion (ferritin_baseline_ug_l), or "
        "set ferritin_rapid_rise",
        violated=lambda c: (
            _given(c, "ferritin_ug_l")
            & ~_given(c, "ferritin_uln_ug_l")
            & ~_given(c, "ferritin_baseline_ug_l")
            & ~_bool(c, "ferritin_rapid_rise")
        ),
    ),
    Check(
        field="ferritin_ug_l",
        message="ferritin ULN or baseline given without the current ferritin_ug_l",
        violated=lambda c: (
            ~_given(c, "ferritin_ug_l")
            & (_given(c, "ferritin_uln_ug_l") | _given(c, "ferritin_baseline_ug_l"))
        ),
    ),
    Check(
        field="alt_uln_u_l",
        message="ALT given without the laboratory ULN (alt_uln_u_l)",
        violated=lambda c: _value_without(c, "alt_u_l", "alt_uln_u_l"),
    ),
    Check(
        field="ast_uln_u_l",
        message="AST given without the laboratory ULN (ast_uln_u_l)",
        violated=lambda c: _value_without(c, "ast_u_l", "ast_uln_u_l"),
    ),
    Check(
        field="ldh_uln_u_l",
        message="LDH given without the laboratory ULN (ldh_uln_u_l)",
        violated=lambda c: _value_without(c, "ldh_u_l", "ldh_uln_u_l"),
    ),
    Check(
        field="died_of_iec_hs",
        message="death attributed to IEC-HS, but the IEC-HS criteria are not met by the other "
        "fields (attribution to IEC therapy, ferritin criterion and at least one manifestation)",
        violated=lambda c: _bool(c, "died_of_iec_hs") & ~_criteria_met(c),
    ),
)


_NUMBERS = ("f", "fold", "ref", "limit", "v", "uln", "grade")
FERRITIN_TEST = Reason(
    "ferritin {f} µg/L {verdict} {fold} × {reference} {ref} = {limit} µg/L",
    numbers=_NUMBERS,
    patterns={"verdict": "not >|>", "reference": "ULN|baseline"},
)
RAPID_RISE = "ferritin rapidly rising (clinician assessment)"
ATTRIBUTED = Reason("hyperinflammation attributable to the IEC therapy (clinician judgement)")
NOT_ATTRIBUTED = Reason("not attributed to the IEC therapy: IEC-HS criteria not met")
FERRITIN_MET = Reason("ferritin criterion met: {tests}", lists={"tests": Items("; ")})
FERRITIN_NOT_MET = Reason("ferritin criterion not met ({tests})", lists={"tests": Items("; ")})
NO_FERRITIN = Reason("ferritin criterion not met (no ferritin given)")
MANIFESTATIONS = Reason("manifestations: {found}", lists={"found": Items("; ")})
NO_MANIFESTATION = Reason("no qualifying manifestation (at least one is required)")
HEMOPHAGOCYTOSIS = "hemophagocytosis in marrow or tissue"
CYTOPENIAS = "new, progressive or refractory cytopenias"
HEPATOSPLENOMEGALY = "new or worsening hepatosplenomegaly"
NEUROTOXICITY = "neurotoxicity"
FIBRINOGEN = Reason("fibrinogen {v} g/L < {limit} g/L: hypofibrinogenemia", numbers=_NUMBERS)
TRANSAMINASE = Reason(
    "{enzyme} {v} U/L > {fold} × {reference}: transaminase elevation",
    numbers=_NUMBERS,
    patterns={"enzyme": "ALT|AST"},
)
ABNORMAL_BASELINE = Reason("baseline {v} U/L (abnormal at baseline)", numbers=_NUMBERS)
ULN = Reason("ULN {uln} U/L", numbers=_NUMBERS)
RENAL = Reason("renal dysfunction ({kind})")
PULMONARY = Reason("pulmonary manifestations (respiratory support: {support})")
TRIGLYCERIDES = Reason("fasting triglycerides {v} mmol/L ≥ {limit} mmol/L", numbers=_NUMBERS)
LDH = Reason("LDH {v} U/L > ULN {uln} U/L", numbers=_NUMBERS)
DEATH = Reason("death from IEC-HS → grade 5")
MILD = Reason("asymptomatic or mild, no IEC-HS-directed therapy needed → grade 1")
SEVERITY = Reason(
    "{features} → grade {grade} ({meaning})", numbers=_NUMBERS, lists={"features": Items("; ")}
)
FEATURES = {
    "vasopressors": "hemodynamic instability needing vasopressors",
    "positive_pressure": "hypoxia needing positive-pressure ventilation",
    "dialysis": "renal failure needing dialysis",
    "life_threatening_bleeding": "life-threatening bleeding",
    "oxygen": "hypoxia needing supplemental oxygen",
    "renal": "new-onset renal insufficiency",
    "transfusion": "coagulopathy with bleeding needing transfusion",
    "therapy": "needs IEC-HS-directed therapy",
}
MEANING = {4: "life-threatening", 3: "severe, organ dysfunction", 2: "mild to moderate"}
ORGANS_WITHOUT_CRITERIA = Reason(
    "organ dysfunction is recorded but the IEC-HS criteria are not met: consider CRS, infection "
    "or another cause"
)
THERAPY_WITHOUT_CRITERIA = Reason(
    "IEC-HS-directed therapy is recorded but the criteria are not met"
)
ONSET_UNKNOWN = Reason(
    "onset not stated: IEC-HS typically emerges as CRS resolves or worsens after initial "
    "improvement with CRS-directed therapy"
)
ONSET_DURING_CRS = Reason(
    "onset during active CRS: features overlap with CRS — the attribution to IEC-HS needs "
    "clinician adjudication"
)
FERRITIN_MISSING = Reason("no ferritin given: the ferritin criterion cannot be met")
CYTOPENIAS_CAVEAT = Reason(
    "cytopenias count only if new, progressive or refractory beyond the expected course after "
    "lymphodepletion"
)
EXTRAPOLATION = Reason(
    "ASTCT IEC-HS framework (Hines 2023) derived in oncology; in autoimmune disease an "
    "extrapolation. Thresholds pending verification against the paper's tables."
)
NOT_MET_LABEL = "criteria not met"
WORDS = (
    "baseline", "not >", RAPID_RISE, HEMOPHAGOCYTOSIS, CYTOPENIAS, HEPATOSPLENOMEGALY,
    NEUROTOXICITY, NOT_MET_LABEL,
    *FEATURES.values(), *MEANING.values(),
    "new renal insufficiency", "dialysis", "supplemental oxygen", "positive pressure ventilation",
)  # fmt: skip
"""The texts its reasons quote (the catalogues list them: `locale/sources.toml`)."""


def _ferritin_reasons(inp: IecHsInput, crit: dict[str, bool]) -> list[tuple[bool, str]]:
    """(fired, text) for each ferritin test that could be evaluated."""
    out: list[tuple[bool, str]] = []
    f = inp.ferritin_ug_l
    for key, ref_name, ref in (
        ("ferritin_above_uln", "ULN", inp.ferritin_uln_ug_l),
        ("ferritin_above_baseline", "baseline", inp.ferritin_baseline_ug_l),
    ):
        if f is not None and ref is not None:
            fired = crit[key]
            test = FERRITIN_TEST(
                f=f"{f:g}", verdict=">" if fired else "not >", fold=f"{FERRITIN_FOLD:g}",
                reference=ref_name, ref=f"{ref:g}", limit=f"{FERRITIN_FOLD * ref:g}",
            )  # fmt: skip
            out.append((fired, test))
    if inp.ferritin_rapid_rise:
        out.append((True, RAPID_RISE))
    return out


def _manifestation_reasons(inp: IecHsInput, crit: dict[str, bool]) -> list[str]:
    out = []
    if crit["hemophagocytosis"]:
        out.append(HEMOPHAGOCYTOSIS)
    if crit["cytopenias"]:
        out.append(CYTOPENIAS)
    if crit["hypofibrinogenemia"]:
        out.append(FIBRINOGEN(v=f"{inp.fibrinogen_g_l:g}", limit=f"{FIBRINOGEN_BELOW_G_L:g}"))
    for enzyme in ("alt", "ast"):
        if crit[enzyme]:
            value = getattr(inp, f"{enzyme}_u_l")
            uln = getattr(inp, f"{enzyme}_uln_u_l")
            baseline = getattr(inp, f"{enzyme}_baseline_u_l")
            if baseline is not None and baseline > uln:
                ref = ABNORMAL_BASELINE(v=f"{baseline:g}")
            else:
                ref = ULN(uln=f"{uln:g}")
            out.append(
                TRANSAMINASE(
                    enzyme=enzyme.upper(), v=f"{value:g}", fold=f"{TRANSAMINASE_FOLD:g}",
                    reference=ref,
                )
            )  # fmt: skip
    if crit["hepatosplenomegaly"]:
        out.append(HEPATOSPLENOMEGALY)
    if crit["renal"]:
        out.append(RENAL(kind=inp.renal_dysfunction.replace("_", " ")))
    if crit["pulmonary"]:
        out.append(PULMONARY(support=inp.respiratory_support.replace("_", " ")))
    if crit["neurotoxicity"]:
        out.append(NEUROTOXICITY)
    if crit["hypertriglyceridemia"]:
        out.append(
            TRIGLYCERIDES(v=f"{inp.triglycerides_mmol_l:g}", limit=f"{TRIGLYCERIDES_FROM_MMOL_L:g}")
        )
    if crit["ldh"]:
        out.append(LDH(v=f"{inp.ldh_u_l:g}", uln=f"{inp.ldh_uln_u_l:g}"))
    return out


def _severity_reasons(inp: IecHsInput, grade: int) -> list[str]:
    if grade == 5:
        return [DEATH()]
    features = []
    if inp.vasopressors:
        features.append((4, FEATURES["vasopressors"]))
    if inp.respiratory_support == "positive_pressure_ventilation":
        features.append((4, FEATURES["positive_pressure"]))
    if inp.renal_dysfunction == "dialysis":
        features.append((4, FEATURES["dialysis"]))
    if inp.bleeding == "life_threatening":
        features.append((4, FEATURES["life_threatening_bleeding"]))
    if inp.respiratory_support == "supplemental_oxygen":
        features.append((3, FEATURES["oxygen"]))
    if inp.renal_dysfunction == "new_renal_insufficiency":
        features.append((3, FEATURES["renal"]))
    if inp.bleeding == "requiring_transfusion":
        features.append((3, FEATURES["transfusion"]))
    if inp.iec_hs_directed_therapy:
        features.append((2, FEATURES["therapy"]))
    top = [text for g, text in features if g == grade]
    if not top:
        return [MILD()]
    return [SEVERITY(features="; ".join(top), grade=grade, meaning=MEANING[grade])]


@register(
    name="iec_hs",
    title="IEC-HS (immune effector cell-associated HLH-like syndrome, ASTCT 2023)",
    citation=CITATION,
    input_model=IecHsInput,
    vectorized=_vectorized,
    checks=CHECKS,
)
def iec_hs(inp: IecHsInput) -> Grading:
    """Identify IEC-HS and grade it (0 = criteria not met)."""
    cols = as_columns(inp)
    crit = {k: bool(v) for k, v in _criteria(cols).items()}
    met = bool(_met(cols, _criteria(cols)))
    grade = int(_grade(cols))
    ferritin_ok = (
        crit["ferritin_above_uln"] or crit["ferritin_above_baseline"] or crit["ferritin_rapid_rise"]
    )
    ferritin_reasons = _ferritin_reasons(inp, crit)
    manifestations = _manifestation_reasons(inp, crit)

    reasons: list[str] = []
    warnings: list[str] = []
    if inp.attributable_to_iec_therapy:
        reasons.append(ATTRIBUTED())
    else:
        reasons.append(NOT_ATTRIBUTED())
    if ferritin_ok:
        reasons.append(FERRITIN_MET(tests="; ".join(t for fired, t in ferritin_reasons if fired)))
    elif ferritin_reasons:
        reasons.append(FERRITIN_NOT_MET(tests="; ".join(t for _, t in ferritin_reasons)))
    else:
        reasons.append(NO_FERRITIN())
    if manifestations:
        reasons.append(MANIFESTATIONS(found="; ".join(manifestations)))
    else:
        reasons.append(NO_MANIFESTATION())

    if met:
        reasons.extend(_severity_reasons(inp, grade))
    else:
        if _severity_of(cols) >= 3:
            warnings.append(ORGANS_WITHOUT_CRITERIA())
        if inp.iec_hs_directed_therapy:
            warnings.append(THERAPY_WITHOUT_CRITERIA())

    if inp.onset is None:
        warnings.append(ONSET_UNKNOWN())
    elif inp.onset == "during_active_crs":
        warnings.append(ONSET_DURING_CRS())
    if inp.ferritin_ug_l is None and not inp.ferritin_rapid_rise:
        warnings.append(FERRITIN_MISSING())
    if inp.new_or_worsening_cytopenias:
        warnings.append(CYTOPENIAS_CAVEAT())
    warnings.append(EXTRAPOLATION())
    return Grading(
        value=grade,
        label=str(_labels(np.asarray([grade], dtype=np.int64))[0]),
        reasons=reasons,
        warnings=warnings,
        details={"criteria": crit, "criteria_met": met},
    )


def _severity_of(cols: Columns) -> int:
    return int(_severity(cols))
