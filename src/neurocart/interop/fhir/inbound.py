"""FHIR R4 transaction and batch Bundles → the same services as the REST API.

    response, recorder = process_bundle(session, actor, body, source="fhir:lis")

Every resource is parsed by the R4B models of `fhir.resources` (R4 4.0.1 elements only),
then mapped, entry by entry, onto neurocart's requests:

- **Patient**: matched by its study-ID identifier (``ifNoneExist``); never created here.
- **Observation** with ``code`` ``urn:neurocart:instrument|<calculator>``: a scored
  assessment, its inputs the components; neurocart scores it again and refuses a sender's
  score that differs.
- **Observation** (labs, vitals; the blood-pressure panel 85354-9 is split into its systolic
  and diastolic components): `ObservationIn` → `neurocart.services.ingest` (units converted
  once, impossible values refused naming the element). ``status`` final creates, amended or
  corrected corrects the identifier's current row (reason = ``note[0]``), entered-in-error
  retracts.
- **Condition**: the patient's diagnosis (ICD-10, ICD-10-CM or ``urn:neurocart:local|dx-…``).
- **Procedure**, **MedicationAdministration** (the CAR-T infusion with product and lot,
  lymphodepletion, tocilizumab, steroids) and **Encounter** (an inpatient stay): events.

``transaction`` is all or nothing: the first problem found anywhere refuses the Bundle with an
OperationOutcome listing every problem (its ``expression`` the FHIRPath of the element) and
nothing is written. ``batch`` answers each entry on its own. Every keyed resource needs an
``identifier``; a resend of a stored identifier writes nothing (conditional create,
``ifNoneExist=identifier=system|value``), so a retried feed is idempotent.
"""

from __future__ import annotations

import contextlib
import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from neurocart.ingest import (
    ObservationError,
    ObservationIn,
    Specimen,
    lookup,
    normalize_observation,
)
from neurocart.ingest.codes import RESULT_UNIT
from neurocart.interop.codemap import CodeMap
from neurocart.interop.config import FeedSettings, get_feed_settings
from neurocart.interop.feed import (
    Act,
    FeedError,
    FeedProblem,
    FeedRecorder,
    ObservationItem,
    Recorded,
)
from neurocart.interop.fhir import terms
from neurocart.interop.fhir.outcome import FhirError, Issue, operation_outcome
from neurocart.standards import REGISTRY, CalculatorInputError, calculate
from neurocart.store import repo
from neurocart.store.errors import InvalidRecordError
from neurocart.store.models import Diagnosis, EventType, Patient, User
from neurocart.studyday import local_date

SUPPORTED = (
    "Patient",
    "Observation",
    "Condition",
    "Procedure",
    "MedicationAdministration",
    "Encounter",
)
"""Resource types a Bundle may carry (the CapabilityStatement lists the same)."""
FHIR_SYSTEM = "fhir"
"""The ingest-key namespace of FHIR identifiers (the identifier's own system is in the key)."""
BP_PANEL = "85354-9"
ANSWER_POSITIVE = "LA6576-8"
ANSWER_NEGATIVE = "LA6577-6"

OBSERVATION_FIELD = {
    "code": "code",
    "code_system": "code.coding.system",
    "value": "valueQuantity.value",
    "unit": "valueQuantity.code",
    "specimen": "specimen",
    "effective_at": "effective",
    "source": "meta.source",
    "note": "note",
}
"""The ingest rules' field names → the Observation element they came from."""


@dataclass
class _Plan:
    """One entry, mapped and checked, waiting to be written."""

    index: int
    resource_type: str
    study_id: str
    run: Callable[[FeedRecorder, int], list[Recorded]] | None = None
    items: list[ObservationItem] = field(default_factory=list)
    patient_only: bool = False


class _EntryError(Exception):
    def __init__(self, issues: list[Issue], status: int = 422) -> None:
        self.issues = issues
        self.status = status


