"""Bundles the FHIR tests send (shaped like a LIS/EHR interface engine's)."""

from __future__ import annotations

from typing import Any

STUDY = "urn:neurocart:study-id"
LIS = "urn:oid:1.2.156.999.1.2"
PATIENT_URL = "urn:uuid:7f1c0a52-0000-4000-8000-000000000001"


def patient_entry(study_id: str = "NC-0007") -> dict[str, Any]:
    return {
        "fullUrl": PATIENT_URL,
        "resource": {
            "resourceType": "Patient",
            "identifier": [{"system": STUDY, "value": study_id}],
        },
        "request": {
            "method": "POST",
            "url": "Patient",
            "ifNoneExist": f"identifier={STUDY}|{study_id}",
        },
    }


def observation(
    ident: str,
    code: str,
    value: float,
    unit: str,
    at: str = "2025-06-03T06:20:00+08:00",
    *,
    status: str = "final",
    specimen: str | None = None,
    note: str | None = None,
    method: str = "POST",
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "status": status,
        "identifier": [{"system": LIS, "value": ident}],
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"reference": PATIENT_URL},
        "effectiveDateTime": at,
        "valueQuantity": {"value": value, "system": "http://unitsofmeasure.org", "code": unit},
    }
    if specimen is not None:
        resource["contained"] = [
            {
                "resourceType": "Specimen",
                "id": "s1",
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/v2-0487",
                            "code": specimen,
                        }
                    ]
                },
            }
        ]
        resource["specimen"] = {"reference": "#s1"}
    if note is not None:
        resource["note"] = [{"text": note}]
    request: dict[str, Any] = {"method": method, "url": "Observation"}
    if method == "POST":
        request["ifNoneExist"] = f"identifier={LIS}|{ident}"
    else:
        request["url"] = f"Observation?identifier={LIS}|{ident}"
    return {"resource": resource, "request": request}


def infusion(ident: str = "MAR-1") -> dict[str, Any]:
    return {
        "resource": {
            "resourceType": "MedicationAdministration",
            "identifier": [{"system": LIS, "value": ident}],
            "status": "completed",
            "contained": [
                {
                    "resourceType": "Medication",
                    "id": "cart",
                    "code": {"text": "CT103A"},
                    "batch": {"lotNumber": "LOT-2025-0042"},
                }
            ],
            "medicationReference": {"reference": "#cart"},
            "subject": {"reference": PATIENT_URL},
            "effectiveDateTime": "2025-06-01T10:00:00+08:00",
            "dosage": {
                "route": {"text": "IV"},
                "dose": {
                    "value": 1000000,
                    "unit": "cells/kg",
                    "system": "http://unitsofmeasure.org",
                    "code": "{cells}/kg",
                },
            },
        },
        "request": {"method": "POST", "url": "MedicationAdministration"},
    }


def drug(ident: str, atc: str, at: str, dose: float, unit: str) -> dict[str, Any]:
    return {
        "resource": {
            "resourceType": "MedicationAdministration",
            "identifier": [{"system": LIS, "value": ident}],
            "status": "completed",
            "medicationCodeableConcept": {
                "coding": [{"system": "http://www.whocc.no/atc", "code": atc}]
            },
            "subject": {"reference": PATIENT_URL},
            "effectiveDateTime": at,
            "dosage": {
                "dose": {"value": dose, "system": "http://unitsofmeasure.org", "code": unit}
            },
        },
        "request": {"method": "POST", "url": "MedicationAdministration"},
    }


def encounter(ident: str = "V778899", end: str | None = None) -> dict[str, Any]:
    period = {"start": "2025-06-01T09:00:00+08:00"}
    if end is not None:
        period["end"] = end
    return {
        "resource": {
            "resourceType": "Encounter",
            "identifier": [{"system": LIS, "value": ident}],
            "status": "finished" if end else "in-progress",
            "class": {
                "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                "code": "IMP",
            },
            "subject": {"reference": PATIENT_URL},
            "period": period,
            "location": [{"location": {"display": "HEM"}}],
        },
        "request": {"method": "POST", "url": "Encounter"},
    }


def procedure(ident: str = "LP-1") -> dict[str, Any]:
    return {
        "resource": {
            "resourceType": "Procedure",
            "identifier": [{"system": LIS, "value": ident}],
            "status": "completed",
            "code": {"coding": [{"system": "urn:neurocart:event-type", "code": "lumbar_puncture"}]},
            "subject": {"reference": PATIENT_URL},
            "performedDateTime": "2025-06-05T09:00:00+08:00",
        },
        "request": {"method": "POST", "url": "Procedure"},
    }


def condition() -> dict[str, Any]:
    return {
        "resource": {
            "resourceType": "Condition",
            "code": {
                "coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "G36.0"}],
                "text": "AQP4-IgG positive",
            },
            "subject": {"reference": PATIENT_URL},
        },
        "request": {"method": "POST", "url": "Condition"},
    }


def bundle(*entries: dict[str, Any], kind: str = "transaction") -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": [patient_entry(), *entries]}
