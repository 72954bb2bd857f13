"""/fhir: the FHIR R4 facade — transaction and batch Bundles in, $everything out, metadata.

Routes only translate HTTP (neurocart.interop.fhir does the mapping). Every refusal is an
OperationOutcome naming the element (FHIRPath) with 400 (unparseable) or 422 (a rule), and
a refused transaction stores nothing: the route runs its own transaction so a refusal rolls
back everything before the OperationOutcome is sent; the monitor reads what committed.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.responses import JSONResponse

from neurocart.api.deps import DatabaseDep, ReadLog, ReadSession, SettingsDep, require
from neurocart.api.errors import InvalidBodyError
from neurocart.api.routing import ERROR_CONTENT, api_router, strict_json
from neurocart.interop.fhir import inbound, outbound
from neurocart.interop.fhir.capability import capability_statement
from neurocart.interop.fhir.outcome import FhirError, Issue, operation_outcome
from neurocart.security import Action, Resource
from neurocart.store import User

router = api_router(prefix="/fhir", tags=["fhir"])

Reader = Annotated[User, Depends(require(Resource.FEEDS, Action.READ))]
Writer = Annotated[User, Depends(require(Resource.FEEDS, Action.WRITE))]
FHIR_JSON = "application/fhir+json"


class FhirResponse(JSONResponse):
    """A JSON response sent with the FHIR media type, so FHIR clients accept the body as a FHIR
    resource.
    """

    media_type = FHIR_JSON


def _outcome(error: FhirError) -> FhirResponse:
    return FhirResponse(operation_outcome(error.issues), status_code=error.status)


async def bundle_body(request: Request) -> Any:
    """The parsed JSON body (strictly: no NaN, no lone surrogates), or a FhirError 400."""
    raw = await request.body()
    try:
        return strict_json(raw)
    except (json.JSONDecodeError, ValueError, InvalidBodyError) as exc:
        return FhirError(400, [Issue("Bundle", f"not valid JSON: {exc}", code="structure")])


Body = Annotated[Any, Depends(bundle_body)]
OUTCOME = {"application/fhir+json": {"schema": {"type": "object", "title": "OperationOutcome"}}}
"""A FHIR OperationOutcome (its schema is FHIR's, not repeated here)."""
OUTCOME_OR_ERROR = OUTCOME | ERROR_CONTENT
"""What the FHIR face itself refuses comes as an OperationOutcome; what the API refuses
before the Bundle is read (size, URL) comes in the API's error body."""


@router.get("/metadata", response_class=FhirResponse)
def metadata(user: Reader) -> FhirResponse:
    """The CapabilityStatement: what this server accepts and returns."""
    return FhirResponse(capability_statement())


@router.post(
    "",
    response_class=FhirResponse,
    responses={
        400: {"description": "not JSON, or not a Bundle", "content": OUTCOME_OR_ERROR},
        422: {"description": "an entry refused", "content": OUTCOME_OR_ERROR},
    },
)
def post_bundle(
    body: Body,
    user: Writer,
    database: DatabaseDep,
    settings: SettingsDep,
) -> FhirResponse:
    """A transaction (all or nothing) or batch (per entry) Bundle."""
    if isinstance(body, FhirError):
        return _outcome(body)
    try:
        with database.transaction() as session:
            response, _ = inbound.process_bundle(
                session,
                user,
                body,
                source=f"fhir:{user.username}",
                limit=settings.max_batch_observations,
            )
    except FhirError as exc:
        return _outcome(exc)
    return FhirResponse(response)


@router.get(
    "/Patient/{patient_id}/$everything",
    response_class=FhirResponse,
    responses={
        404: {"description": "no such patient", "content": OUTCOME},
        422: {"description": "a malformed patient id", "content": ERROR_CONTENT},
    },
)
def patient_everything(
    patient_id: Annotated[str, Path(min_length=1, max_length=64)],
    user: Reader,
    session: ReadSession,
    reads: ReadLog,
) -> FhirResponse:
    """The patient's record as a searchset Bundle (`patient_id`: logical id or study ID)."""
    patient = outbound.find_patient(session, patient_id)
    if patient is None:
        error = FhirError(
            404, [Issue("Patient.id", "no such patient", patient_id, code="not-found")]
        )
        return _outcome(error)
    reads(user, "export:fhir", patient_id=patient.id)
    return FhirResponse(outbound.everything(session, patient))
