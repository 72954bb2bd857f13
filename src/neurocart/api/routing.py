"""Request parsing that refuses, as 4xx, what plain JSON parsing lets through.

Python's json module accepts ``NaN``, ``Infinity`` and ``1e999`` (→ inf); a JSON string may
hold a NUL character or a lone surrogate, which PostgreSQL or UTF-8 cannot store; an integer
may be thousands of digits long. Each of these would otherwise reach the database driver and
come back as a 500. `StrictRoute` (used by every router, see `api_router`) parses bodies with
`strict_json` and answers 415 to a body that is not JSON; `InputGuard` checks the URL and
the declared body size before any route runs.
"""

from __future__ import annotations

import email.message
import json
import math
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from neurocart.api.errors import PayloadTooLargeError, Problem, UnsupportedMediaTypeError, respond

MAX_INT = 2**63 - 1
MAX_BODY_BYTES = 64 * 1024 * 1024
"""Far above a 10,000-observation batch (~2 MB); protects the server's memory."""


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


def _walk(value: Any) -> None:
    """Check every string (keys included) of a parsed document, iteratively."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            _check_text(item)
        elif isinstance(item, dict):
            for key, inner in item.items():
                _check_text(key)
                if not isinstance(inner, int | float | bool) and inner is not None:
                    stack.append(inner)
        elif isinstance(item, list):
            stack.extend(x for x in item if isinstance(x, str | dict | list))


def strict_json(raw: bytes) -> Any:
    """Parse `raw` as JSON, refusing NaN/Infinity, overflowing numbers and unstorable text."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _Invalid("body is not UTF-8") from None
    value = json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int)
    _walk(value)
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


class StrictRoute(APIRoute):
    """An APIRoute whose JSON bodies go through `strict_json`; other media types get 415; a
    POST that writes answers ``Idempotency-Key`` (neurocart.api.idempotency)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        from neurocart.api.idempotency import idempotent  # it imports the deps, which import us

        endpoint = idempotent(endpoint, kwargs.get("methods"), kwargs.get("status_code"))
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        takes_body = self.body_field is not None

        async def strict_handler(request: Request) -> Response:
            strict = StrictRequest(request.scope, request.receive)
            if takes_body:
                content_type = strict.headers.get("content-type")
                if not (content_type and _is_json(content_type)) and await strict.body():
                    raise UnsupportedMediaTypeError(
                        "content-type", "the body must be application/json", content_type
                    )
            return await handler(strict)

        return strict_handler


def api_router(**kwargs: Any) -> APIRouter:
    """An APIRouter using StrictRoute (every router of the API is made with this)."""
    return APIRouter(route_class=StrictRoute, **kwargs)


class InputGuard:
    """ASGI middleware: refuse a URL with NUL or invalid UTF-8, and an oversized body (4xx)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            problem = self._problem(scope)
            if problem is not None:
                status, found = problem
                await respond(status, [found])(scope, receive, send)
                return
        await self.app(scope, receive, send)

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
                    too_large = PayloadTooLargeError(
                        "body", f"at most {self.max_body_bytes} bytes", size
                    )
                    return 413, too_large.problems[0]
        return None
