"""A patient's record as FHIR R4 resources: `$everything` and the bulk NDJSON export.

    bundle = everything(session, patient)                 # a searchset Bundle (dict)
    counts = export_ndjson(session, Path("out/"))         # one <Type>.ndjson per type

What goes out, and as what:

- Patient: the study ID only (no name, hospital number or address), sex, birth year, site.
- Observation: labs and vitals in canonical units with UCUM codes; qualitative results as
  the LOINC answers LA6576-8 / LA6577-6; the specimen as a contained Specimen (v2-0487).
- Observation with components: each scored assessment (EDSS, ICE, CRS/ICANS grades ...).
  No LOINC term exists for these instruments, so ``code`` is
  ``urn:neurocart:instrument|<calculator>``, one component per input, the publication in
  ``method.text``.
- Condition: the treated disease (neurocart's code and WHO ICD-10).
- Procedure, MedicationAdministration (CAR-T product and lot in a contained Medication),
  Encounter (inpatient stays) and AdverseEvent (CRS, ICANS, infections, other AEs, seizures;
  the grade in the AE research IG's ``ae-grade`` extension).
- Flag: each alert episode of the monitor (active while open), the rule in ``code``; and
  each of the monitor's actions on it (opened, upgraded, escalated, acknowledged, closed) as
  a Communication ``about`` the Flag.

Identifiers are neurocart's own: ``id`` is the first row of a correction chain (stable
across corrections), ``meta.versionId`` the position in the chain, and ``identifier``
``urn:neurocart:<deployment>:<entity>|<id>``. Only current rows are exported.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from neurocart.ingest.codes import LOCAL, RESULT_UNIT, lookup
from neurocart.ingest.errors import UnknownCodeError
from neurocart.interop.config import FeedSettings, get_feed_settings
from neurocart.interop.fhir import terms
from neurocart.store import repo
from neurocart.store.models import (
    Alert,
    Assessment,
    ClinicalEvent,
    EventType,
    Observation,
    Patient,
    Specimen,
)
from neurocart.store.models import AlertAction as AlertActionRow

FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
GRADED = frozenset({"crs", "icans", "icaht", "ctcae_lab", "iec_hs"})
"""Instruments whose value is a grade (valueInteger); the others are scores."""
VITALS = frozenset({"8310-5", "8867-4", "8480-6", "8462-4", "59408-5", "9279-1", "3151-8"})
GRADE_SCALE = {
    EventType.CRS: "ASTCT 2019",
    EventType.ICANS: "ASTCT 2019",
}
DOSE_UCUM = {"cells/kg": "{cells}/kg", "mg/m2": "mg/m2", "mg/m²": "mg/m2", "µg": "ug"}


def patient_id(patient: Patient) -> str:
    """The Patient's logical id: the study ID when it is a valid FHIR id, else ``p<row>``."""
    return patient.study_id if FHIR_ID.match(patient.study_id) else f"p{patient.id}"


def find_patient(session: Session, logical_id: str) -> Patient | None:
    """The patient a logical id or study ID names."""
    found = session.scalar(select(Patient).where(Patient.study_id == logical_id))
    if found is None and logical_id.startswith("p") and logical_id[1:].isdigit():
        found = session.get(Patient, int(logical_id[1:]))
    return found


