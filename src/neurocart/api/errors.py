"""Every failure the API answers, as one JSON shape that names the field.

    HTTP 4xx
    {"detail": [{"field": "observations[57].unit", "message": "cannot be converted ...",
                 "got": "mg"}]}

`field` is a path into the request (``observations[3].value``, ``effective_at``, a query or
path parameter name, ``authorization``), or null when no single field is at fault; `message`
says what was expected; `got` echoes what came (trimmed to a short form), null when nothing
came. Mapping: bad input 422 (validation, calculators, ingest, services, the store's record
checks), unknown record or route 404, contradiction with stored data 409, missing or invalid
credentials 401, a role without the permission 403, a body that is not JSON 415, too large
413.

Why one shape: a client (the web face, a lab feed) shows or logs `detail` without knowing
which layer refused the input, and a 10,000-row batch gets every bad row back at once.
"""

from __future__ import annotations

import json
import math
import reprlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from neurocart.ingest import ObservationError
from neurocart.pathway import ProtocolError, UnknownProtocolError
from neurocart.services.accounts import SignatureError, now_for, signature_failed
from neurocart.services.errors import InvalidInputError
from neurocart.standards import CalculatorInputError, UnknownCalculatorError
from neurocart.store.errors import (
    BatchTooLargeError,
    ConflictError,
    InvalidRecordError,
    NotFoundError,
)

MAX_GOT_CHARS = 200


@dataclass(frozen=True, slots=True)
class Problem:
    """One entry of `detail`."""

    field: str | None
    message: str
    got: Any = None


class ErrorItem(BaseModel):
    """One entry of an error body's `detail`, as the OpenAPI document shows it (`body` makes
    them: a test holds the two together)."""

    field: str | None = Field(
        description="where: observations[3].value, effective_at, a parameter name; "
        "null when no single field is at fault"
    )
    message: str = Field(description="what was expected")
    got: Any = Field(description="what came, shortened; null when nothing came")


class ErrorBody(BaseModel):
    """Every 4xx and 5xx of the API (except the FHIR face's OperationOutcome)."""

    detail: list[ErrorItem] = Field(min_length=1)


class ApiError(Exception):
    """An error raised by the API layer itself (auth, permissions, content type)."""

    status_code = 400

    def __init__(
        self, field: str | None, message: str, got: Any = None, *, problems: Sequence[Problem] = ()
    ) -> None:
        self.problems = list(problems) or [Problem(field, message, got)]
        super().__init__(message)


class UnauthenticatedError(ApiError):
    """401: no valid bearer token or session (missing, expired or for a deactivated account)."""

    status_code = 401


class ForbiddenError(ApiError):
    """403: the user's role may not do this; the message names the permission that is missing."""

    status_code = 403


