"""Request parsing that refuses, as 4xx, what plain JSON parsing lets through.

Python's json module accepts ``NaN``, ``Infinity`` and ``1e999`` (→ inf); a JSON string may
hold a NUL character or a lone surrogate, which PostgreSQL or UTF-8 cannot store; an integer
may be thousands of digits long; a document may nest hundreds of levels, which later code
walking it recursively cannot take. Each of these would otherwise reach the database driver
or a recursive encoder and come back as a 500. `StrictRoute` (used by every router, see
`api_router`) reads bodies itself, parses them with `strict_json` (at most `MAX_DEPTH`
levels) and answers 415 to a body that is not JSON; `InputGuard` checks the URL and counts
body bytes as they arrive, so a body over the limit is refused with 413 whether or not it
declared a Content-Length (a chunked upload is stopped at the limit, never read whole).
"""

from __future__ import annotations

import contextlib
import email.message
import functools
import json
import math
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from fastapi import APIRouter, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.utils import create_model_field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from neurocart.api.deps import current_user, require
from neurocart.api.errors import (
    ErrorBody,
    InvalidBodyError,
    PayloadTooLargeError,
    Problem,
    UnsupportedMediaTypeError,
    respond,
)

if TYPE_CHECKING:
    from fastapi._compat import ModelField

MAX_INT = 2**63 - 1
MAX_DEPTH = 64
"""Deepest nesting of objects and arrays in a body: a FHIR Bundle nests about ten levels, an
event's `details` a few; 64 leaves room and keeps every recursive walker far from Python's
recursion limit."""
_NAMED_LEVELS = 2
"""How many leading path segments name the field of a too-deep value (``details.a``)."""


class _Invalid(json.JSONDecodeError):
    def __init__(self, message: str, doc: str = "", pos: int = 0) -> None:
        super().__init__(message, doc, pos)


def _constant(name: str) -> Any:
    raise _Invalid(f"{name} is not a number JSON allows")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Invalid(f"number {text[:40]} is too large")
    return value


def _int(text: str) -> int:
    if len(text) > 20:
        raise _Invalid(f"integer {text[:40]}… is too large")
    value = int(text)
    if abs(value) > MAX_INT:
        raise _Invalid(f"integer {text} is too large")
    return value


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise _Invalid("text must not contain the NUL character (\\u0000)")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise _Invalid("text must be valid Unicode (no lone surrogates)") from None


def _walk(value: Any, *, strings: bool = True) -> None:
    """Check a parsed document's depth and, with `strings`, every string (keys included);
    iteratively, containers only on the stack."""
    if not isinstance(value, dict | list):  # a bare scalar document
        if strings and isinstance(value, str):
            _check_text(value)
        return
    stack: list[tuple[Any, int, tuple[str | int, ...]]] = [(value, 1, ())]
    while stack:
        item, depth, path = stack.pop()
        if depth > MAX_DEPTH:
            raise InvalidBodyError(_path(path), f"is nested deeper than {MAX_DEPTH} levels")
        named = depth <= _NAMED_LEVELS
        pairs = item.items() if isinstance(item, dict) else enumerate(item)
        for key, inner in pairs:
            if strings and isinstance(key, str):
                _check_text(key)
            if isinstance(inner, str):
                if strings:
                    _check_text(inner)
            elif isinstance(inner, dict | list):
                stack.append((inner, depth + 1, (*path, key) if named else path))


def _path(parts: tuple[str | int, ...]) -> str:
    """("observations", 3, "note") → observations[3].note; () → body."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "body"


def strict_json(raw: bytes) -> Any:
    """Parse `raw` as JSON, refusing NaN/Infinity, overflowing numbers, unstorable text and
    nesting deeper than `MAX_DEPTH` (InvalidBodyError naming where)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _Invalid("body is not UTF-8") from None
    try:
        value = json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except RecursionError:
        raise InvalidBodyError("body", f"is nested deeper than {MAX_DEPTH} levels") from None
    # NUL and lone surrogates reach a string only as \u escapes (raw ones are invalid JSON
    # or invalid UTF-8), so a text without any leaves only the depth to check.
    _walk(value, strings="\\u" in text)
    return value


def _is_json(content_type: str) -> bool:
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


