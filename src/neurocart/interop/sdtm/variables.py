"""The variables of every dataset neurocart writes: order, label, core and origin.

One table drives both the XPT column labels and define.xml, so the two cannot disagree.
Core follows SDTMIG 3.4: Req (must be present and never null), Exp (present, may be null),
Perm. Origin is the Define-XML 2.1 origin type. Names ≤ 8 characters and labels ≤ 40, as SAS
transport v5 requires (a test holds every entry to it).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class Var:
    """One SDTM variable of a domain, with the metadata define.xml needs."""

    name: str
    label: str
    core: str = "Perm"
    origin: str = "Collected"
    codelist: str | None = None
    method: str | None = None
    """A MethodDef key (in define.xml) for a derived variable."""


def _id(domain: str) -> list[Var]:
    return [
        Var("STUDYID", "Study Identifier", "Req", "Assigned"),
        Var("DOMAIN", "Domain Abbreviation", "Req", "Assigned"),
        Var("USUBJID", "Unique Subject Identifier", "Req", "Derived", method="USUBJID"),
        Var(f"{domain}SEQ", "Sequence Number", "Req", "Derived", method="SEQ"),
    ]


def _timing(p: str, *, start_end: bool = False) -> list[Var]:
    visit = [
        Var("VISITNUM", "Visit Number", "Exp", "Derived", method="VISIT"),
        Var("VISIT", "Visit Name", "Perm", "Derived", method="VISIT"),
        Var("VISITDY", "Planned Study Day of Visit", "Perm", "Derived", method="VISIT"),
    ]
    if start_end:
        return [
            Var(f"{p}STDTC", "Start Date/Time", "Exp"),
            Var(f"{p}ENDTC", "End Date/Time", "Exp"),
            Var(f"{p}STDY", "Study Day of Start", "Perm", "Derived", method="DY"),
            Var(f"{p}ENDY", "Study Day of End", "Perm", "Derived", method="DY"),
        ]
    return [
        *visit,
        Var(f"{p}DTC", "Date/Time of Collection", "Exp"),
        Var(f"{p}DY", "Study Day of Collection", "Perm", "Derived", method="DY"),
    ]


def _findings(p: str, *, cat: bool = False, spec: bool = False, loinc: bool = False) -> list[Var]:
    out = [
        Var(f"{p}TESTCD", "Short Name of Test", "Req", "Assigned", codelist=f"{p}TESTCD"),
        Var(f"{p}TEST", "Name of Test", "Req", "Assigned", codelist=f"{p}TEST"),
    ]
    if cat:
        out.append(Var(f"{p}CAT", "Category", "Req" if p in {"QS", "FT", "RS"} else "Perm"))
    out += [
        Var(f"{p}ORRES", "Result in Original Units", "Exp"),
        Var(f"{p}ORRESU", "Original Units", "Exp", codelist="UNIT"),
        Var(f"{p}STRESC", "Result in Standard Format", "Exp", "Derived", method="STRES"),
        Var(f"{p}STRESN", "Numeric Result in Standard Units", "Exp", "Derived", method="STRES"),
        Var(f"{p}STRESU", "Standard Units", "Exp", "Derived", codelist="UNIT"),
    ]
    if spec:
        out.append(
            Var(f"{p}SPEC", "Specimen Type", "Exp" if p == "LB" else "Perm", codelist="SPEC")
        )
    if loinc:
        out.append(Var(f"{p}LOINC", "LOINC Code", "Perm", "Assigned"))
    return out


DM = [
    Var("STUDYID", "Study Identifier", "Req", "Assigned"),
    Var("DOMAIN", "Domain Abbreviation", "Req", "Assigned"),
    Var("USUBJID", "Unique Subject Identifier", "Req", "Derived", method="USUBJID"),
    Var("SUBJID", "Subject Identifier for the Study", "Req"),
    Var("RFSTDTC", "Subject Reference Start Date/Time", "Exp", "Derived", method="RFSTDTC"),
    Var("RFENDTC", "Subject Reference End Date/Time", "Exp", "Derived", method="RFSTDTC"),
    Var("RFXSTDTC", "Date/Time of First Study Treatment", "Exp", "Derived", method="RFSTDTC"),
    Var("RFXENDTC", "Date/Time of Last Study Treatment", "Exp", "Derived", method="RFSTDTC"),
    Var("DTHDTC", "Date/Time of Death", "Exp"),
    Var("DTHFL", "Subject Death Flag", "Exp", "Derived", codelist="NY"),
    Var("SITEID", "Study Site Identifier", "Req"),
    Var("BRTHDTC", "Date/Time of Birth", "Perm"),
    Var("AGE", "Age", "Exp", "Derived", method="AGE"),
    Var("AGEU", "Age Units", "Exp", "Assigned"),
    Var("SEX", "Sex", "Req", codelist="SEX"),
    Var("ARMCD", "Planned Arm Code", "Exp", "Assigned"),
    Var("ARM", "Description of Planned Arm", "Exp", "Assigned"),
    Var("ACTARMCD", "Actual Arm Code", "Exp", "Derived"),
    Var("ACTARM", "Description of Actual Arm", "Exp", "Derived"),
    Var("ARMNRS", "Reason Arm and/or Actual Arm is Null", "Exp", "Derived"),
    Var("COUNTRY", "Country", "Req", "Assigned"),
]

AE = [
    *_id("AE"),
    Var("AETERM", "Reported Term for the Adverse Event", "Req"),
    Var("AEDECOD", "Dictionary-Derived Term", "Req", "Assigned"),
    Var("AECAT", "Category for Adverse Event", "Perm", "Assigned"),
    Var("AESER", "Serious Event", "Exp", codelist="NY"),
    Var("AEREL", "Causality", "Exp"),
    Var("AEACN", "Action Taken with Study Treatment", "Exp"),
    Var("AESEV", "Severity/Intensity", "Perm", codelist="AESEV"),
    Var("AETOXGR", "Standard Toxicity Grade", "Exp", codelist="TOXGR"),
    *_timing("AE", start_end=True),
]

FA = [
    *_id("FA"),
    Var("FAGRPID", "Group ID", "Perm", "Derived"),
    *_findings("FA", cat=True)[:2],
    Var("FAOBJ", "Object of the Observation", "Req", "Assigned"),
    *_findings("FA", cat=True)[2:],
    *_timing("FA"),
]

CM = [
    *_id("CM"),
    Var("CMTRT", "Reported Name of Drug, Med, or Therapy", "Req"),
    Var("CMCAT", "Category for Medication", "Perm", "Assigned"),
    Var("CMCLAS", "Medication Class", "Perm", "Assigned"),
    Var("CMCLASCD", "Medication Class Code", "Perm", "Assigned"),
    Var("CMDOSE", "Dose per Administration", "Perm"),
    Var("CMDOSU", "Dose Units", "Perm", codelist="UNIT"),
    Var("CMENRF", "End Relative to Reference Period", "Perm", "Derived"),
    *_timing("CM", start_end=True),
]

EX = [
    *_id("EX"),
    Var("EXTRT", "Name of Treatment", "Req"),
    Var("EXCAT", "Category of Treatment", "Perm", "Assigned"),
    Var("EXDOSE", "Dose", "Exp"),
    Var("EXDOSU", "Dose Units", "Exp", codelist="UNIT"),
    Var("EXROUTE", "Route of Administration", "Perm", "Assigned"),
    Var("EXLOT", "Lot Number", "Perm"),
    *_timing("EX", start_end=True),
]

PR = [
    *_id("PR"),
    Var("PRTRT", "Reported Name of Procedure", "Req"),
    *_timing("PR", start_end=True),
]

LB = [
    *_id("LB"),
    *_findings("LB", spec=True, loinc=True),
    Var("LBTOXGR", "Standard Toxicity Grade", "Perm", "Derived", "TOXGR", method="LBTOXGR"),
    *_timing("LB"),
]
VS = [*_id("VS"), *_findings("VS"), *_timing("VS")]
PC = [
    *_id("PC"),
    *_findings("PC", spec=True),
    Var("PCLLOQ", "Lower Limit of Quantitation", "Exp"),
    *_timing("PC"),
    Var("PCTPTREF", "Time Point Reference", "Perm", "Assigned"),
    Var("PCRFTDTC", "Date/Time of Reference Time Point", "Perm", "Derived"),
    Var("PCELTM", "Planned Elapsed Time from Time Point Ref", "Perm", "Derived"),
]
PP = [
    *_id("PP"),
    *_findings("PP", cat=True, spec=True),
    Var("PPSTINT", "Planned Start of Assessment Interval", "Perm", "Assigned"),
    Var("PPENINT", "Planned End of Assessment Interval", "Perm", "Assigned"),
    Var("PPRFTDTC", "Date/Time of Reference Point", "Perm", "Derived"),
]
RS = [*_id("RS"), *_findings("RS", cat=True), *_timing("RS")]
QS = [*_id("QS"), *_findings("QS", cat=True), *_timing("QS")]
FT = [*_id("FT"), *_findings("FT", cat=True), *_timing("FT")]

DS = [
    *_id("DS"),
    Var("DSTERM", "Reported Term for the Disposition Event", "Req"),
    Var("DSDECOD", "Standardized Disposition Term", "Req", "Assigned"),
    Var("DSCAT", "Category for Disposition Event", "Exp", "Assigned"),
    Var("DSSTDTC", "Start Date/Time of Disposition Event", "Exp"),
    Var("DSSTDY", "Study Day of Start of Disposition Event", "Perm", "Derived", method="DY"),
]
MH = [
    *_id("MH"),
    Var("MHTERM", "Reported Term for the Medical History", "Req"),
    Var("MHCAT", "Category for Medical History", "Perm", "Assigned"),
    *_timing("MH", start_end=True),
]
CE = [
    *_id("CE"),
    Var("CETERM", "Reported Term for the Clinical Event", "Req"),
    Var("CECAT", "Category for Clinical Event", "Perm", "Assigned"),
    *_timing("CE", start_end=True),
]
HO = [
    *_id("HO"),
    Var("HOTERM", "Healthcare Encounter Term", "Req"),
    Var("HODECOD", "Dictionary-Derived Term", "Perm", "Assigned"),
    Var("HOINDC", "Indication", "Perm"),
    *_timing("HO", start_end=True),
]

TS = [
    Var("STUDYID", "Study Identifier", "Req", "Assigned"),
    Var("DOMAIN", "Domain Abbreviation", "Req", "Assigned"),
    Var("TSSEQ", "Sequence Number", "Req", "Assigned"),
    Var("TSPARMCD", "Trial Summary Parameter Short Name", "Req", "Assigned"),
    Var("TSPARM", "Trial Summary Parameter", "Req", "Assigned"),
    Var("TSVAL", "Parameter Value", "Exp", "Assigned"),
]
TA = [
    Var("STUDYID", "Study Identifier", "Req", "Assigned"),
    Var("DOMAIN", "Domain Abbreviation", "Req", "Assigned"),
    Var("ARMCD", "Planned Arm Code", "Req", "Protocol"),
    Var("ARM", "Description of Planned Arm", "Req", "Protocol"),
    Var("TAETORD", "Planned Order of Element within Arm", "Req", "Protocol"),
    Var("ETCD", "Element Code", "Req", "Protocol"),
    Var("ELEMENT", "Description of Element", "Perm", "Protocol"),
    Var("EPOCH", "Epoch", "Req", "Protocol"),
]
TE = [
    Var("STUDYID", "Study Identifier", "Req", "Assigned"),
    Var("DOMAIN", "Domain Abbreviation", "Req", "Assigned"),
    Var("ETCD", "Element Code", "Req", "Protocol"),
    Var("ELEMENT", "Description of Element", "Req", "Protocol"),
    Var("TESTRL", "Rule for Start of Element", "Req", "Protocol"),
    Var("TEENRL", "Rule for End of Element", "Perm", "Protocol"),
]
TV = [
    Var("STUDYID", "Study Identifier", "Req", "Assigned"),
    Var("DOMAIN", "Domain Abbreviation", "Req", "Assigned"),
    Var("VISITNUM", "Visit Number", "Req", "Protocol"),
    Var("VISIT", "Visit Name", "Perm", "Protocol"),
    Var("VISITDY", "Planned Study Day of Visit", "Perm", "Protocol"),
    Var("TVSTRL", "Visit Start Rule", "Req", "Protocol"),
]
RELREC = [
    Var("STUDYID", "Study Identifier", "Req", "Assigned"),
    Var("RDOMAIN", "Related Domain Abbreviation", "Req", "Assigned"),
    Var("USUBJID", "Unique Subject Identifier", "Exp", "Derived"),
    Var("IDVAR", "Identifying Variable", "Req", "Assigned"),
    Var("IDVARVAL", "Identifying Variable Value", "Exp", "Derived"),
    Var("RELTYPE", "Relationship Type", "Exp", "Assigned"),
    Var("RELID", "Relationship Identifier", "Req", "Derived"),
]
SUPP = [
    Var("STUDYID", "Study Identifier", "Req", "Assigned"),
    Var("RDOMAIN", "Related Domain Abbreviation", "Req", "Assigned"),
    Var("USUBJID", "Unique Subject Identifier", "Req", "Derived"),
    Var("IDVAR", "Identifying Variable", "Exp", "Assigned"),
    Var("IDVARVAL", "Identifying Variable Value", "Exp", "Derived"),
    Var("QNAM", "Qualifier Variable Name", "Req", "Assigned"),
    Var("QLABEL", "Qualifier Variable Label", "Req", "Assigned"),
    Var("QVAL", "Data Value", "Req", "Derived"),
    Var("QORIG", "Origin", "Req", "Assigned"),
    Var("QEVAL", "Evaluator", "Exp", "Assigned"),
]

DOMAINS = MappingProxyType(
    {
        "TS": ("Trial Summary", "TRIAL DESIGN", "One record per trial summary parameter value", TS),
        "TA": ("Trial Arms", "TRIAL DESIGN", "One record per planned Element per Arm", TA),
        "TE": ("Trial Elements", "TRIAL DESIGN", "One record per planned Element", TE),
        "TV": ("Trial Visits", "TRIAL DESIGN", "One record per planned Visit per Arm", TV),
        "DM": ("Demographics", "SPECIAL PURPOSE", "One record per subject", DM),
        "AE": ("Adverse Events", "EVENTS", "One record per adverse event per subject", AE),
        "CE": ("Clinical Events", "EVENTS", "One record per event per subject", CE),
        "HO": (
            "Healthcare Encounters",
            "EVENTS",
            "One record per healthcare encounter per subject",
            HO,
        ),
        "DS": ("Disposition", "EVENTS", "One record per disposition status per subject", DS),
        "MH": ("Medical History", "EVENTS", "One record per medical history event", MH),
        "CM": (
            "Concomitant/Prior Medications",
            "INTERVENTIONS",
            "One record per recorded medication per subject",
            CM,
        ),
        "EX": (
            "Exposure",
            "INTERVENTIONS",
            "One record per constant dosing interval per subject",
            EX,
        ),
        "PR": ("Procedures", "INTERVENTIONS", "One record per procedure per subject", PR),
        "FA": (
            "Findings About Events or Interventions",
            "FINDINGS ABOUT",
            "One record per finding per object per time point per subject",
            FA,
        ),
        "LB": (
            "Laboratory Test Results",
            "FINDINGS",
            "One record per lab test per time point per subject",
            LB,
        ),
        "VS": (
            "Vital Signs",
            "FINDINGS",
            "One record per vital sign measurement per time point per subject",
            VS,
        ),
        "PC": (
            "Pharmacokinetics Concentrations",
            "FINDINGS",
            "One record per sample characteristic per time point per subject",
            PC,
        ),
        "PP": (
            "Pharmacokinetics Parameters",
            "FINDINGS",
            "One record per PK parameter per specimen per subject",
            PP,
        ),
        "RS": (
            "Disease Response and Clin Classification",
            "FINDINGS",
            "One record per test per visit per subject",
            RS,
        ),
        "QS": ("Questionnaires", "FINDINGS", "One record per question per visit per subject", QS),
        "FT": ("Functional Tests", "FINDINGS", "One record per test per visit per subject", FT),
        "RELREC": (
            "Related Records",
            "RELATIONSHIP",
            "One record per related record, group of records or dataset",
            RELREC,
        ),
    }
)
"""Dataset → (label, class, structure, variables). SUPP-- datasets use `SUPP`."""


def variables(dataset: str) -> list[Var]:
    """The variables of `dataset` (SUPPxx datasets share one layout)."""
    if dataset.startswith("SUPP"):
        return SUPP
    return DOMAINS[dataset][3]
