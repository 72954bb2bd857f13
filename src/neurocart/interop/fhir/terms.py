"""Code systems and the code tables FHIR in and out share (both directions read these).

Sources: FHIR R4 code-system URIs (HL7, hl7.org/fhir/R4/terminologies-systems.html); HL7 v2
table 0487 specimen types; WHO ATC index (whocc.no/atc_ddd_index) for the drugs; WHO ICD-10
and ICD-10-CM FY2026 for the diagnoses (ICD-10-CM split G35 into G35.A–G35.D from
2025-10-01, so every G35 subcode reads as MS).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from neurocart.store.models import Diagnosis, EventType, Specimen

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ATC = "http://www.whocc.no/atc"
V2_0487 = "http://terminology.hl7.org/CodeSystem/v2-0487"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
LOCAL = "urn:neurocart:local"
INSTRUMENT = "urn:neurocart:instrument"
EVENT_TYPE = "urn:neurocart:event-type"
ALERT_RULE = "urn:neurocart:alert-rule"
DISCIPLINE = "urn:neurocart:discipline"
SITE = "urn:neurocart:site"
EXTENSION = "urn:neurocart:fhir:StructureDefinition/"
ASSERTED_DATE = "http://hl7.org/fhir/StructureDefinition/condition-assertedDate"
AE_GRADE = "http://hl7.org/fhir/uv/ae-research-ig/StructureDefinition/ae-grade"
AE_PROFILE = (
    "http://hl7.org/fhir/uv/ae-research-backport-ig/StructureDefinition/"
    "AdverseEvent-clinical-research"
)

SPECIMEN_IN: Mapping[str, Specimen] = MappingProxyType(
    {
        "BLD": Specimen.BLOOD,
        "BLDV": Specimen.BLOOD,
        "BLDA": Specimen.BLOOD,
        "PLAS": Specimen.BLOOD,
        "SER": Specimen.SERUM,
        "CSF": Specimen.CSF,
        "UR": Specimen.OTHER,
    }
)
"""HL7 table 0487 → neurocart's specimen (the store has no plasma: "blood" stands for it)."""
SPECIMEN_OUT: Mapping[Specimen, tuple[str, str]] = MappingProxyType(
    {
        Specimen.BLOOD: ("BLD", "Whole blood"),
        Specimen.SERUM: ("SER", "Serum"),
        Specimen.CSF: ("CSF", "Cerebral spinal fluid"),
    }
)

UCUM_OUT: Mapping[str, str] = MappingProxyType(
    {
        "°C": "Cel",
        "mmHg": "mm[Hg]",
        "/min": "/min",
        "%": "%",
        "L/min": "L/min",
        "mg/L": "mg/L",
        "µg/L": "ug/L",
        "ng/L": "ng/L",
        "×10⁹/L": "10*9/L",
        "g/L": "g/L",
        "U/L": "U/L",
        "µmol/L": "umol/L",
        "mmol/L": "mmol/L",
        "cells/µL": "{cells}/uL",
        "copies/µg DNA": "{copies}/ug",
        "IU/mL": "[IU]/mL",
        "titer": "{titer}",
        "{result}": "{result}",
        "nmol/L": "nmol/L",
    }
)
"""Canonical units → UCUM codes for output."""

DRUGS_ATC: Mapping[str, str] = MappingProxyType(
    {
        "L01BB05": "fludarabine",
        "L01AA01": "cyclophosphamide",
        "L04AC07": "tocilizumab",
        "H02AB02": "dexamethasone",
        "H02AB04": "methylprednisolone",
        "L04AC03": "anakinra",
    }
)
ATC_OF: Mapping[str, str] = MappingProxyType({v: k for k, v in DRUGS_ATC.items()})
LYMPHODEPLETION = frozenset({"fludarabine", "cyclophosphamide"})

MEDICATION_EVENTS = frozenset(
    {EventType.CAR_T_INFUSION, EventType.DRUG_GIVEN, EventType.PREMEDICATION}
)
PROCEDURE_EVENTS = frozenset(
    {
        EventType.LEUKAPHERESIS,
        EventType.LUMBAR_PUNCTURE,
        EventType.MRI,
        EventType.ECHOCARDIOGRAM,
        EventType.ECG,
        EventType.NEURO_EXAM,
    }
)
ADVERSE_EVENTS = frozenset(
    {
        EventType.CRS,
        EventType.ICANS,
        EventType.INFECTION,
        EventType.ADVERSE_EVENT,
        EventType.SEIZURE,
    }
)

DIAGNOSIS_ICD10: Mapping[Diagnosis, str] = MappingProxyType(
    {
        Diagnosis.MS: "G35",
        Diagnosis.NMOSD: "G36.0",
        Diagnosis.MG: "G70.0",
        Diagnosis.IMNM: "G72.4",
        Diagnosis.CIDP: "G61.8",
    }
)
DIAGNOSIS_DISPLAY: Mapping[Diagnosis, str] = MappingProxyType(
    {
        Diagnosis.MS: "Multiple sclerosis",
        Diagnosis.NMOSD: "Neuromyelitis optica spectrum disorder",
        Diagnosis.MG: "Myasthenia gravis",
        Diagnosis.IMNM: "Immune-mediated necrotizing myopathy",
        Diagnosis.CIDP: "Chronic inflammatory demyelinating polyneuropathy",
        Diagnosis.OTHER: "Other neurological autoimmune disease",
    }
)


def diagnosis_of_icd(code: str) -> Diagnosis | None:
    """The diagnosis an ICD-10 or ICD-10-CM code names (G35.A → MS, G70.01 → MG)."""
    normalized = code.strip().upper()
    for diagnosis, root in DIAGNOSIS_ICD10.items():
        prefix = root if "." in root else root + "."
        if normalized == root or normalized.startswith(prefix):
            return diagnosis
    return None