def process_bundle(
    session: Session,
    actor: User,
    body: Any,
    *,
    source: str,
    codemap: CodeMap | None = None,
    settings: FeedSettings | None = None,
    limit: int = 10_000,
) -> tuple[dict[str, Any], FeedRecorder]:
    """Store a transaction or batch Bundle; returns the response Bundle and the recorder.
    Raises FhirError (400/422) for a
    Bundle refused as a whole (then nothing was written)."""
    settings = settings or get_feed_settings()
    codemap = codemap or CodeMap()
    if not isinstance(body, Mapping) or body.get("resourceType") != "Bundle":
        got = body.get("resourceType") if isinstance(body, Mapping) else type(body).__name__
        raise FhirError(400, [Issue("Bundle.resourceType", "must be a Bundle", got)])
    kind = body.get("type")
    if kind not in ("transaction", "batch"):
        raise FhirError(422, [Issue("Bundle.type", "must be transaction or batch", kind)])
    entries = body.get("entry") or []
    if not isinstance(entries, list):
        raise FhirError(400, [Issue("Bundle.entry", "must be a list", type(entries).__name__)])
    mapper = _Mapper(settings, codemap, source)
    mapper.collect_patients(entries)
    plans: list[_Plan | _EntryError] = []
    for i, entry in enumerate(entries):
        try:
            plans.append(mapper.entry(i, entry))
        except _EntryError as exc:
            plans.append(exc)
    observations = sum(len(p.items) for p in plans if isinstance(p, _Plan))
    if observations > limit:
        raise FhirError(
            422, [Issue("Bundle.entry", f"at most {limit} observations per Bundle", observations)]
        )
    recorder = FeedRecorder(session, actor, system=FHIR_SYSTEM, salt=settings.ingest_salt)
    if kind == "transaction":
        return _transaction(session, recorder, plans), recorder
    return _batch(session, recorder, plans), recorder


def _patients(session: Session, plans: Sequence[_Plan]) -> dict[str, int]:
    wanted = sorted({p.study_id for p in plans})
    found: dict[str, int] = {}
    for start in range(0, len(wanted), 500):
        query = select(Patient.study_id, Patient.id).where(
            Patient.study_id.in_(wanted[start : start + 500])
        )
        for study_id, row_id in session.execute(query):
            found[study_id] = row_id
    return found


def _unknown_patient(plan: _Plan) -> Issue:
    where = "identifier" if plan.resource_type == "Patient" else "subject"
    return Issue(
        f"Bundle.entry[{plan.index}].resource.{where}",
        "no patient with this study ID (patients are registered in neurocart first)",
        plan.study_id,
        code="not-found",
    )


def _transaction(
    session: Session, recorder: FeedRecorder, plans: Sequence[_Plan | _EntryError]
) -> dict[str, Any]:
    refused = [p for p in plans if isinstance(p, _EntryError)]
    if refused:
        status = 400 if any(p.status == 400 for p in refused) else 422
        raise FhirError(status, [i for p in refused for i in p.issues])
    good = [p for p in plans if isinstance(p, _Plan)]
    ids = _patients(session, good)
    missing = [_unknown_patient(p) for p in good if p.study_id not in ids]
    if missing:
        raise FhirError(422, missing)
    results: dict[int, list[Recorded]] = {}
    grouped: dict[str, list[_Plan]] = defaultdict(list)
    for plan in good:
        if plan.items:
            grouped[plan.study_id].append(plan)
    for study_id, group in grouped.items():
        items = [item for plan in group for item in plan.items]
        try:
            recorded = recorder.observations(ids[study_id], items)
        except FeedError as exc:
            raise FhirError(422, _feed_issues(exc, group)) from None
        position = 0
        for plan in group:
            results[plan.index] = recorded[position : position + len(plan.items)]
            position += len(plan.items)
    for plan in good:
        if plan.run is not None:
            try:
                results[plan.index] = plan.run(recorder, ids[plan.study_id])
            except FeedError as exc:
                raise FhirError(422, _feed_issues(exc, [plan])) from None
    entries = [_response(plan, results.get(plan.index, []), ids) for plan in good]
    return {"resourceType": "Bundle", "type": "transaction-response", "entry": entries}


def _batch(
    session: Session, recorder: FeedRecorder, plans: Sequence[_Plan | _EntryError]
) -> dict[str, Any]:
    good = [p for p in plans if isinstance(p, _Plan)]
    ids = _patients(session, good)
    entries: list[dict[str, Any]] = []
    for plan in plans:
        if isinstance(plan, _EntryError):
            entries.append(_error_entry(plan.status, plan.issues))
            continue
        if plan.study_id not in ids:
            entries.append(_error_entry(422, [_unknown_patient(plan)]))
            continue
        savepoint = session.begin_nested()
        try:
            recorded: list[Recorded] = []
            if plan.items:
                recorded = recorder.observations(ids[plan.study_id], plan.items)
            if plan.run is not None:
                recorded = plan.run(recorder, ids[plan.study_id])
            savepoint.commit()
        except FeedError as exc:
            savepoint.rollback()
            entries.append(_error_entry(422, _feed_issues(exc, [plan])))
            continue
        entries.append(_response(plan, recorded, ids))
    return {"resourceType": "Bundle", "type": "batch-response", "entry": entries}