class TooManyRequestsError(ApiError):
    """429: too many failed logins; `retry_after` (seconds) goes into the Retry-After header."""

    status_code = 429

    def __init__(self, field: str | None, message: str, *, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(field, message)


class PayloadTooLargeError(ApiError):
    """413: a body or batch over the configured limit; nothing was stored."""

    status_code = 413


class InvalidBodyError(ApiError):
    """422: a JSON body the API will not read further (nested too deeply), naming where."""

    status_code = 422


class UnsupportedMediaTypeError(ApiError):
    """415: a request body that is not JSON, refused before it is read as one."""

    status_code = 415


class UnavailableError(ApiError):
    """503: the service cannot answer now (e.g. the database is unreachable); the client
    may retry."""

    status_code = 503


def _short(value: Any) -> Any:
    """`value` as JSON-safe and short: non-finite numbers and long structures become text."""
    if value is None or isinstance(value, bool | int | str):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
            return reprlib.repr(value)
        if isinstance(value, str) and len(value) > MAX_GOT_CHARS:
            return value[:MAX_GOT_CHARS] + "…"
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    try:
        text = json.dumps(value, allow_nan=False, default=str, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        return reprlib.repr(value)
    if len(text) > MAX_GOT_CHARS:
        return reprlib.repr(value)
    return json.loads(text)


def body(problems: Iterable[Problem]) -> dict[str, Any]:
    """The response body for `problems`."""
    return {
        "detail": [
            {
                "field": p.field,
                "message": p.message.encode("utf-8", "replace").decode("utf-8"),
                "got": _short(p.got),
            }
            for p in problems
        ]
    }


def respond(
    status_code: int, problems: Iterable[Problem], headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """A JSON error response in the API's one shape, `{"detail": [{field, message, got}]}`, so every
    client reads errors the same way."""
    return JSONResponse(
        body(problems), status_code=status_code, headers=dict(headers) if headers else None
    )


def location(loc: Sequence[int | str]) -> str | None:
    """A pydantic/FastAPI location as a path: ("body", "rows", 3, "unit") → rows[3].unit."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or None


def validation_problems(errors: Sequence[Any]) -> list[Problem]:
    """FastAPI/pydantic error dicts as Problems (unknown fields and missing ones said plainly)."""
    problems = []
    for e in errors:
        kind = e.get("type", "")
        loc = e.get("loc", ())
        message = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        got = e.get("input")
        if kind == "json_invalid":
            reason = (e.get("ctx") or {}).get("error", "")
            problems.append(Problem("body", f"is not valid JSON: {reason}".rstrip(": ")))
            continue
        if kind == "extra_forbidden":
            message, got = "unknown field", None
        elif kind == "missing":
            message, got = "required", None
        problems.append(Problem(location(loc), message, got))
    return problems


def _header(exc: Exception) -> dict[str, str] | None:
    if isinstance(exc, TooManyRequestsError):
        return {"Retry-After": str(exc.retry_after)}
    return {"WWW-Authenticate": "Bearer"} if isinstance(exc, UnauthenticatedError) else None


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return respond(exc.status_code, exc.problems, _header(exc))


async def _request_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return respond(422, validation_problems(exc.errors()))


async def _calculator_input(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CalculatorInputError)
    return respond(422, [Problem(p.field, p.message, p.got) for p in exc.problems])


async def _invalid_record(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidRecordError)
    message = str(exc).removeprefix(f"{exc.field}: ")
    if exc.got is not None:
        message = message.removesuffix(f" (got {exc.got!r})")
    status = 413 if isinstance(exc, BatchTooLargeError) else 422  # nothing stored either way
    return respond(status, [Problem(exc.field, message, exc.got)])


async def _observation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ObservationError)
    return respond(422, [Problem(exc.field, exc.message, exc.got)])


async def _not_found(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, NotFoundError)
    return respond(404, [Problem(exc.field, f"no {exc.entity} {exc.key!r}", exc.key)])


async def _conflict(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ConflictError)
    return respond(409, [Problem(exc.field, str(exc).removeprefix(f"{exc.field}: "))])


async def _unknown_calculator(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, UnknownCalculatorError)
    return respond(404, [Problem("name", str(exc), exc.name)])


async def _unknown_protocol(_: Request, exc: Exception) -> JSONResponse:
    return respond(404, [Problem("protocol_id", str(exc))])


async def _protocol(_: Request, exc: Exception) -> JSONResponse:
    return respond(422, [Problem("protocol_id", str(exc))])


async def _integrity(_: Request, exc: Exception) -> JSONResponse:
    # A safety net: the store checks duplicates first, so this is a race or a missed rule.
    return respond(409, [Problem(None, "conflicts with data already stored")])


async def _data(_: Request, exc: Exception) -> JSONResponse:
    # A safety net: a value the schemas let through but the database cannot store.
    return respond(422, [Problem(None, "a value cannot be stored (out of range or too long)")])


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    field = "path" if exc.status_code in (404, 405) else None
    headers = exc.headers
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": allowed_methods(request)}
    return respond(exc.status_code, [Problem(field, str(exc.detail))], headers)


def allowed_methods(request: Request) -> str:
    """Every method some route answers at this path, for a 405's Allow header.

    Starlette fills Allow from the first route whose path matched, but GET and POST of one
    path are often two routes (GET /patients lists, POST /patients enrols): its header would
    leave one out (RFC 9110 §15.5.6 wants them all).
    """
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods))


async def _signature(request: Request, exc: Exception) -> JSONResponse:
    # missing (or no valid meaning): 422, like any required field; a wrong password: 403,
    # counted as a failed login of the signer (the write was rolled back before we get here)
    assert isinstance(exc, SignatureError)
    if not exc.missing and exc.signer is not None:
        state = request.app.state
        client = request.client.host if request.client is not None else None
        await run_in_threadpool(
            signature_failed, state.database, state.settings, exc.signer, client,
            now_for(state),
        )  # fmt: skip
    return respond(422 if exc.missing else 403, [Problem(exc.field, str(exc))])


async def _invalid_input(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidInputError)
    return respond(422, [Problem(p.location, p.message, p.got) for p in exc.problems])


def install(app: FastAPI) -> None:
    """Register every handler on `app`."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(CalculatorInputError, _calculator_input)
    app.add_exception_handler(InvalidRecordError, _invalid_record)
    app.add_exception_handler(ObservationError, _observation)
    app.add_exception_handler(NotFoundError, _not_found)
    app.add_exception_handler(ConflictError, _conflict)
    app.add_exception_handler(UnknownCalculatorError, _unknown_calculator)
    app.add_exception_handler(UnknownProtocolError, _unknown_protocol)
    app.add_exception_handler(ProtocolError, _protocol)
    app.add_exception_handler(IntegrityError, _integrity)
    app.add_exception_handler(DataError, _data)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(InvalidInputError, _invalid_input)
    app.add_exception_handler(SignatureError, _signature)