def _time(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def _chains(rows: Sequence[Any]) -> dict[int, tuple[int, int]]:
    """row id → (root id, version) for every row of a patient's table (history included)."""
    by_id = {r.id: r for r in rows}
    out: dict[int, tuple[int, int]] = {}
    for row in sorted(rows, key=lambda r: r.id):
        if row.supersedes_id is None or row.supersedes_id not in out:
            out[row.id] = (row.id, 1)
        else:
            root, version = out[row.supersedes_id]
            out[row.id] = (root, version + 1)
    del by_id
    return out


def _current(rows: Sequence[Any]) -> list[Any]:
    superseded = {r.supersedes_id for r in rows if r.supersedes_id is not None}
    return [r for r in rows if r.id not in superseded and not r.entered_in_error]


class Builder:
    """Turns one patient's rows into FHIR resources (dicts, R4 elements only)."""

    def __init__(self, patient: Patient, settings: FeedSettings) -> None:
        self.patient = patient
        self.settings = settings
        self.pid = patient_id(patient)
        self.subject = {"reference": f"Patient/{self.pid}"}

    def _identifier(self, entity: str, root: int | str) -> list[dict[str, str]]:
        return [
            {"system": f"urn:neurocart:{self.settings.deployment}:{entity}", "value": str(root)}
        ]

    def _meta(self, version: int) -> dict[str, str]:
        return {"versionId": str(version)}

    def patient_resource(self) -> dict[str, Any]:
        p = self.patient
        resource: dict[str, Any] = {
            "resourceType": "Patient",
            "id": self.pid,
            "identifier": [{"system": self.settings.fhir_study_id_system, "value": p.study_id}],
            "gender": p.sex.value,
            "managingOrganization": {"identifier": {"system": terms.SITE, "value": p.site}},
        }
        if p.birth_year is not None:
            resource["birthDate"] = f"{p.birth_year:04d}"
        return resource

    def condition(self) -> dict[str, Any]:
        p = self.patient
        coding = [
            {
                "system": terms.LOCAL,
                "code": f"dx-{p.diagnosis.value}",
                "display": terms.DIAGNOSIS_DISPLAY[p.diagnosis],
            }
        ]
        icd = terms.DIAGNOSIS_ICD10.get(p.diagnosis)
        if icd is not None:
            coding.append({"system": terms.ICD10, "code": icd})
        code: dict[str, Any] = {"coding": coding}
        if p.subtype:
            code["text"] = p.subtype
        resource: dict[str, Any] = {
            "resourceType": "Condition",
            "id": f"{self.pid}-dx"[:64],
            "clinicalStatus": {"coding": [{"system": terms.CONDITION_CLINICAL, "code": "active"}]},
            "verificationStatus": {
                "coding": [{"system": terms.CONDITION_VERIFICATION, "code": "confirmed"}]
            },
            "code": code,
            "subject": self.subject,
        }
        if p.diagnosis_date is not None:
            resource["extension"] = [
                {"url": terms.ASSERTED_DATE, "valueDateTime": p.diagnosis_date.isoformat()}
            ]
        return resource

    def observation(self, row: Observation, root: int, version: int) -> dict[str, Any]:
        try:
            display = lookup(row.code, row.code_system).display
        except UnknownCodeError:
            display = row.code
        vital = row.code in VITALS
        resource: dict[str, Any] = {
            "resourceType": "Observation",
            "id": str(root),
            "meta": self._meta(version),
            "identifier": self._identifier("observation", root),
            "status": "corrected" if row.supersedes_id is not None else "final",
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                            "code": "vital-signs" if vital else "laboratory",
                        }
                    ]
                }
            ],
            "code": {"coding": [{"system": row.code_system, "code": row.code, "display": display}]},
            "subject": self.subject,
            "effectiveDateTime": _time(row.effective_at),
        }
        if row.unit == RESULT_UNIT:
            answer = terms_answer(row.value)
            resource["valueCodeableConcept"] = {
                "coding": [{"system": terms.LOINC, "code": answer[0], "display": answer[1]}]
            }
        else:
            ucum = terms.UCUM_OUT.get(row.unit, row.unit)
            resource["valueQuantity"] = {
                "value": row.value,
                "unit": row.unit,
                "system": terms.UCUM,
                "code": ucum,
            }
        specimen = terms.SPECIMEN_OUT.get(Specimen(row.specimen))
        if specimen is not None and not vital:
            resource["contained"] = [
                {
                    "resourceType": "Specimen",
                    "id": "specimen",
                    "type": {
                        "coding": [
                            {"system": terms.V2_0487, "code": specimen[0], "display": specimen[1]}
                        ]
                    },
                }
            ]
            resource["specimen"] = {"reference": "#specimen"}
        notes = [row.note, row.correction_reason]  # the source's note, then why it was corrected
        if any(notes):
            resource["note"] = [{"text": n} for n in notes if n]
        return resource

    def assessment(self, row: Assessment, root: int, version: int) -> dict[str, Any]:
        result = row.result or {}
        resource: dict[str, Any] = {
            "resourceType": "Observation",
            "id": f"assessment-{root}",
            "meta": self._meta(version),
            "identifier": self._identifier("assessment", root),
            "status": "corrected" if row.supersedes_id is not None else "final",
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                            "code": "survey",
                        }
                    ]
                }
            ],
            "code": {
                "coding": [{"system": terms.INSTRUMENT, "code": row.instrument}],
                "text": row.instrument,
            },
            "subject": self.subject,
            "effectiveDateTime": _time(row.effective_at),
        }
        if row.instrument in GRADED:
            resource["valueInteger"] = round(row.value)
        else:
            resource["valueQuantity"] = {
                "value": row.value,
                "unit": "{score}",
                "system": terms.UCUM,
                "code": "{score}",
            }
        components = []
        for name, value in (row.inputs or {}).items():
            component = _component(f"{terms.INSTRUMENT}:{row.instrument}", name, value)
            if component is not None:
                components.append(component)
        if components:
            resource["component"] = components
        if result.get("citation"):
            resource["method"] = {"text": str(result["citation"])}
        notes = [row.label, *[str(r) for r in result.get("reasons") or []]]
        resource["note"] = [{"text": n} for n in notes if n]
        return resource

    def event(
        self, row: ClinicalEvent, root: int, version: int, infusion: str | None
    ) -> dict[str, Any] | None:
        kind = EventType(row.type)
        retracted = row.entered_in_error
        if kind in terms.PROCEDURE_EVENTS:
            resource: dict[str, Any] = {
                "resourceType": "Procedure",
                "status": "entered-in-error" if retracted else "completed",
                "code": {"coding": [{"system": terms.EVENT_TYPE, "code": kind.value}]},
                "subject": self.subject,
                "performedPeriod": _period(row),
            }
        elif kind in terms.MEDICATION_EVENTS:
            resource = self._medication(row, kind)
        elif kind is EventType.HOSPITALIZATION:
            resource = {
                "resourceType": "Encounter",
                "status": "finished" if row.end_at is not None else "in-progress",
                "class": {"system": terms.ACT_CODE, "code": "IMP", "display": "inpatient"},
                "subject": self.subject,
                "period": _period(row),
            }
            ward = (row.details or {}).get("ward")
            if ward:
                resource["location"] = [{"location": {"display": str(ward)}}]
        elif kind in terms.ADVERSE_EVENTS:
            resource = self._adverse_event(row, kind, infusion)
        else:
            return None
        resource["id"] = str(root)
        resource["meta"] = self._meta(version)
        resource["identifier"] = self._identifier("event", root)
        if resource["resourceType"] == "AdverseEvent":
            resource["identifier"] = resource["identifier"][0]  # 0..1 in R4
            resource["meta"]["profile"] = [terms.AE_PROFILE]
        if row.correction_reason and resource["resourceType"] != "AdverseEvent":
            resource["note"] = [{"text": row.correction_reason}]
        return resource

    def _medication(self, row: ClinicalEvent, kind: EventType) -> dict[str, Any]:
        details = row.details or {}
        resource: dict[str, Any] = {
            "resourceType": "MedicationAdministration",
            "status": "completed",
            "subject": self.subject,
        }
        if row.end_at is not None:
            resource["effectivePeriod"] = _period(row)
        else:
            resource["effectiveDateTime"] = _time(row.onset_at)
        if kind is EventType.CAR_T_INFUSION:
            medication: dict[str, Any] = {
                "resourceType": "Medication",
                "id": "product",
                "code": {"text": str(details.get("product") or row.drug or "CAR-T")},
            }
            if details.get("lot"):
                medication["batch"] = {"lotNumber": str(details["lot"])}
            resource["contained"] = [medication]
            resource["medicationReference"] = {"reference": "#product"}
            per_kg = details.get("dose_cells_per_kg")
            if per_kg is None and row.dose_unit == "cells/kg":
                per_kg = row.dose
            dosage: dict[str, Any] = {"route": {"text": "IV"}}
            if per_kg is not None:
                dosage["dose"] = {
                    "value": float(per_kg),
                    "unit": "cells/kg",
                    "system": terms.UCUM,
                    "code": "{cells}/kg",
                }
            resource["dosage"] = dosage
            return resource
        drug = row.drug or "unknown"
        atc = terms.ATC_OF.get(drug)
        coding = [{"system": terms.LOCAL, "code": drug}]
        if atc is not None:
            coding.insert(0, {"system": terms.ATC, "code": atc, "display": drug})
        resource["medicationCodeableConcept"] = {"coding": coding, "text": drug}
        if kind is EventType.PREMEDICATION:
            resource["category"] = {
                "coding": [{"system": terms.EVENT_TYPE, "code": "premedication"}]
            }
        if row.dose is not None and row.dose_unit:
            unit = row.dose_unit
            resource["dosage"] = {
                "dose": {
                    "value": row.dose,
                    "unit": unit,
                    "system": terms.UCUM,
                    "code": DOSE_UCUM.get(unit, unit),
                }
            }
        return resource

    def _adverse_event(
        self, row: ClinicalEvent, kind: EventType, infusion: str | None
    ) -> dict[str, Any]:
        details = row.details or {}
        term = row.ctcae_term or kind.value
        resource: dict[str, Any] = {
            "resourceType": "AdverseEvent",
            "actuality": "actual",
            "event": {"coding": [{"system": terms.EVENT_TYPE, "code": kind.value}], "text": term},
            "subject": self.subject,
            "date": _time(row.onset_at),
        }
        extensions: list[dict[str, Any]] = []
        if row.grade is not None:
            scale = GRADE_SCALE.get(kind, "CTCAE v5.0")
            extensions.append(
                {
                    "url": terms.AE_GRADE,
                    "valueCodeableConcept": {
                        "coding": [
                            {
                                "system": f"urn:neurocart:grade-scale:{scale.replace(' ', '-')}",
                                "code": str(row.grade),
                                "display": f"{scale} grade {row.grade}",
                            }
                        ]
                    },
                }
            )
        if row.end_at is not None:
            extensions.append(
                {"url": terms.EXTENSION + "episode-end", "valueDateTime": _time(row.end_at)}
            )
            resource["outcome"] = {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/adverse-event-outcome",
                        "code": "resolved",
                    }
                ]
            }
        if extensions:
            resource["extension"] = extensions
        if details.get("serious") is not None:
            resource["seriousness"] = {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness",
                        "code": "serious" if details["serious"] else "non-serious",
                    }
                ]
            }
        if infusion is not None:
            resource["suspectEntity"] = [
                {"instance": {"reference": f"MedicationAdministration/{infusion}"}}
            ]
        return resource

    def flag(self, alert: Alert) -> dict[str, Any]:
        resource: dict[str, Any] = {
            "resourceType": "Flag",
            "id": f"alert-{alert.id}",
            "identifier": self._identifier("alert", alert.id),
            "status": "active" if alert.status == "open" else "inactive",
            "category": [
                {"coding": [{"system": terms.DISCIPLINE, "code": d}]} for d in alert.disciplines
            ],
            "code": {
                "coding": [{"system": terms.ALERT_RULE, "code": alert.rule_id}],
                "text": alert.title,
            },
            "subject": self.subject,
            "period": {"start": _time(alert.opened_at)},
            "author": {"display": "neurocart-monitor"},
            "extension": [
                {"url": terms.EXTENSION + "alert-severity", "valueCode": alert.severity},
                {"url": terms.EXTENSION + "alert-tier", "valueInteger": alert.tier},
                {
                    "url": terms.EXTENSION + "alert-values",
                    "valueString": json.dumps(alert.values, sort_keys=True, default=str),
                },
            ],
        }
        if alert.grade is not None:
            resource["extension"].append(
                {"url": terms.EXTENSION + "alert-grade", "valueDecimal": alert.grade}
            )
        if alert.closed_at is not None:
            resource["period"]["end"] = _time(alert.closed_at)
        return resource

    def communication(self, alert: Alert, action: AlertActionRow) -> dict[str, Any]:
        """One action of the monitor on an alert (opened, upgraded, escalated, closed,
        acknowledged ...) as the message it was: a Communication about the Flag."""
        payload = action.payload or {}
        text = str(payload.get("text") or payload.get("title") or action.kind)
        resource: dict[str, Any] = {
            "resourceType": "Communication",
            "id": f"alert-action-{action.id}",
            "identifier": self._identifier("alert-action", action.id),
            "status": "completed",
            "category": [
                {"coding": [{"system": terms.EXTENSION + "alert-action", "code": action.kind}]}
            ],
            "subject": self.subject,
            "about": [{"reference": f"Flag/alert-{alert.id}"}],
            "sent": _time(action.at),
            "sender": {"display": str(payload.get("user") or "neurocart-monitor")},
            "payload": [{"contentString": text}],
        }
        return resource