class StrictRequest(Request):
    """A request whose `json()` parses with `strict_json` (NaN, infinity, overflowing numbers
    and unstorable text refused) and caches the result."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = strict_json(await self.body())
        return self._json


ERRORS = {
    400: "malformed request (e.g. a Content-Length that is not a number)",
    401: "no valid bearer token (missing, expired, or the account is deactivated)",
    403: "the user's role lacks the permission; the message names it",
    404: "no such record; the field names which",
    409: "contradicts data already stored",
    413: "the body is larger than the server accepts (Settings.max_body_bytes), or a batch "
    "has more rows than Settings.max_batch_observations; nothing was stored",
    415: "the body is not application/json",
    422: "invalid input; every problem is named by its field",
}
"""The error statuses a route may answer, each with the one error body (errors.ErrorBody)."""
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
"""The error body as OpenAPI content, for routes whose own media type is not JSON."""


def _media_type(response_class: Any) -> str | None:
    value = getattr(response_class, "value", response_class)  # FastAPI's DefaultPlaceholder
    return getattr(value, "media_type", None)


def _calls(dependant: Dependant) -> list[Any]:
    """Every dependency callable of a route, depth first."""
    found, stack = [], [dependant]
    while stack:
        item = stack.pop()
        found.append(item.call)
        stack.extend(item.dependencies)
    return found


def error_statuses(route: APIRoute) -> list[int]:
    """What `route` can answer besides its success, read from what it is made of: 401 where a
    user must be authenticated, 403 where a permission is required, 404 for a record named in
    the path, 409 for a write, 400/413 where a body may come (InputGuard), 415 for a JSON
    body, 422 always (InputGuard refuses a URL with NUL or invalid UTF-8 on any route)."""
    calls = _calls(route.dependant)
    found = {422}
    if current_user in calls:
        found.add(401)
    if any(isinstance(c, require) for c in calls):
        found.add(403)
    if route.dependant.path_params:
        found.add(404)
    if (route.methods or set()) & _WRITES:
        found |= {400, 409, 413}
    if route.body_field is not None:
        found |= {400, 413, 415}
    return sorted(found)


@functools.cache
def _error_field(status: int) -> ModelField:
    """The response field of error `status`, one shared by every route: the same body
    (ErrorBody) and the same schema everywhere, built once rather than for each of ~100
    routes × ~5 statuses (a pydantic adapter each, a twentieth of a second in all)."""
    return create_model_field(
        name=f"Response_{status}_ErrorBody", type_=ErrorBody, mode="serialization"
    )


class StrictRoute(APIRoute):
    """An APIRoute whose JSON bodies go through `strict_json` (other media types get 415),
    and whose OpenAPI entry declares every error status it can answer (`error_statuses`),
    each with the body the API really sends (errors.ErrorBody); a
    POST that writes answers ``Idempotency-Key`` (neurocart.api.idempotency)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        from neurocart.api.idempotency import idempotent  # it imports the deps, which import us

        endpoint = idempotent(endpoint, kwargs.get("methods"), kwargs.get("status_code"))
        super().__init__(path, endpoint, **kwargs)
        json_route = _media_type(self.response_class) == "application/json"
        for status in error_statuses(self):
            given = self.responses.get(status, {})
            if "model" in given or "content" in given:
                continue  # a body the route declares itself wins (e.g. the FHIR face's)
            if not json_route:  # FastAPI would file the model under the route's media type
                content = {"content": ERROR_CONTENT}
                self.responses[status] = {"description": ERRORS[status], **given, **content}
                continue
            self.responses[status] = {"description": ERRORS[status], **given, "model": ErrorBody}
            self.response_fields[status] = _error_field(status)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        takes_body = self.body_field is not None

        async def strict_handler(request: Request) -> Response:
            strict = StrictRequest(request.scope, request.receive)
            if takes_body:
                raw = await strict.body()  # here, so that InputGuard's 413 is not FastAPI's 400
                content_type = strict.headers.get("content-type")
                if raw and not (content_type and _is_json(content_type)):
                    raise UnsupportedMediaTypeError(
                        "content-type", "the body must be application/json", content_type
                    )
                if raw:  # parsed here (cached for the handler), so too deep is a 422 from here;
                    with contextlib.suppress(json.JSONDecodeError):  # the handler parses again
                        await strict.json()  # and answers invalid JSON as FastAPI does (422)
            return await handler(strict)

        return strict_handler


def api_router(**kwargs: Any) -> APIRouter:
    """An APIRouter using StrictRoute (every router of the API is made with this)."""
    return APIRouter(route_class=StrictRoute, **kwargs)


class InputGuard:
    """ASGI middleware: refuse a URL with NUL or invalid UTF-8 (422), and a body over
    `max_body_bytes` (413): at once when its Content-Length says so, else as soon as the bytes
    received pass the limit (chunked uploads), so an oversized body is never read whole."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        """`max_body_bytes`: Settings.max_body_bytes (64 MiB by default, far above a
        10,000-observation batch of about 2 MB)."""
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = self._problem(scope)
        if problem is not None:
            status, found = problem
            await respond(status, [found])(scope, receive, send)
            return
        limit = self.max_body_bytes
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _too_large(limit, None)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except PayloadTooLargeError as exc:  # raised where no exception handler answered it
            if started:
                raise
            await respond(413, exc.problems)(scope, receive, send)

    def _problem(self, scope: Scope) -> tuple[int, Problem] | None:
        path: str = scope.get("path", "")
        query: bytes = scope.get("query_string", b"")
        try:
            _check_text(path)
            decoded = query.decode("utf-8")
        except (_Invalid, UnicodeDecodeError):
            return 422, Problem("path", "the URL must be valid UTF-8 without NUL characters")
        if "%00" in decoded or "\x00" in decoded:
            return 422, Problem("query", "the query must not contain NUL characters")
        try:
            unquote(decoded, errors="strict").encode("utf-8")
        except UnicodeError:
            return 422, Problem("query", "the query must be valid UTF-8")
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    size = int(value)
                except ValueError:
                    return 400, Problem("content-length", "not a number")
                if size > self.max_body_bytes:
                    return 413, _too_large(self.max_body_bytes, size).problems[0]
        return None


def _too_large(limit: int, size: int | None) -> PayloadTooLargeError:
    return PayloadTooLargeError("body", f"at most {limit} bytes", size)
