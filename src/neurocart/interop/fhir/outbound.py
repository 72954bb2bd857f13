"""A patient's record as FHIR R4 resources: `$everything` and the bulk NDJSON export.

    page = record_page(session, patient, count=100)      # a page of $everything
    bundle = searchset(page.resources, links=...)        # ... as a searchset Bundle (dict)
    counts = export_ndjson(session, Path("out/"))        # one <Type>.ndjson per type

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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import Select, func, select
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
from neurocart.store.pages import Page, keyset

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


EXPORTED_EVENTS = frozenset(
    terms.PROCEDURE_EVENTS
    | terms.MEDICATION_EVENTS
    | terms.ADVERSE_EVENTS
    | {EventType.HOSPITALIZATION}
)
"""The event types that go out as a resource (`Builder.event`); the others (decisions,
reviews, shipments ...) have no FHIR counterpart here and are not read."""
DEFAULT_COUNT = 100
"""Resources per $everything page when the client sends no `_count` (a page of a long
record answers in a few tens of ms; ~1 kB a resource)."""
MAX_COUNT = 1000
"""The largest $everything page: a larger `_count` is lowered to it (a server may return
fewer than asked, never more), bounding a response's time and memory."""
CHUNK = 1000
"""Rows per query when a reader takes the whole record (the bulk export): memory bounded by
a chunk whatever the length of the history, and few round trips."""


@dataclass(frozen=True, slots=True)
class Position:
    """Where a resource stands in the patient's record as `record` reads it: its `section`
    (a key of SECTIONS) and the key of its row in that section's order.

    Reading resumes strictly after a position, so a resource added behind it never shifts
    what follows, and a page after a position costs the same however far in it is."""

    section: str
    key: tuple[Any, ...]


SECTIONS: dict[str, tuple[type, ...]] = {
    "patient": (int,),  # 0 the Patient, 1 its Condition
    "observation": (datetime, int),  # effective time, row id
    "assessment": (datetime, int),  # effective time, row id (Observations with components)
    "event": (datetime, int),  # onset, row id (Procedure, MedicationAdministration ...)
    "alert": (int, int),  # alert id, action id: 0 for the Flag, then its Communications
}
"""The record's sections in the order they are read, each with the types of its key."""
Entry = tuple[Position, dict[str, Any]]
"""A resource of the record and where it stands."""


def record(
    session: Session,
    patient: Patient,
    *,
    after: Position | None = None,
    chunk: int = CHUNK,
    settings: FeedSettings | None = None,
) -> Iterator[Entry]:
    """Every resource of the patient's record with its position, Patient first, then each
    section of SECTIONS in its order; only what comes strictly after `after` when given.

    Rows are read `chunk` at a time, by keyset (`neurocart.store.pages`), and only as far as
    the caller iterates: a page of $everything reads about one page of rows, the bulk export
    holds one chunk at a time. Only current rows go out; each fact is named by the first row
    of its correction chain (`repo.versions`)."""
    if after is not None and after.section not in SECTIONS:
        raise ValueError(f"no section {after.section!r} in a patient's record")
    builder = Builder(patient, settings or get_feed_settings())
    readers: dict[str, Callable[[Session, Builder, Any, int], Iterator[Entry]]] = {
        "patient": _heading,
        "observation": _observations,
        "assessment": _assessments,
        "event": _events,
        "alert": _alerts,
    }
    names = list(SECTIONS)
    for name in names[0 if after is None else names.index(after.section) :]:
        start = after.key if after is not None and name == after.section else None
        yield from readers[name](session, builder, start, chunk)


def _heading(session: Session, builder: Builder, after: Any, chunk: int) -> Iterator[Entry]:
    """The Patient, then the Condition it is treated for."""
    parts = (builder.patient_resource, builder.condition)
    for i in range(0 if after is None else after[0] + 1, len(parts)):
        yield Position("patient", (i,)), parts[i]()


def _facts(
    session: Session,
    section: str,
    model: Any,
    read: Callable[[Page], Sequence[Any]],
    at: Callable[[Any], datetime],
    build: Callable[[Any, int, int], dict[str, Any] | None],
    after: Any,
    chunk: int,
) -> Iterator[Entry]:
    """One table's current rows of the patient, `chunk` by chunk in (time, id) order."""
    while True:
        rows = read(Page(after=after, limit=chunk))
        chains = repo.versions(session, model, rows)
        for row in rows:
            root, version = chains[row.id]
            after = (at(row), row.id)
            resource = build(row, root, version)
            if resource is not None:
                yield Position(section, after), resource
        if len(rows) < chunk:
            return


def _observations(session: Session, builder: Builder, after: Any, chunk: int) -> Iterator[Entry]:
    pid = builder.patient.id
    return _facts(
        session,
        "observation",
        Observation,
        lambda page: repo.list_observations(session, pid, page=page),
        lambda row: row.effective_at,
        builder.observation,
        after,
        chunk,
    )


def _assessments(session: Session, builder: Builder, after: Any, chunk: int) -> Iterator[Entry]:
    pid = builder.patient.id
    return _facts(
        session,
        "assessment",
        Assessment,
        lambda page: repo.list_assessments(session, pid, page=page),
        lambda row: row.effective_at,
        builder.assessment,
        after,
        chunk,
    )


def _events(session: Session, builder: Builder, after: Any, chunk: int) -> Iterator[Entry]:
    """The events that have a resource; each adverse event names the patient's first CAR-T
    infusion (by onset) as its suspect, whichever page it is on."""
    pid = builder.patient.id
    first = repo.list_events(session, pid, type=EventType.CAR_T_INFUSION, page=Page(limit=1))
    infusion = str(repo.versions(session, ClinicalEvent, first)[first[0].id][0]) if first else None
    return _facts(
        session,
        "event",
        ClinicalEvent,
        lambda page: repo.list_events(session, pid, types=EXPORTED_EVENTS, page=page),
        lambda row: row.onset_at,
        lambda row, root, version: builder.event(row, root, version, infusion),
        after,
        chunk,
    )


