"""/fhir: the FHIR R4 facade — transaction and batch Bundles in, $everything out, metadata.

$everything answers in pages, as FHIR search does: `_count` resources a page (a default
and a maximum), the Bundle's `next` link carrying an opaque keyset cursor (`_cursor`).

Routes only translate HTTP (neurocart.interop.fhir does the mapping). Every refusal is an
OperationOutcome naming the element (FHIRPath) with 400 (unparseable) or 422 (a rule), and
a refused transaction stores nothing: the route runs its own transaction so a refusal rolls
back everything before the OperationOutcome is sent; the monitor reads what committed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Path, Request
from fastapi.responses import JSONResponse

from neurocart.api.deps import DatabaseDep, ReadLog, ReadSession, SettingsDep, require
from neurocart.api.errors import InvalidBodyError
from neurocart.api.pagination import InvalidCursorError, decode_tagged_cursor, encode_cursor
from neurocart.api.routing import ERROR_CONTENT, api_router, strict_json
from neurocart.interop.fhir import inbound, outbound
from neurocart.interop.fhir.capability import capability_statement
from neurocart.interop.fhir.outcome import FhirError, Issue, operation_outcome
from neurocart.security import Action, Resource
from neurocart.store import Patient, User

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


DEFAULT_COUNT, MAX_COUNT = outbound.DEFAULT_COUNT, outbound.MAX_COUNT
"""The page sizes of $everything (the CapabilityStatement states them too)."""
CURSOR = "_cursor"
"""The query parameter of the opaque position the `next` link resumes after."""
_MAX_CURSOR_CHARS = 512
_CURSOR_SHAPES = {name: (int, *shape) for name, shape in outbound.SECTIONS.items()}
"""A cursor is (section, the patient's row id, the section's key): bound to its patient."""


def page_size(given: Sequence[str]) -> int:
    """The page size of the `_count` values given: DEFAULT_COUNT when none, at most
    MAX_COUNT, 0 for a count without entries; anything but one whole number is a
    FhirError 400 naming `_count`."""
    if not given:
        return DEFAULT_COUNT
    if len(given) > 1:
        raise FhirError(400, [Issue("_count", "given more than once", list(given))])
    text = given[0]
    if not text.isascii() or not text.isdigit():
        issue = Issue("_count", "expected a whole number of resources per page (0 or more)", text)
        raise FhirError(400, [issue])
    digits = text.lstrip("0")
    return MAX_COUNT if len(digits) > len(str(MAX_COUNT)) else min(int(digits or 0), MAX_COUNT)


def _position(given: Sequence[str], patient: Patient) -> outbound.Position | None:
    """Where the page starts: after the `_cursor` given (None: from the first resource); a
    cursor this server did not make for this patient's record is a FhirError 400."""
    if not given:
        return None

    def refused(got: Any) -> FhirError:
        message = "not a page cursor of this patient's record; follow the Bundle's next link"
        return FhirError(400, [Issue(CURSOR, message, got)])

    if len(given) > 1:
        raise refused(list(given))
    cursor = given[0]
    if not 0 < len(cursor) <= _MAX_CURSOR_CHARS:
        raise refused(cursor[:64])
    try:
        section, owner, *key = decode_tagged_cursor(cursor, _CURSOR_SHAPES)
    except InvalidCursorError:
        raise refused(cursor) from None
    if owner != patient.id:
        raise refused(cursor)
    return outbound.Position(section, tuple(key))


def _encode(patient: Patient, position: outbound.Position) -> str:
    return encode_cursor((position.section, patient.id, *position.key))


def _link(request: Request, count: int, cursor: str | None) -> str:
    """This operation's absolute URL with only the paging parameters it honoured: `self`
    says what was run, `next` resumes after `cursor` (FHIR clients follow them as given)."""
    params = [("_count", str(count))] + ([] if cursor is None else [(CURSOR, cursor)])
    return str(request.url.replace(query=urlencode(params)))


PAGE_PARAMETERS = [
    {
        "name": "_count",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 0},
        "description": f"resources per page (default {DEFAULT_COUNT}; a larger count than "
        f"{MAX_COUNT} is lowered to it; 0: only the total)",
    },
    {
        "name": CURSOR,
        "in": "query",
        "required": False,
        "schema": {"type": "string", "maxLength": _MAX_CURSOR_CHARS},
        "description": "from the previous page's next link (opaque); omit for the first page",
    },
]
"""The paging parameters as documented; the route reads them itself (FHIR's refusal is an
OperationOutcome 400, not the API's 422, and a repeated parameter is refused, not merged)."""


@router.get(
    "/Patient/{patient_id}/$everything",
    response_class=FhirResponse,
    responses={
        400: {"description": "a malformed `_count` or `_cursor`", "content": OUTCOME},
        404: {"description": "no such patient", "content": OUTCOME},
        422: {"description": "a malformed patient id", "content": ERROR_CONTENT},
    },
    openapi_extra={"parameters": PAGE_PARAMETERS},
)
def patient_everything(
    patient_id: Annotated[str, Path(min_length=1, max_length=64)],
    request: Request,
    user: Reader,
    session: ReadSession,
    reads: ReadLog,
) -> FhirResponse:
    """One page of the patient's record as a searchset Bundle (`patient_id`: logical id or
    study ID): the Patient first, then observations, assessments, events and alerts, each in
    time (or id) order; `link` holds `self` and, unless this is the last page, `next`.

    The next link carries the position of the page's last resource, so every page costs the
    same and a resource recorded meanwhile never shifts a page; `total` is given when it is
    free (the whole record fits in the first page) or asked for (`_count=0`)."""
    patient = outbound.find_patient(session, patient_id)
    if patient is None:
        error = FhirError(
            404, [Issue("Patient.id", "no such patient", patient_id, code="not-found")]
        )
        return _outcome(error)
    query = request.query_params
    try:  # the parameters as FHIR sees them: every value of each, not FastAPI's last one
        size = page_size(query.getlist("_count"))
        after = _position(query.getlist(CURSOR), patient)
    except FhirError as exc:
        return _outcome(exc)
    reads(user, "export:fhir", patient_id=patient.id)
    if size == 0:  # _count=0: the number of matches only (FHIR search, "_count")
        matches = outbound.record_size(session, patient)
        self_link = [("self", _link(request, 0, None))]
        return FhirResponse(outbound.searchset([], links=self_link, total=matches))
    page = outbound.record_page(session, patient, count=size, after=after)
    links = [("self", _link(request, size, query.get(CURSOR)))]
    if page.next is not None:
        links.append(("next", _link(request, size, _encode(patient, page.next))))
    total = len(page.resources) if after is None and page.next is None else None
    return FhirResponse(outbound.searchset(page.resources, links=links, total=total))