def terms_answer(value: float) -> tuple[str, str]:
    """The LOINC answer (code, display) for a qualitative result: positive at an index ≥ 1."""
    return ("LA6576-8", "Positive") if value >= 1 else ("LA6577-6", "Negative")


def _period(row: ClinicalEvent) -> dict[str, str]:
    period = {"start": _time(row.onset_at) or ""}
    if row.end_at is not None:
        period["end"] = _time(row.end_at) or ""
    return period


def _component(system: str, name: str, value: Any) -> dict[str, Any] | None:
    component: dict[str, Any] = {"code": {"coding": [{"system": system, "code": name}]}}
    if isinstance(value, bool):
        component["valueBoolean"] = value
    elif isinstance(value, int):
        component["valueInteger"] = value
    elif isinstance(value, float):
        component["valueQuantity"] = {"value": value}
    elif isinstance(value, str):
        component["valueCodeableConcept"] = {
            "coding": [{"system": f"{system}:{name}", "code": value}],
            "text": value,
        }
    elif value is None:
        return None
    else:
        component["valueString"] = json.dumps(value, sort_keys=True, default=str)
    return component


def patient_resources(
    session: Session,
    patient: Patient,
    *,
    settings: FeedSettings | None = None,
    alerts: bool = True,
) -> Iterator[dict[str, Any]]:
    """Every resource of the patient's record, Patient first."""
    builder = Builder(patient, settings or get_feed_settings())
    yield builder.patient_resource()
    yield builder.condition()
    observations = repo.list_observations(session, patient.id, history=True)
    chains = _chains(observations)
    for row in _current(observations):
        root, version = chains[row.id]
        yield builder.observation(row, root, version)
    assessments = repo.list_assessments(session, patient.id, history=True)
    chains = _chains(assessments)
    for row in _current(assessments):
        root, version = chains[row.id]
        yield builder.assessment(row, root, version)
    events = repo.list_events(session, patient.id, history=True)
    chains = _chains(events)
    current = _current(events)
    infusions = [r for r in current if r.type == EventType.CAR_T_INFUSION]
    infusion = str(chains[infusions[0].id][0]) if infusions else None
    for row in current:
        root, version = chains[row.id]
        resource = builder.event(row, root, version, infusion)
        if resource is not None:
            yield resource
    if alerts:
        query = select(Alert).where(Alert.patient_id == patient.id).order_by(Alert.id)
        for alert in session.scalars(query).all():
            yield builder.flag(alert)
            actions = select(AlertActionRow).where(AlertActionRow.alert_key == alert.key)
            for action in session.scalars(actions.order_by(AlertActionRow.id)):
                yield builder.communication(alert, action)