def _alerts(session: Session, builder: Builder, after: Any, chunk: int) -> Iterator[Entry]:
    """Each alert episode as a Flag followed by its actions as Communications, by alert id
    then action id (resuming within an alert's actions when a page ended among them)."""
    last = 0
    if after is not None:
        last, action = after
        alert = session.get(Alert, last)
        if alert is not None and alert.patient_id == builder.patient.id:
            yield from _actions(session, builder, alert, action, chunk)
    mine = select(Alert).where(Alert.patient_id == builder.patient.id)
    while True:
        alerts = session.scalars(keyset(mine, (Alert.id,), after=(last,), limit=chunk)).all()
        for alert in alerts:
            yield Position("alert", (alert.id, 0)), builder.flag(alert)
            yield from _actions(session, builder, alert, 0, chunk)
            last = alert.id
        if len(alerts) < chunk:
            return


def _actions(
    session: Session, builder: Builder, alert: Alert, after: int, chunk: int
) -> Iterator[Entry]:
    """The actions on `alert` after the action id `after` (0: all of them)."""
    of_alert = select(AlertActionRow).where(AlertActionRow.alert_key == alert.key)
    while True:
        query = keyset(of_alert, (AlertActionRow.id,), after=(after,), limit=chunk)
        actions = session.scalars(query).all()
        for action in actions:
            yield Position("alert", (alert.id, action.id)), builder.communication(alert, action)
            after = action.id
        if len(actions) < chunk:
            return


def record_size(session: Session, patient: Patient) -> int:
    """How many resources `record` yields for the patient: one count per table, no row read
    (what `_count=0` answers; each count still scans the patient's index entries)."""
    pid = patient.id
    counted = 2  # the Patient and its Condition
    for model, extra in (
        (Observation, ()),
        (Assessment, ()),
        (ClinicalEvent, (ClinicalEvent.type.in_(sorted(EXPORTED_EVENTS)),)),
    ):
        query = select(func.count()).select_from(model)
        query = query.where(model.patient_id == pid, repo.current(model), *extra)
        counted += session.scalar(query) or 0
    alerts = select(Alert.key).where(Alert.patient_id == pid)
    counted += session.scalar(select(func.count()).select_from(alerts.subquery())) or 0
    actions = select(func.count()).where(AlertActionRow.alert_key.in_(alerts))
    counted += session.scalar(actions) or 0
    return counted


@dataclass(frozen=True, slots=True)
class RecordPage:
    """One page of a patient's record: its resources, and the position to read the next
    page after (None on the last page)."""

    resources: list[dict[str, Any]]
    next: Position | None


def record_page(
    session: Session,
    patient: Patient,
    *,
    count: int,
    after: Position | None = None,
    settings: FeedSettings | None = None,
) -> RecordPage:
    """At most `count` resources of the record after `after`, reading one more to tell
    whether another page follows."""
    if count < 1:
        raise ValueError(f"a page holds at least one resource, not {count}")
    read = list(islice(record(session, patient, after=after, chunk=count + 1, settings=settings),
                       count + 1))  # fmt: skip
    shown = read[:count]
    more = len(read) > count
    return RecordPage([r for _, r in shown], shown[-1][0] if more else None)


def searchset(
    resources: Sequence[dict[str, Any]],
    *,
    links: Sequence[tuple[str, str]] = (),
    total: int | None = None,
) -> dict[str, Any]:
    """A searchset Bundle of `resources` (each a match) with its `links` (relation, url) and
    the `total` of matches when known."""
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset"}
    if total is not None:
        bundle["total"] = total
    if links:
        bundle["link"] = [{"relation": relation, "url": url} for relation, url in links]
    bundle["entry"] = [
        {
            "fullUrl": f"{r['resourceType']}/{r['id']}",
            "resource": r,
            "search": {"mode": "match"},
        }
        for r in resources
    ]
    return bundle


def export_ndjson(
    session: Session,
    out: Path,
    *,
    study_ids: Sequence[str] | None = None,
    settings: FeedSettings | None = None,
    chunk: int = CHUNK,
) -> dict[str, int]:
    """Write ``<Type>.ndjson`` (one resource per line) for every patient (or `study_ids`);
    returns the count per resource type.

    Patients and their rows are read `chunk` at a time (`record`), so memory stays bounded
    by a chunk however long a patient's history is; patients by study ID, each patient's
    resources in the order of their record."""
    out.mkdir(parents=True, exist_ok=True)
    query = select(Patient)
    if study_ids:
        query = query.where(Patient.study_id.in_(list(study_ids)))
    files: dict[str, Any] = {}
    counts: dict[str, int] = {}
    try:
        for patient in _patients(session, query, chunk):
            for _, resource in record(session, patient, chunk=chunk, settings=settings):
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


def _patients(session: Session, query: Select[Patient], chunk: int) -> Iterator[Patient]:
    """The patients of `query` by study ID, `chunk` at a time."""
    after = None
    while True:
        page = keyset(query, (Patient.study_id,), after=after, limit=chunk)
        patients = session.scalars(page).all()
        yield from patients
        if len(patients) < chunk:
            return
        after = (patients[-1].study_id,)


__all__ = [
    "LOCAL",
    "SECTIONS",
    "Builder",
    "Position",
    "RecordPage",
    "export_ndjson",
    "find_patient",
    "patient_id",
    "record",
    "record_page",
    "record_size",
    "searchset",
]