def _feed_issues(exc: FeedError, plans: Sequence[_Plan]) -> list[Issue]:
    """FeedError problems located at their entry: observation items are numbered across
    `plans` (one patient's group); any other problem belongs to the one plan given."""
    by_item = [plan for plan in plans for _ in plan.items]
    issues = []
    for problem in exc.problems:
        if by_item and problem.index < len(by_item):
            plan = by_item[problem.index]
            element = OBSERVATION_FIELD.get(problem.field, problem.field)
        else:
            plan, element = plans[0], problem.field
        issues.append(
            Issue(f"Bundle.entry[{plan.index}].resource.{element}", problem.message, problem.got)
        )
    return issues


def _error_entry(status: int, issues: Sequence[Issue]) -> dict[str, Any]:
    reason = "Bad Request" if status == 400 else "Unprocessable Entity"
    return {"response": {"status": f"{status} {reason}", "outcome": operation_outcome(issues)}}


def _response(plan: _Plan, recorded: Sequence[Recorded], ids: Mapping[str, int]) -> dict[str, Any]:
    if plan.patient_only or not recorded:
        location = f"Patient/{plan.study_id}"
        status = "200 OK"
        return {"response": {"status": status, "location": location}}
    created = any(r.created for r in recorded)
    first = recorded[0]
    response: dict[str, Any] = {"status": "201 Created" if created else "200 OK"}
    if first.root_id is not None:
        response["location"] = f"{plan.resource_type}/{first.root_id}/_history/{first.version}"
    warnings = [
        Issue(f"{plan.resource_type}", r.warning, severity="warning", code="informational")
        for r in recorded
        if r.warning
    ]
    if warnings:
        response["outcome"] = operation_outcome(warnings)
    return {"response": response}


# --- mapping ------------------------------------------------------------------------------


_IDENTIFIER_QUERY = re.compile(r"^identifier=(?P<system>[^|]*)\|(?P<value>.+)$")