def everything(
    session: Session, patient: Patient, *, settings: FeedSettings | None = None
) -> dict[str, Any]:
    """`Patient/{id}/$everything`: a searchset Bundle of the patient's record."""
    entries = [
        {
            "fullUrl": f"{r['resourceType']}/{r['id']}",
            "resource": r,
            "search": {"mode": "match"},
        }
        for r in patient_resources(session, patient, settings=settings)
    ]
    return {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}


def export_ndjson(
    session: Session,
    out: Path,
    *,
    study_ids: Sequence[str] | None = None,
    settings: FeedSettings | None = None,
) -> dict[str, int]:
    """Write ``<Type>.ndjson`` (one resource per line) for every patient (or `study_ids`);
    returns the count per resource type."""
    out.mkdir(parents=True, exist_ok=True)
    query = select(Patient).order_by(Patient.study_id)
    if study_ids:
        query = query.where(Patient.study_id.in_(list(study_ids)))
    files: dict[str, Any] = {}
    counts: dict[str, int] = {}
    try:
        for patient in session.scalars(query).all():
            for resource in patient_resources(session, patient, settings=settings):
                kind = resource["resourceType"]
                if kind not in files:
                    files[kind] = (out / f"{kind}.ndjson").open("w", encoding="utf-8")
                    counts[kind] = 0
                files[kind].write(json.dumps(resource, ensure_ascii=False) + "\n")
                counts[kind] += 1
    finally:
        for handle in files.values():
            handle.close()
    return counts


__all__ = ["LOCAL", "Builder", "everything", "export_ndjson", "find_patient", "patient_id"]
