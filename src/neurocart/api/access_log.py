"""An access log without patient identifiers.

Study IDs are pseudonyms, but a log file travels further than the record (support tickets,
log shippers), so no request line may carry one. Rather than guessing which path segments
or query parameters hold a study ID (``/patients/NC-0001``, ``/api/v1/alerts/NC-0006%3Acrs%3A1``,
``?study_id=``, ``/fhir/Patient/NC-0001/$everything``, a route added next year), the filter
keeps only what is certainly not an identifier: the literal segments of the app's own
routes (``api``, ``v1``, ``patients``, ``observations`` ...) and the names of the query
parameters the routes declare. Every other path segment, query name and query value becomes ``***``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote

from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute

MASK = "***"


def route_words(routes: Iterable[BaseRoute]) -> frozenset[str]:
    """The literal path segments of `routes` (included routers' prefixes too)."""
    words: set[str] = set()
    for context in iter_route_contexts(list(routes)):
        for segment in str(context.path).split("/"):
            if segment and "{" not in segment:
                words.add(segment)
    return frozenset(words)


def query_names(routes: Iterable[BaseRoute]) -> frozenset[str]:
    """The query parameter names the routes declare (their dependencies' included)."""
    names: set[str] = set()

    def walk(dependant: Any) -> None:
        for param in dependant.query_params:
            names.add(param.alias)
        for sub in dependant.dependencies:
            walk(sub)

    for context in iter_route_contexts(list(routes)):
        if isinstance(context.original_route, APIRoute):
            walk(context.original_route.dependant)
    return frozenset(names)


def mask_target(target: str, words: frozenset[str], names: frozenset[str] = frozenset()) -> str:
    """`target` (a request path with its query) with every segment that is not one of
    `words`, every query value and every query name not in `names` replaced by ``***``."""
    path, sep, query = target.partition("?")
    masked = "/".join(s if not s or unquote(s) in words else MASK for s in path.split("/"))
    if not sep:
        return masked
    pairs = []
    for pair in query.split("&"):
        name, eq, _ = pair.partition("=")
        kept = name if unquote(name) in names else MASK
        pairs.append(f"{kept}={MASK}" if eq else (kept if pair else ""))
    return f"{masked}?{'&'.join(pairs)}"


class MaskIdentifiers(logging.Filter):
    """Masks the request target of uvicorn's access-log records (see the module docstring).

    uvicorn's access record has args (client, method, target, http version, status); the
    target (third) is masked; so is any other string argument that looks like a path.
    """

    def __init__(self, routes: Iterable[BaseRoute]) -> None:
        super().__init__()
        routes = list(routes)
        self.words = route_words(routes)
        self.names = query_names(routes)

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                mask_target(a, self.words, self.names)
                if isinstance(a, str) and a.startswith("/")
                else a
                for a in record.args
            )
        return True


def install(app_routes: Iterable[BaseRoute], logger: str = "uvicorn.access") -> MaskIdentifiers:
    """Add the filter to `logger` (once per app); returns it."""
    target = logging.getLogger(logger)
    for existing in target.filters:
        if isinstance(existing, MaskIdentifiers):
            target.removeFilter(existing)
    masker = MaskIdentifiers(app_routes)
    target.addFilter(masker)
    return masker