class _Mapper:
    def __init__(self, settings: FeedSettings, codemap: CodeMap, source: str) -> None:
        self.settings = settings
        self.codemap = codemap
        self.source = source[:64]
        self.full_urls: dict[str, str] = {}

    def collect_patients(self, entries: Sequence[Any]) -> None:
        """fullUrl → study ID of every Patient entry (for ``urn:uuid`` references)."""
        for entry in entries:
            if not isinstance(entry, Mapping):
                continue
            resource = entry.get("resource")
            if isinstance(resource, Mapping) and resource.get("resourceType") == "Patient":
                study_id = self._study_id(resource.get("identifier"))
                if study_id and isinstance(entry.get("fullUrl"), str):
                    self.full_urls[entry["fullUrl"]] = study_id

    def _study_id(self, identifiers: Any) -> str | None:
        """The study ID among a Patient's identifiers, read before the entry is validated
        (a malformed `identifier`, not a list, has none: the entry's own check names it)."""
        if not isinstance(identifiers, list):
            return None
        for ident in identifiers:
            if (
                isinstance(ident, Mapping)
                and ident.get("system") == self.settings.fhir_study_id_system
            ):
                value = ident.get("value")
                if isinstance(value, str) and value:
                    return value
        return None

    def entry(self, i: int, entry: Any) -> _Plan:
        here = f"Bundle.entry[{i}]"
        if not isinstance(entry, Mapping):
            raise _EntryError([Issue(here, "must be an object")], 400)
        request = entry.get("request")
        if not isinstance(request, Mapping):
            raise _EntryError([Issue(f"{here}.request", "required in a transaction or batch")])
        method = request.get("method")
        if method not in ("POST", "PUT"):
            raise _EntryError(
                [
                    Issue(
                        f"{here}.request.method",
                        "only POST and PUT are accepted (retract by sending the resource with "
                        "status entered-in-error)",
                        method,
                    )
                ]
            )
        raw = entry.get("resource")
        if not isinstance(raw, Mapping):
            raise _EntryError([Issue(f"{here}.resource", "required")], 400)
        kind = raw.get("resourceType")
        if kind not in SUPPORTED:
            raise _EntryError(
                [
                    Issue(
                        f"{here}.resource.resourceType",
                        f"not accepted here; accepted: {', '.join(SUPPORTED)}",
                        kind,
                        code="not-supported",
                    )
                ]
            )
        from fhir.resources.R4B import get_fhir_model_class  # on the first bundle, not at start-up

        try:
            resource = get_fhir_model_class(kind).model_validate(raw)
        except ValidationError as exc:
            raise _EntryError(
                [
                    Issue(
                        f"{here}.resource." + ".".join(str(p) for p in e["loc"]),
                        e["msg"],
                        _shown(e.get("input")),
                        code="structure",
                    )
                    for e in exc.errors()
                ],
                400,
            ) from None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # fhir.resources raises these for some malformed shapes (e.g. a contained
            # resource of no or an unknown resourceType) instead of a ValidationError
            raise _EntryError(
                [
                    Issue(
                        f"{here}.resource",
                        f"not a valid R4 {kind}: {type(exc).__name__} {exc}",
                        code="structure",
                    )
                ],
                400,
            ) from None
        try:
            return self._mapped(i, kind, resource, request)
        except (AttributeError, TypeError) as exc:  # a shape the R4B models let through
            raise _EntryError(
                [
                    Issue(
                        f"{here}.resource",
                        f"an element neurocart needs is missing or malformed ({exc})",
                        code="structure",
                    )
                ]
            ) from None

    def _mapped(self, i: int, kind: str, resource: Any, request: Mapping[str, Any]) -> _Plan:
        at = f"Bundle.entry[{i}].resource"
        key = self._key(i, resource, request) if kind != "Patient" else None
        if kind == "Patient":
            return self._patient(i, resource, request)
        study_id = self._subject(at, resource)
        assert key is not None
        if kind == "Observation":
            return self._observation(i, at, resource, study_id, key)
        if kind == "Condition":
            return self._condition(i, at, resource, study_id)
        if kind == "Procedure":
            return self._procedure(i, at, resource, study_id, key)
        if kind == "MedicationAdministration":
            return self._medication(i, at, resource, study_id, key)
        return self._encounter(i, at, resource, study_id, key)

    def _key(self, i: int, resource: Any, request: Mapping[str, Any]) -> str | None:
        """The ingest key: the resource's identifier (required), checked against the
        request's ``ifNoneExist`` or conditional PUT URL."""
        here = f"Bundle.entry[{i}]"
        idents = (
            [f"{x.system}|{x.value}" for x in (resource.identifier or []) if x.system and x.value]
            if hasattr(resource, "identifier")
            else []
        )
        if resource.get_resource_type() == "Condition":
            return idents[0] if idents else "condition"
        if not idents:
            raise _EntryError(
                [
                    Issue(
                        f"{here}.resource.identifier",
                        "required (system and value): it makes a retried feed idempotent",
                    )
                ]
            )
        query = request.get("ifNoneExist")
        url = request.get("url")
        where = f"{here}.request.ifNoneExist"
        if query is None and isinstance(url, str) and "?" in url:
            query, where = url.split("?", 1)[1], f"{here}.request.url"
        if query is not None:
            match = _IDENTIFIER_QUERY.match(str(query))
            if match is None:
                raise _EntryError(
                    [Issue(where, "only identifier=system|value is supported", query)]
                )
            wanted = f"{match['system']}|{match['value']}"
            if wanted not in idents:
                raise _EntryError(
                    [Issue(where, "names an identifier the resource does not carry", query)]
                )
            return wanted
        return idents[0]

    def _patient(self, i: int, resource: Any, request: Mapping[str, Any]) -> _Plan:
        idents = [x for x in resource.identifier or [] if x.system and x.value]
        study = [x.value for x in idents if x.system == self.settings.fhir_study_id_system]
        if not study:
            raise _EntryError(
                [
                    Issue(
                        f"Bundle.entry[{i}].resource.identifier",
                        f"a study ID in {self.settings.fhir_study_id_system} is required "
                        "(patients are matched, never created, and carry no hospital number)",
                    )
                ]
            )
        others = [x.system for x in idents if x.system != self.settings.fhir_study_id_system]
        if others or resource.name or resource.address or resource.telecom:
            raise _EntryError(
                [
                    Issue(
                        f"Bundle.entry[{i}].resource",
                        "only the study ID may identify a patient here (no MRN, name, "
                        "address or telecom)",
                        others or None,
                    )
                ]
            )
        return _Plan(i, "Patient", study[0], patient_only=True)

    def _subject(self, at: str, resource: Any) -> str:
        subject = getattr(resource, "subject", None) or getattr(resource, "patient", None)
        if subject is not None:
            if subject.reference:
                ref = subject.reference
                if ref in self.full_urls:
                    return str(self.full_urls[ref])
                if ref.startswith("Patient/"):
                    return str(ref).removeprefix("Patient/")
            ident = subject.identifier
            study = self.settings.fhir_study_id_system
            if ident is not None and ident.system == study and ident.value:
                return str(ident.value)
        raise _EntryError(
            [
                Issue(
                    f"{at}.subject",
                    "must reference a Patient of this Bundle, Patient/<study ID>, or carry "
                    "the study-ID identifier",
                )
            ]
        )

    # --- Observation --------------------------------------------------------------------

    def _observation(self, i: int, at: str, res: Any, study_id: str, key: str) -> _Plan:
        act = _act(at, res.status, {"final": Act.CREATE})
        for coding in _codings(res.code):
            if coding.system == terms.INSTRUMENT and coding.code:
                return self._assessment(i, at, res, study_id, key, act, str(coding.code))
        reason = _note(res)
        effective = self._effective(at, res)
        specimen = self._specimen(at, res)
        items: list[ObservationItem] = []
        issues: list[Issue] = []
        codings = _codings(res.code)
        if any(c.system == terms.LOINC and c.code == BP_PANEL for c in codings):
            for k, component in enumerate(res.component or []):
                where = f"{at}.component[{k}]"
                try:
                    code, system, default_unit, _ = self._code(where, _codings(component.code))
                    value, unit = self._value(where, component, default_unit, code, system)
                except _EntryError as exc:
                    issues.extend(exc.issues)
                    continue
                raw = self._raw(code, system, value, unit, None, effective, reason)
                items.append(ObservationItem(f"{key}|{code}", raw, act, reason))
            if not items and not issues:
                issues.append(Issue(f"{at}.component", "the panel carries no component"))
        else:
            try:
                code, system, default_unit, mapped_specimen = self._code(f"{at}.code", codings)
                value, unit = self._value(at, res, default_unit, code, system)
                raw = self._raw(
                    code, system, value, unit, specimen or mapped_specimen, effective, reason
                )
                items.append(ObservationItem(key, raw, act, reason))
            except _EntryError as exc:
                issues.extend(exc.issues)
        for item in items:  # the ingest rules, checked now so a refusal lists every entry
            try:
                normalize_observation(item.raw)
            except ObservationError as exc:
                element = OBSERVATION_FIELD.get(exc.field, exc.field)
                issues.append(Issue(f"{at}.{element}", exc.message, exc.got))
        if issues:
            raise _EntryError(issues)
        return _Plan(i, "Observation", study_id, items=items)

    def _raw(
        self,
        code: str,
        system: str,
        value: float,
        unit: str,
        specimen: Specimen | None,
        effective: datetime,
        note: str | None,
    ) -> ObservationIn:
        return ObservationIn.model_construct(
            code=code,
            code_system=system,
            value=value,
            unit=unit,
            specimen=specimen,
            effective_at=effective,
            source=self.source,
            note=note,
        )

    def _code(self, at: str, codings: Sequence[Any]) -> tuple[str, str, str | None, Any]:
        tried = []
        for coding in codings or []:
            if not coding.code:
                continue
            mapped = self.codemap.resolve(coding.code, coding.system)
            if mapped is not None:
                return mapped.code, mapped.system, mapped.unit, mapped.specimen
            tried.append(f"{coding.system}|{coding.code}")
        raise _EntryError(
            [
                Issue(
                    f"{at}.coding",
                    "no coding is in neurocart's catalogue or the site's code map "
                    "(LOINC, urn:neurocart:local, or a mapped local code)",
                    ", ".join(tried) or None,
                    code="code-invalid",
                )
            ]
        )

    def _value(
        self, at: str, res: Any, default_unit: str | None, code: str, system: str
    ) -> tuple[float, str]:
        quantity = getattr(res, "valueQuantity", None)
        if quantity is not None:
            if quantity.value is None:
                raise _EntryError([Issue(f"{at}.valueQuantity.value", "required")])
            unit = quantity.code or quantity.unit or default_unit
            if not unit:
                raise _EntryError(
                    [Issue(f"{at}.valueQuantity.code", "a UCUM code or unit is required")]
                )
            return float(quantity.value), str(unit)
        concept = getattr(res, "valueCodeableConcept", None)
        if concept is not None:
            words = [c.code for c in concept.coding or [] if c.code]
            words += [concept.text] if concept.text else []
            for word in words:
                answer = self.codemap.answer(word)
                if answer is not None:
                    return answer, RESULT_UNIT
            raise _EntryError(
                [
                    Issue(
                        f"{at}.valueCodeableConcept",
                        f"answer not known: use {ANSWER_POSITIVE} (positive) or "
                        f"{ANSWER_NEGATIVE} (negative)",
                        words or None,
                    )
                ]
            )
        for name in ("valueInteger", "valueDecimal"):
            number = getattr(res, name, None)
            if number is not None:
                unit = default_unit or lookup(code, system).unit
                return float(number), unit
        raise _EntryError(
            [Issue(f"{at}.value[x]", "valueQuantity (or a coded answer) is required")]
        )

    def _effective(self, at: str, res: Any) -> datetime:
        value: Any = res.effectiveDateTime or res.effectiveInstant
        where = f"{at}.effectiveDateTime"
        if value is None and res.effectivePeriod is not None:
            value, where = res.effectivePeriod.start, f"{at}.effectivePeriod.start"
        return _instant(where, value)

    def _specimen(self, at: str, res: Any) -> Specimen | None:
        if res.specimen is None:
            return None
        ref = res.specimen.reference or ""
        found = None
        if ref.startswith("#"):
            found = next(
                (c for c in res.contained or [] if getattr(c, "id", None) == ref[1:]), None
            )
        if found is None or found.get_resource_type() != "Specimen":
            raise _EntryError(
                [Issue(f"{at}.specimen", "must reference a contained Specimen (#id)", ref)]
            )
        codes = [c.code for c in (found.type.coding if found.type else []) or [] if c.code]
        for code in codes:
            if code in terms.SPECIMEN_IN:
                return terms.SPECIMEN_IN[code]
        raise _EntryError(
            [
                Issue(
                    f"{at}.contained.Specimen.type",
                    f"specimen type not known; accepted (v2-0487): {', '.join(terms.SPECIMEN_IN)}",
                    codes or None,
                )
            ]
        )

    def _assessment(
        self, i: int, at: str, res: Any, study_id: str, key: str, act: Act, instrument: str
    ) -> _Plan:
        """A scored assessment: the inputs are the components; neurocart scores them again
        and refuses a sender's score that differs."""
        if instrument not in REGISTRY:
            raise _EntryError(
                [Issue(f"{at}.code.coding", "not a neurocart instrument", instrument)]
            )
        effective = self._effective(at, res)
        system = f"{terms.INSTRUMENT}:{instrument}"
        inputs: dict[str, Any] = {}
        where: dict[str, str] = {}
        for k, component in enumerate(res.component or []):
            names = [c.code for c in _codings(component.code) if c.system == system]
            if not names:
                raise _EntryError(
                    [Issue(f"{at}.component[{k}].code", f"a coding in {system} names the input")]
                )
            inputs[str(names[0])] = _component_value(component)
            where[str(names[0])] = f"{at}.component[{k}]"
        try:
            result = calculate(instrument, inputs)
        except CalculatorInputError as exc:
            raise _EntryError(
                [
                    Issue(where.get(p.field, f"{at}.component"), f"{p.field}: {p.message}", p.got)
                    for p in exc.problems
                ]
            ) from None
        sent = res.valueInteger if res.valueInteger is not None else None
        if sent is None and res.valueQuantity is not None and res.valueQuantity.value is not None:
            sent = float(res.valueQuantity.value)
        if sent is not None and float(sent) != result.number:
            raise _EntryError(
                [
                    Issue(
                        f"{at}.value",
                        f"the sender's score {sent} differs from {instrument} computed from the "
                        f"components: {result.value}",
                        sent,
                    )
                ]
            )
        reason = _note(res)

        def run(recorder: FeedRecorder, patient_id: int) -> list[Recorded]:
            try:
                return [
                    recorder.assessment(patient_id, key, instrument, inputs, effective, act, reason)
                ]
            except (CalculatorInputError, InvalidRecordError) as exc:
                raise FeedError([FeedProblem(0, "component", str(exc))]) from None

        return _Plan(i, "Observation", study_id, run=run)

    # --- Condition ----------------------------------------------------------------------

    def _condition(self, i: int, at: str, res: Any, study_id: str) -> _Plan:
        diagnosis: Diagnosis | None = None
        for coding in _codings(res.code):
            code = coding.code or ""
            if coding.system == terms.LOCAL and code.startswith("dx-"):
                with contextlib.suppress(ValueError):
                    diagnosis = Diagnosis(code.removeprefix("dx-"))
            elif coding.system in (terms.ICD10, terms.ICD10CM):
                diagnosis = diagnosis or terms.diagnosis_of_icd(code)
            if diagnosis is not None:
                break
        if diagnosis is None:
            raise _EntryError(
                [
                    Issue(
                        f"{at}.code",
                        "must name the treated disease (ICD-10 G35, G36.0, G70.0, G72.4, "
                        "G61.8 or their ICD-10-CM subcodes, or urn:neurocart:local|dx-<name>)",
                        code="code-invalid",
                    )
                ]
            )
        asserted: Any = None
        for ext in res.extension or []:
            if ext.url == terms.ASSERTED_DATE:
                asserted = ext.valueDateTime
        asserted = asserted or res.onsetDateTime or res.recordedDate
        when: date | None = None
        if isinstance(asserted, datetime):  # the day it names on the site's clock
            when = local_date(asserted)
        elif isinstance(asserted, date):
            when = asserted
        subtype = res.code.text if res.code and res.code.text else None
        chosen = diagnosis

        def run(recorder: FeedRecorder, patient_id: int) -> list[Recorded]:
            patient = repo.get_patient(recorder.session, patient_id)
            changes: dict[str, Any] = {}
            if patient.diagnosis != chosen:
                changes["diagnosis"] = chosen
            if subtype is not None and patient.subtype != subtype:
                changes["subtype"] = subtype[:64]
            if when is not None and patient.diagnosis_date != when:
                changes["diagnosis_date"] = when
            if not changes:
                return [Recorded("condition", "unchanged", patient.id, patient.id, 1)]
            try:
                repo.update_patient(recorder.session, recorder.actor, patient_id, **changes)
            except InvalidRecordError as exc:
                raise FeedError([_problem(exc)]) from None
            return [Recorded("condition", "corrected", patient.id, patient.id, 1)]

        return _Plan(i, "Condition", study_id, run=run)

    # --- events -------------------------------------------------------------------------

    def _event_plan(
        self,
        i: int,
        kind: str,
        study_id: str,
        key: str,
        values: dict[str, Any],
        act: Act,
        reason: str | None,
    ) -> _Plan:
        def run(recorder: FeedRecorder, patient_id: int) -> list[Recorded]:
            return [recorder.event(patient_id, key, values, act, reason)]

        return _Plan(i, kind, study_id, run=run)

    def _procedure(self, i: int, at: str, res: Any, study_id: str, key: str) -> _Plan:
        act = _act(at, res.status, {"completed": Act.CREATE, "in-progress": Act.CREATE})
        kind = _event_type(f"{at}.code", res.code, terms.PROCEDURE_EVENTS)
        period = res.performedPeriod
        if period is not None:
            onset = _instant(f"{at}.performedPeriod.start", period.start)
            end = None if period.end is None else _instant(f"{at}.performedPeriod.end", period.end)
        else:
            onset, end = _instant(f"{at}.performedDateTime", res.performedDateTime), None
        values = {"type": kind, "onset_at": onset, "end_at": end}
        return self._event_plan(i, "Procedure", study_id, key, values, act, _note(res))

    def _medication(self, i: int, at: str, res: Any, study_id: str, key: str) -> _Plan:
        act = _act(at, res.status, {"completed": Act.CREATE})
        if res.effectivePeriod is not None:
            onset = _instant(f"{at}.effectivePeriod.start", res.effectivePeriod.start)
            end_raw = res.effectivePeriod.end
            end = None if end_raw is None else _instant(f"{at}.effectivePeriod.end", end_raw)
        else:
            onset, end = _instant(f"{at}.effectiveDateTime", res.effectiveDateTime), None
        dose = res.dosage.dose if res.dosage is not None else None
        dose_value = None if dose is None or dose.value is None else float(dose.value)
        dose_unit = None if dose is None else (dose.code or dose.unit)
        values: dict[str, Any] = {"onset_at": onset, "end_at": end}
        medication = None
        if res.medicationReference is not None:
            ref = res.medicationReference.reference or ""
            medication = next(
                (c for c in res.contained or [] if ref.startswith("#") and c.id == ref[1:]),
                None,
            )
            if medication is None or medication.get_resource_type() != "Medication":
                raise _EntryError(
                    [
                        Issue(
                            f"{at}.medicationReference",
                            "must reference a contained Medication (#id)",
                            ref,
                        )
                    ]
                )
        category = {c.code for c in (res.category.coding if res.category else []) or [] if c.code}
        if medication is not None:
            lot = medication.batch.lotNumber if medication.batch else None
            product = medication.code.text if medication.code else None
            if not product:
                raise _EntryError(
                    [Issue(f"{at}.contained.Medication.code.text", "the CAR-T product name")]
                )
            if not lot:
                raise _EntryError(
                    [
                        Issue(
                            f"{at}.contained.Medication.batch.lotNumber",
                            "the CAR-T product lot is required",
                        )
                    ]
                )
            details: dict[str, Any] = {"product": product, "lot": lot}
            if dose_value is not None:
                if dose_unit not in ("{cells}/kg", "cells/kg"):
                    raise _EntryError(
                        [
                            Issue(
                                f"{at}.dosage.dose.code",
                                "a CAR-T dose is in {cells}/kg",
                                dose_unit,
                            )
                        ]
                    )
                details["dose_cells_per_kg"] = dose_value
                values |= {"dose": dose_value, "dose_unit": "cells/kg"}
            values |= {"type": EventType.CAR_T_INFUSION, "drug": product[:64], "details": details}
        else:
            drug = self._drug(at, res.medicationCodeableConcept)
            kind = EventType.PREMEDICATION if "premedication" in category else EventType.DRUG_GIVEN
            details = {"lymphodepletion": True} if drug in terms.LYMPHODEPLETION else {}
            route = res.dosage.route.text if res.dosage and res.dosage.route else None
            if route:
                details["route"] = route
            values |= {"type": kind, "drug": drug, "details": details}
            if dose_value is not None:
                values |= {"dose": dose_value, "dose_unit": dose_unit or None}
        return self._event_plan(
            i, "MedicationAdministration", study_id, key, values, act, _note(res)
        )

    def _drug(self, at: str, concept: Any) -> str:
        if concept is not None:
            for coding in concept.coding or []:
                if coding.system == terms.ATC and coding.code in terms.DRUGS_ATC:
                    return terms.DRUGS_ATC[coding.code]
                if coding.system == terms.LOCAL and coding.code:
                    return str(coding.code)[:64]
        raise _EntryError(
            [
                Issue(
                    f"{at}.medicationCodeableConcept",
                    "an ATC code neurocart knows ("
                    + ", ".join(f"{k} {v}" for k, v in terms.DRUGS_ATC.items())
                    + "), urn:neurocart:local|<drug>, or a contained CAR-T Medication",
                    code="code-invalid",
                )
            ]
        )

    def _encounter(self, i: int, at: str, res: Any, study_id: str, key: str) -> _Plan:
        act = _act(
            at,
            res.status,
            {"in-progress": Act.CREATE, "finished": Act.CREATE, "arrived": Act.CREATE},
        )
        klass = res.class_fhir.code if res.class_fhir else None
        if klass not in ("IMP", "ACUTE", "EMER"):
            raise _EntryError(
                [Issue(f"{at}.class", "an inpatient stay (v3-ActCode IMP, ACUTE or EMER)", klass)]
            )
        if res.period is None:
            raise _EntryError([Issue(f"{at}.period.start", "required")])
        onset = _instant(f"{at}.period.start", res.period.start)
        end = None if res.period.end is None else _instant(f"{at}.period.end", res.period.end)
        details: dict[str, Any] = {"patient_class": "I" if klass != "EMER" else "E"}
        for loc in res.location or []:
            if loc.location is not None and loc.location.display:
                details["ward"] = str(loc.location.display)[:64]
                break
        values = {
            "type": EventType.HOSPITALIZATION,
            "onset_at": onset,
            "end_at": end,
            "details": details,
        }
        return self._event_plan(i, "Encounter", study_id, key, values, act, None)


