"""CIDP motor nerve conduction criteria, EAN/PNS guideline 2021 (second revision).

Van den Bergh PYK, van Doorn PA, Hadden RDM, et al. European Academy of Neurology/Peripheral
Nerve Society guideline on diagnosis and treatment of chronic inflammatory demyelinating
polyradiculoneuropathy: report of a joint Task Force — second revision. Eur J Neurol
2021;28:3556–83 (doi:10.1111/ene.14959) and J Peripher Nerv Syst 2021;26:242–68. The 2010
(EFNS/PNS) wording of the same items as quoted in Ann Clin Transl Neurol 2021;8:1110–21
(doi:10.1002/acn3.51357, Table 2); distal CMAP duration limits from Isose S, et al. Clin
Neurophysiol 2009;120:1727–33.

Per nerve (one nerve on one side; left and right median are two nerves), findings:

* a — distal motor latency ≥ 50 % above ULN (not a median nerve with carpal tunnel syndrome);
* b — motor conduction velocity ≥ 30 % below LLN;
* c — F-wave latency ≥ 20 % above ULN, or ≥ 50 % when the distal CMAP is < 80 % of LLN (or its
  amplitude or LLN is missing);
* d — F-waves absent, counted only when the distal CMAP is ≥ 20 % of LLN;
* e — motor conduction block: proximal/distal negative-peak amplitude reduction ≥ 30 %, not in
  the tibial nerve, distal CMAP ≥ 20 % of LLN;
* f — abnormal temporal dispersion: proximal/distal duration increase > 30 % (≥ 100 % tibial);
* g — distal CMAP duration ≥ median 6.6, ulnar 6.7, peroneal 7.6, tibial 8.8 ms (filter
  dependent: these go with a 20 Hz low-frequency filter; another filter needs the lab's
  `cmap_duration_threshold_ms`).

value `strongly_supportive` if any of: a, b, c or f in ≥ 2 nerves; d in 2 nerves + any of
a b c e f g in another nerve; e in ≥ 2 nerves, or e in 1 nerve + any of a b c f g in another;
g in 1 nerve + any of a–f in another. `weakly_supportive`: not strong but ≥ 1 finding in ≥ 1
nerve. Else `not_met`. A criterion whose inputs are missing is not evaluable for that nerve
and says so in the reasons.

Sources and their limits: the guideline's criteria box could not be read when this module was
written; the 2021 thresholds (F 20 %, block 30 %, tibial dispersion 100 %) are those of the
guideline as summarised by secondary sources and the 2010 differences are documented: 2010
F-wave ≥ 30 %, block ≥ 50 % for "definite" (≥ 30 % only "probable"), no tibial dispersion rule.
Sensory conduction is not part of the value; `sensory_nerves` gives the count of abnormal
sensory nerves (≥ 2 for typical CIDP) in the extras. Percentages are rounded to 6 decimals
before each comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any, Literal

from pydantic import field_validator, model_validator

from neurocart.standards.inputs import CalcInput, field
from neurocart.standards.reason import PERCENT, Items, Reason
from neurocart.standards.registry import Grading, register

CITATION = (
    "Van den Bergh PYK, et al. EAN/PNS guideline on CIDP, second revision. Eur J Neurol "
    "2021;28:3556–83, doi:10.1111/ene.14959; J Peripher Nerv Syst 2021;26:242–68"
)

Nerve = Literal["median", "ulnar", "peroneal", "tibial"]
Side = Literal["left", "right"]
DURATION_THRESHOLD_MS: dict[str, float] = {
    "median": 6.6,
    "ulnar": 6.7,
    "peroneal": 7.6,
    "tibial": 8.8,
}
"""Distal CMAP duration limits at a 20 Hz low-frequency filter (Isose et al. 2009)."""
REFERENCE_LFF_HZ = 20.0
FINDINGS = "abcdefg"
DESCRIPTIONS = {
    "a": "distal motor latency ≥ 50 % above ULN",
    "b": "motor conduction velocity ≥ 30 % below LLN",
    "c": "F-wave latency prolonged",
    "d": "F-waves absent (distal CMAP ≥ 20 % of LLN)",
    "e": "motor conduction block ≥ 30 %",
    "f": "abnormal temporal dispersion",
    "g": "distal CMAP duration prolonged",
}


def _ms(description: str) -> Any:
    return field(None, description=description, unit="ms", gt=0, le=200)


def _mv(description: str) -> Any:
    return field(None, description=description, unit="mV", ge=0, le=100)


class MotorNerve(CalcInput):
    """One motor nerve's conduction measurements and the lab's limits they are judged against."""

    nerve: Nerve = field(description="median, ulnar (below elbow), peroneal (below fibular "
                         "head) or tibial")  # fmt: skip
    side: Side = field(description="left or right")
    distal_latency_ms: float | None = _ms("distal motor latency")
    distal_latency_uln_ms: float | None = _ms("the lab's upper limit of distal latency")
    conduction_velocity_m_s: float | None = field(
        None, description="motor conduction velocity", unit="m/s", gt=0, le=150
    )
    conduction_velocity_lln_m_s: float | None = field(
        None, description="the lab's lower limit of conduction velocity", unit="m/s", gt=0,
        le=150,
    )  # fmt: skip
    f_wave_latency_ms: float | None = _ms("minimal F-wave latency")
    f_wave_uln_ms: float | None = _ms("the lab's upper limit of F-wave latency")
    f_waves_absent: bool = field(False, description="no F-waves obtained")
    cmap_distal_mv: float | None = _mv("distal CMAP amplitude (negative peak)")
    cmap_proximal_mv: float | None = _mv("proximal CMAP amplitude (negative peak)")
    cmap_lln_mv: float | None = field(
        None, description="the lab's lower limit of distal CMAP amplitude", unit="mV", gt=0,
        le=100,
    )  # fmt: skip
    cmap_duration_distal_ms: float | None = _ms("distal CMAP duration")
    cmap_duration_proximal_ms: float | None = _ms("proximal CMAP duration")
    cmap_duration_threshold_ms: float | None = _ms(
        "the lab's distal CMAP duration limit (for a filter other than 20 Hz)"
    )
    carpal_tunnel: bool = field(False, description="carpal tunnel syndrome (median nerve)")
    limb_temperature_c: float | None = field(
        None, description="limb temperature", unit="°C", ge=15, le=42
    )
    lff_hz: float | None = field(
        None, description="low-frequency filter setting", unit="Hz", gt=0, le=1000
    )

    @model_validator(mode="after")
    def _consistent(self) -> MotorNerve:
        if self.f_waves_absent and self.f_wave_latency_ms is not None:
            raise ValueError(F_WAVE_BOTH())
        if (
            self.lff_hz is not None
            and self.lff_hz != REFERENCE_LFF_HZ
            and self.cmap_duration_distal_ms is not None
            and self.cmap_duration_threshold_ms is None
        ):
            raise ValueError(DURATION_LIMIT_NEEDED(lff=f"{self.lff_hz:g}"))
        return self


class SensoryNerve(CalcInput):
    """One sensory nerve study, recorded only as abnormal or not."""

    nerve: Literal["median", "ulnar", "radial", "sural", "superficial_peroneal"] = field(
        description="sensory nerve"
    )
    side: Side = field(description="left or right")
    abnormal: bool = field(description="distal latency, SNAP amplitude or velocity abnormal")


class CidpNcsInput(CalcInput):
    """The inputs of the EAN/PNS 2021 CIDP electrodiagnostic criteria: the motor and sensory nerve
    studies.
    """

    nerves: list[MotorNerve] = field(description="motor nerve studies, one per nerve and side")
    sensory_nerves: list[SensoryNerve] = field([], description="sensory nerve studies")

    @field_validator("nerves")
    @classmethod
    def _distinct(cls, value: list[MotorNerve]) -> list[MotorNerve]:
        if not value:
            raise ValueError(NO_MOTOR_NERVE())
        seen: set[tuple[str, str]] = set()
        for n in value:
            if (n.nerve, n.side) in seen:
                raise ValueError(TWICE(nerve=f"{n.side} {n.nerve}"))
            seen.add((n.nerve, n.side))
        return value


_NERVE = {"nerve": r"(?:left|right) [a-z_]+"}
_NUMBERS = ("ms", "p", "v", "needed", "mv", "a", "b", "limit", "lff", "t")
_PERCENT = {"share": PERCENT, "reduction": PERCENT}
LATENCY = Reason("distal latency {ms} ms, {p} % above ULN", numbers=_NUMBERS)
VELOCITY = Reason("velocity {v} m/s, {p} % below LLN", numbers=_NUMBERS)
F_WAVE = Reason("F-wave {ms} ms, {p} % above ULN (≥ {needed} %)", numbers=_NUMBERS)
F_ABSENT = Reason(
    "F-waves absent with distal CMAP {mv} mV ≥ {share} of LLN", numbers=_NUMBERS, patterns=_PERCENT
)
BLOCK = Reason("CMAP {a} → {b} mV, {reduction} reduction", numbers=_NUMBERS, patterns=_PERCENT)
DISPERSION = Reason("duration {a} → {b} ms, +{p} %", numbers=_NUMBERS)
DURATION = Reason("distal CMAP duration {ms} ms ≥ {limit} ms", numbers=_NUMBERS)
FOUND = Reason("{nerve}: {finding} — {why}", patterns={**_NERVE, "finding": "[a-g]"})
NO_FINDING = Reason("{nerve}: no demyelinating finding", patterns=_NERVE)
NOT_EVALUABLE = Reason(
    "{nerve}: not evaluable: {measures}", patterns=_NERVE, lists={"measures": Items(", ")}
)
STRONG = Reason("strongly supportive: {combination}")
WEAK = Reason("findings in only one nerve (or not in the combinations): weakly supportive")
COOL = Reason(
    "{nerve}: limb temperature {t} °C — cool limbs slow conduction (neurocart check: warm to "
    "≥ 33 °C upper, ≥ 30 °C lower limb)",
    numbers=_NUMBERS,
    patterns=_NERVE,
)
F_WAVE_BOTH = Reason("f_wave_latency_ms given although f_waves_absent is true")
DURATION_LIMIT_NEEDED = Reason(
    "cmap_duration_threshold_ms is required with a {lff} Hz filter: the default duration "
    "limits go with 20 Hz",
    numbers=_NUMBERS,
)
NO_MOTOR_NERVE = Reason("at least one motor nerve is required")
TWICE = Reason("{nerve} given twice: one record per nerve and side", patterns=_NERVE)
NOT_EVALUABLE_WORDS = (
    "a (carpal tunnel syndrome)",
    "a (distal latency or its ULN missing)",
    "b (velocity or its LLN missing)",
    "c (F-wave latency or its ULN missing)",
    "d (distal CMAP or its LLN missing)",
    "e (proximal/distal CMAP or LLN missing)",
    "f (proximal/distal CMAP duration missing)",
    "g (distal CMAP duration missing)",
)
COMBINATIONS = (
    *(f"{x} in ≥ 2 nerves" for x in "abcf"),
    "d in 2 nerves + another finding in another nerve",
    "e in ≥ 2 nerves",
    "e in 1 nerve + a, b, c, f or g in another nerve",
    "g in 1 nerve + a–f in another nerve",
)
_NERVES = ("median", "ulnar", "peroneal", "tibial", "radial", "sural", "superficial_peroneal")


@dataclass
class NerveFindings:
    """The demyelinating findings one nerve shows, and the measures that could not be evaluated."""

    name: str
    found: dict[str, str] = dc_field(default_factory=dict)
    """finding letter → the measured reason it fired."""
    not_evaluable: list[str] = dc_field(default_factory=list)


def _pct(x: float) -> float:
    return round(x, 6)


def findings(n: MotorNerve) -> NerveFindings:
    """The findings a–g of one nerve."""
    out = NerveFindings(f"{n.side} {n.nerve}")
    dist, lln = n.cmap_distal_mv, n.cmap_lln_mv
    cmap_ratio = None if dist is None or lln is None else dist / lln
    # a: distal latency
    if n.nerve == "median" and n.carpal_tunnel:
        out.not_evaluable.append(NOT_EVALUABLE_WORDS[0])
    elif n.distal_latency_ms is None or n.distal_latency_uln_ms is None:
        out.not_evaluable.append(NOT_EVALUABLE_WORDS[1])
    else:
        p = _pct((n.distal_latency_ms / n.distal_latency_uln_ms - 1.0) * 100.0)
        if p >= 50:
            out.found["a"] = LATENCY(ms=f"{n.distal_latency_ms:g}", p=f"{p:g}")
    # b: conduction velocity
    if n.conduction_velocity_m_s is None or n.conduction_velocity_lln_m_s is None:
        out.not_evaluable.append(NOT_EVALUABLE_WORDS[2])
    else:
        p = _pct((1.0 - n.conduction_velocity_m_s / n.conduction_velocity_lln_m_s) * 100.0)
        if p >= 30:
            out.found["b"] = VELOCITY(v=f"{n.conduction_velocity_m_s:g}", p=f"{p:g}")
    # c: F-wave latency
    if n.f_wave_latency_ms is None or n.f_wave_uln_ms is None:
        if not n.f_waves_absent:
            out.not_evaluable.append(NOT_EVALUABLE_WORDS[3])
    else:
        needed = 20.0 if cmap_ratio is not None and _pct(cmap_ratio * 100) >= 80 else 50.0
        p = _pct((n.f_wave_latency_ms / n.f_wave_uln_ms - 1.0) * 100.0)
        if p >= needed:
            out.found["c"] = F_WAVE(ms=f"{n.f_wave_latency_ms:g}", p=f"{p:g}", needed=f"{needed:g}")
    # d: absent F-waves
    if n.f_waves_absent:
        if cmap_ratio is None:
            out.not_evaluable.append(NOT_EVALUABLE_WORDS[4])
        elif _pct(cmap_ratio * 100) >= 20:
            out.found["d"] = F_ABSENT(mv=f"{dist:g}", share="20 %")
    # e: conduction block
    if n.nerve == "tibial":
        pass  # not counted in the tibial nerve
    elif n.cmap_proximal_mv is None or dist is None or lln is None or dist == 0:
        out.not_evaluable.append(NOT_EVALUABLE_WORDS[5])
    elif _pct(cmap_ratio * 100) >= 20:  # type: ignore[operator]
        p = _pct((1.0 - n.cmap_proximal_mv / dist) * 100.0)
        if p >= 30:
            out.found["e"] = BLOCK(a=f"{dist:g}", b=f"{n.cmap_proximal_mv:g}", reduction=f"{p:g} %")
    # f: temporal dispersion
    if n.cmap_duration_distal_ms is None or n.cmap_duration_proximal_ms is None:
        out.not_evaluable.append(NOT_EVALUABLE_WORDS[6])
    else:
        p = _pct((n.cmap_duration_proximal_ms / n.cmap_duration_distal_ms - 1.0) * 100.0)
        if (p >= 100) if n.nerve == "tibial" else (p > 30):
            out.found["f"] = DISPERSION(
                a=f"{n.cmap_duration_distal_ms:g}", b=f"{n.cmap_duration_proximal_ms:g}", p=f"{p:g}"
            )
    # g: distal CMAP duration
    if n.cmap_duration_distal_ms is None:
        out.not_evaluable.append(NOT_EVALUABLE_WORDS[7])
    else:
        limit = n.cmap_duration_threshold_ms or DURATION_THRESHOLD_MS[n.nerve]
        if n.cmap_duration_distal_ms >= limit:
            out.found["g"] = DURATION(ms=f"{n.cmap_duration_distal_ms:g}", limit=f"{limit:g}")
    return out


def _with(nerves: list[NerveFindings], letters: str) -> list[int]:
    return [i for i, n in enumerate(nerves) if any(x in n.found for x in letters)]


def strongly_supportive(nerves: list[NerveFindings]) -> str | None:
    """The combination that makes the study strongly supportive, or None."""
    for i, x in enumerate("abcf"):
        if len(_with(nerves, x)) >= 2:
            return COMBINATIONS[i]
    d = _with(nerves, "d")
    if len(d) >= 2:
        for i in _with(nerves, "abcefg"):
            if len([k for k in d if k != i]) >= 2:
                return COMBINATIONS[4]
    e = _with(nerves, "e")
    if len(e) >= 2:
        return COMBINATIONS[5]
    if e and any(i != k for i in _with(nerves, "abcfg") for k in e):
        return COMBINATIONS[6]
    g = _with(nerves, "g")
    if g and any(i != k for i in _with(nerves, "abcdef") for k in g):
        return COMBINATIONS[7]
    return None


LABELS = {
    "strongly_supportive": "strongly supportive of CIDP",
    "weakly_supportive": "weakly supportive of CIDP",
    "not_met": "electrodiagnostic criteria not met",
}
WORDS = (
    *NOT_EVALUABLE_WORDS,
    *COMBINATIONS,
    *LABELS.values(),
    *(code.replace("_", " ") for code in LABELS),
    "absent",
    *(f"{side} {nerve}" for side in ("left", "right") for nerve in _NERVES),
)
"""The texts its reasons quote (the catalogues list them: `locale/sources.toml`)."""


@register(
    name="cidp_ncs_ean_pns_2021",
    title="CIDP motor conduction criteria (EAN/PNS 2021)",
    citation=CITATION,
    input_model=CidpNcsInput,
)
def cidp_ncs_ean_pns_2021(inp: CidpNcsInput) -> Grading:
    """strongly_supportive / weakly_supportive / not_met from per-nerve studies."""
    per_nerve = [findings(n) for n in inp.nerves]
    reasons: list[str] = []
    for nf in per_nerve:
        if nf.found:
            reasons.extend(FOUND(nerve=nf.name, finding=x, why=why) for x, why in nf.found.items())
        else:
            reasons.append(NO_FINDING(nerve=nf.name))
        if nf.not_evaluable:
            reasons.append(NOT_EVALUABLE(nerve=nf.name, measures=", ".join(nf.not_evaluable)))
    strong = strongly_supportive(per_nerve)
    if strong:
        value = "strongly_supportive"
        reasons.append(STRONG(combination=strong))
    elif any(nf.found for nf in per_nerve):
        value = "weakly_supportive"
        reasons.append(WEAK())
    else:
        value = "not_met"
    warnings = [
        COOL(nerve=f"{n.side} {n.nerve}", t=f"{n.limb_temperature_c:g}")
        for n in inp.nerves
        if n.limb_temperature_c is not None
        and n.limb_temperature_c < (33.0 if n.nerve in ("median", "ulnar") else 30.0)
    ]
    sensory_abnormal = sum(1 for s in inp.sensory_nerves if s.abnormal)
    details: dict[str, Any] = {
        "findings": {nf.name: sorted(nf.found) for nf in per_nerve},
        "sensory_abnormal_nerves": sensory_abnormal,
        "sensory_two_nerves": sensory_abnormal >= 2,
    }
    return Grading(value=value, label=LABELS[value], reasons=reasons, warnings=warnings,
                   details=details)  # fmt: skip
