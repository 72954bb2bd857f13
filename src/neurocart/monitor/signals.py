"""The named signals rules may use: what each means, its unit, and where it comes from.

A signal is a value the engine derives per patient from facts (through the calculators of
`neurocart.standards` for every grade) and keeps current. Rule files name signals; a name
not listed here is rejected when the file is loaded. One place for the vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from neurocart.standards.reason import Reason


@dataclass(frozen=True)
class Signal:
    """A named value rules may test (e.g. `crs_grade`), with its label and unit for alert texts."""

    name: str
    label: str
    unit: str = ""
    kind: str = "number"  # number | int | bool | text
    series_code: str | None = None  # observation code, for `for_days` (sustained) conditions
    passive: bool = False  # never triggers evaluation on its own (changes with every fact)

    def format(self, value: Any) -> str:
        if value is None:
            return f"{self.label}: not available"
        if isinstance(value, bool):
            return f"{self.label}: {'yes' if value else 'no'}"
        if isinstance(value, float):
            text = f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
        else:
            text = str(value)
        return f"{self.label} {text}{(' ' + self.unit) if self.unit else ''}"


SUSTAINED = Reason("{clause} for {days} day(s)", numbers=("days",))
"""A sustained condition among an alert's findings ("ANC < 0.5 ×10⁹/L for 7 day(s)"): the
message key a page translates it by (`neurocart.web.localized.findings`)."""


# Observation codes (as in `neurocart.ingest.codes`; canonical SI units).
TEMPERATURE = "8310-5"
HEART_RATE = "8867-4"
SYSTOLIC_BP = "8480-6"
SPO2 = "59408-5"
RESP_RATE = "9279-1"
CRP = "1988-5"
FERRITIN = "2276-4"
IL6 = "26881-3"
ANC = "751-8"
PLATELETS = "777-3"
HEMOGLOBIN = "718-7"
LYMPHOCYTES = "731-0"
WBC = "6690-2"
LDH = "2532-0"
CREATININE = "2160-0"
IGG = "2465-3"
FIBRINOGEN = "3255-7"

VITAL_CODES = frozenset({TEMPERATURE, HEART_RATE, SYSTOLIC_BP, SPO2, RESP_RATE})

OBSERVATION_SIGNAL: dict[str, str] = {
    TEMPERATURE: "temperature_c",
    HEART_RATE: "heart_rate_min",
    SYSTOLIC_BP: "sbp_mmhg",
    SPO2: "spo2_pct",
    RESP_RATE: "resp_rate_min",
    CRP: "crp_mg_l",
    FERRITIN: "ferritin_ug_l",
    IL6: "il6_ng_l",
    ANC: "anc_10e9_l",
    PLATELETS: "platelets_10e9_l",
    HEMOGLOBIN: "hemoglobin_g_l",
    LYMPHOCYTES: "lymphocytes_10e9_l",
    WBC: "wbc_10e9_l",
    LDH: "ldh_u_l",
    CREATININE: "creatinine_umol_l",
    IGG: "igg_g_l",
    FIBRINOGEN: "fibrinogen_g_l",
}
"""Observation code → the signal holding its latest value."""

_OBS_LABELS: dict[str, tuple[str, str]] = {
    "temperature_c": ("temperature", "°C"),
    "heart_rate_min": ("heart rate", "/min"),
    "sbp_mmhg": ("systolic BP", "mmHg"),
    "spo2_pct": ("SpO₂", "%"),
    "resp_rate_min": ("respiratory rate", "/min"),
    "crp_mg_l": ("CRP", "mg/L"),
    "ferritin_ug_l": ("ferritin", "µg/L"),
    "il6_ng_l": ("IL-6", "ng/L"),
    "anc_10e9_l": ("ANC", "×10⁹/L"),
    "platelets_10e9_l": ("platelets", "×10⁹/L"),
    "hemoglobin_g_l": ("hemoglobin", "g/L"),
    "lymphocytes_10e9_l": ("lymphocytes", "×10⁹/L"),
    "wbc_10e9_l": ("white cells", "×10⁹/L"),
    "ldh_u_l": ("LDH", "U/L"),
    "creatinine_umol_l": ("creatinine", "µmol/L"),
    "igg_g_l": ("IgG", "g/L"),
    "fibrinogen_g_l": ("fibrinogen", "g/L"),
}

_DERIVED: tuple[Signal, ...] = (
    Signal("study_day", "study day", kind="int"),
    Signal("hours_since_infusion", "hours since infusion", "h", passive=True),
    Signal("temperature_max_24h_c", "highest temperature in 24 h", "°C"),
    Signal("sbp_min_24h_mmhg", "lowest systolic BP in 24 h", "mmHg"),
    Signal("hypotension", "hypotension (systolic BP below threshold in 24 h)", kind="bool"),
    Signal("vasopressors", "vasopressors (vasopressin not counted)", kind="int"),
    Signal("vasopressin", "vasopressin", kind="bool"),
    Signal("oxygen_device", "oxygen support", kind="text"),
    Signal("oxygen_flow_l_min", "oxygen flow", "L/min"),
    Signal("fever_masked", "fever masked by tocilizumab/corticosteroids", kind="bool"),
    Signal("crs_grade", "CRS grade (ASTCT)", kind="int"),
    Signal("crs_grade_derived", "CRS grade derived from vitals and events", kind="int"),
    Signal("crs_grade_recorded", "CRS grade recorded by a clinician (last 24 h)", kind="int"),
    Signal("crs_grade_source", "current CRS grade", kind="text"),
    Signal("ice_score", "ICE score", "/10", kind="int"),
    Signal("ice_baseline", "baseline ICE", "/10", kind="int"),
    Signal("ice_drop", "ICE drop from baseline", "points", kind="int"),
    Signal("icans_grade", "ICANS grade (baseline-adjusted when a baseline ICE exists)", kind="int"),
    Signal("icans_astct_grade", "ICANS grade (ASTCT, unadjusted)", kind="int"),
    Signal("seizure", "seizure in the last 24 h", kind="bool"),
    Signal("consciousness", "level of consciousness", kind="text"),
    Signal("anc_grade", "CTCAE neutrophil count decreased grade", kind="int"),
    Signal("platelet_grade", "CTCAE platelet count decreased grade", kind="int"),
    Signal("lymphocyte_grade", "CTCAE lymphocyte count decreased grade", kind="int"),
    Signal("wbc_grade", "CTCAE white blood cell decreased grade", kind="int"),
    Signal("anemia_grade", "CTCAE anemia grade", kind="int"),
    Signal("icaht_grade", "ICAHT grade", kind="int"),
    Signal(
        "icaht_provisional",
        "ICAHT grade provisional (before day 30 an ongoing early episode grades 4)",
        kind="bool",
        passive=True,
    ),
    Signal("crp_delta_24h_mg_l", "CRP change over 24 h", "mg/L"),
    Signal("ferritin_delta_24h_ug_l", "ferritin change over 24 h", "µg/L"),
    Signal("easix_pre_ld", "EASIX before lymphodepletion"),
    Signal("m_easix_pre_ld", "m-EASIX before lymphodepletion"),
    Signal("easix_d0", "EASIX day 0"),
    Signal("m_easix_d0", "m-EASIX day 0"),
    Signal("easix_d3", "EASIX day 3"),
    Signal("m_easix_d3", "m-EASIX day 3"),
    Signal("car_hematotox", "CAR-HEMATOTOX score", kind="int"),
    Signal("iec_hs_grade", "IEC-HS grade", kind="int"),
    Signal("overdue_critical_count", "critical protocol tasks overdue", kind="int"),
    Signal("overdue_critical_tasks", "overdue", kind="text"),
)


def _catalogue() -> dict[str, Signal]:
    out: dict[str, Signal] = {}
    code_of = {name: code for code, name in OBSERVATION_SIGNAL.items()}
    for name, (label, unit) in _OBS_LABELS.items():
        out[name] = Signal(name, label, unit, series_code=code_of[name])
    for s in _DERIVED:
        out[s.name] = s
    return out


SIGNALS: dict[str, Signal] = _catalogue()
"""Every signal a rule may name."""

assert set(OBSERVATION_SIGNAL.values()) <= set(SIGNALS)