def _codings(concept: Any) -> list[Any]:
    """A CodeableConcept's codings ([] when the concept or its codings are absent)."""
    return list(getattr(concept, "coding", None) or [])


def _component_value(component: Any) -> Any:
    """An input's value: boolean, integer, number, coded choice or text; None if absent."""
    for name in ("valueBoolean", "valueInteger", "valueString"):
        value = getattr(component, name, None)
        if value is not None:
            return value
    if component.valueQuantity is not None and component.valueQuantity.value is not None:
        number = component.valueQuantity.value
        return int(number) if number == int(number) and "." not in str(number) else float(number)
    concept = component.valueCodeableConcept
    if concept is not None:
        codes = [c.code for c in concept.coding or [] if c.code]
        return codes[0] if codes else concept.text
    return None


def _act(at: str, status: Any, creates: Mapping[str, Act]) -> Act:
    table = {
        **creates,
        "amended": Act.CORRECT,
        "corrected": Act.CORRECT,
        "entered-in-error": Act.RETRACT,
    }
    if status not in table:
        raise _EntryError(
            [Issue(f"{at}.status", f"accepted: {', '.join(table)}", status, code="value")]
        )
    return table[status]


def _event_type(at: str, concept: Any, allowed: frozenset[EventType]) -> EventType:
    for coding in concept.coding or [] if concept else []:
        if coding.system == terms.EVENT_TYPE and coding.code in {e.value for e in allowed}:
            return EventType(coding.code)
    raise _EntryError(
        [
            Issue(
                f"{at}",
                f"{terms.EVENT_TYPE}|<type>, type one of {', '.join(sorted(allowed))}",
                code="code-invalid",
            )
        ]
    )


def _instant(where: str, value: Any) -> datetime:
    if isinstance(value, datetime) and value.tzinfo is not None:
        try:
            return value.astimezone(UTC)
        except OverflowError:  # e.g. 0001-01-01T00:00:00+14:00: year 0 in UTC
            raise _EntryError(
                [Issue(where, "outside the range of dates once converted to UTC", str(value))]
            ) from None
    if value is None:
        raise _EntryError([Issue(where, "required (a time with its UTC offset)")])
    raise _EntryError(
        [Issue(where, "must be a time with its UTC offset, not a date alone", str(value))]
    )


def _note(res: Any) -> str | None:
    notes = getattr(res, "note", None) or []
    return notes[0].text if notes and notes[0].text else None


def _shown(value: Any) -> Any:
    if isinstance(value, str | int | float | Decimal | bool) or value is None:
        return value if not isinstance(value, Decimal) else float(value)
    return type(value).__name__


def _problem(exc: InvalidRecordError) -> FeedProblem:
    return FeedProblem(0, exc.field, str(exc), exc.got)


__all__ = ["SUPPORTED", "FhirError", "operation_outcome", "process_bundle"]
