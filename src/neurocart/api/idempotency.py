"""``Idempotency-Key`` on every POST that writes: a retry gets the first answer, not a copy.

`idempotent(endpoint, ...)` is applied by the API's route class (neurocart.api.routing) to
every POST endpoint that takes a `WriteSession`. It adds one dependency, resolved after the
route's own (so the user is authenticated and the permission checked first):

- no header: nothing changes;
- a key this user has not used (or whose record expired): the route runs, and its answer is
  stored with the key *in the route's write transaction* (neurocart.services.idempotency),
  so the rows and the answer commit together;
- the same key with the same method, path and body: the stored answer is sent again with
  ``Idempotent-Replayed: true``, and the route does not run (nothing is written);
- the same key with another request: 409 naming ``Idempotency-Key``.

POSTs that write nothing (login, calculators) accept the header and ignore it; the hospital
feeds have their own message identifiers as well.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, get_args, get_origin

from fastapi import Depends, FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.params import Depends as DependsParam
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from neurocart.api.deps import CurrentUser, SettingsDep, WriteSession, auth_now, write_session
from neurocart.services import idempotency
from neurocart.services.errors import InvalidInputError, Problem
from neurocart.store.errors import ConflictError

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
PARAMETER = "idempotency_"


class Replay(Exception):  # noqa: N818 - a response, not an error
    """The stored first answer, to be sent again (the route does not run)."""

    def __init__(self, key: str, answer: idempotency.StoredAnswer) -> None:
        self.key = key
        self.answer = answer


@dataclass
class Pending:
    """A new key: where and how to store the answer once the route has produced it."""

    session: Session
    actor: str
    user_id: int
    key: str
    digest: str
    ttl: timedelta
    request: Request

    def remember(self, result: Any, status_code: int) -> None:
        if isinstance(result, Response):
            answer = idempotency.StoredAnswer(result.status_code, bytes(result.body).decode())
        else:
            body = json.dumps(jsonable_encoder(result), separators=(",", ":"))
            answer = idempotency.StoredAnswer(status_code, body)
        idempotency.remember(
            self.session, self.actor, self.user_id, self.key, self.digest, answer, ttl=self.ttl,
            now=auth_now(self.request),
        )  # fmt: skip


async def _digest(request: Request) -> str:
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return idempotency.request_digest(request.method, path, await request.body())


def _pending(
    request: Request,
    digest: Annotated[str, Depends(_digest)],
    user: CurrentUser,
    session: WriteSession,
    settings: SettingsDep,
) -> Pending | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    problem = idempotency.key_problem(key)
    if problem is not None:
        raise InvalidInputError([Problem(HEADER, problem, key[:80])])
    try:
        found = idempotency.find(session, user.username, user.id, key, digest, auth_now(request))
    except idempotency.KeyReusedError as exc:
        raise ConflictError(f"{HEADER}: {exc}", HEADER) from None
    if found is not None:
        raise Replay(key, found)
    ttl = timedelta(hours=settings.idempotency_ttl_hours)
    return Pending(session, user.username, user.id, key, digest, ttl, request)


def _takes_write_session(signature: inspect.Signature) -> bool:
    for parameter in signature.parameters.values():
        annotation = parameter.annotation
        if get_origin(annotation) is Annotated:
            for extra in get_args(annotation)[1:]:
                if isinstance(extra, DependsParam) and extra.dependency is write_session:
                    return True
    return False


def idempotent(endpoint: Callable[..., Any], methods: Any, status_code: int | None) -> Any:
    """`endpoint` answering ``Idempotency-Key`` when it is a POST that writes, else itself."""
    if "POST" not in {m.upper() for m in methods or ()}:
        return endpoint
    signature = inspect.signature(endpoint, eval_str=True)
    if not _takes_write_session(signature) or PARAMETER in signature.parameters:
        return endpoint
    status = status_code or 200
    extra = inspect.Parameter(
        PARAMETER, inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[Pending | None,
        Depends(_pending)],
    )  # fmt: skip

    if inspect.iscoroutinefunction(endpoint):

        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            pending: Pending | None = kwargs.pop(PARAMETER)
            result = await endpoint(*args, **kwargs)
            if pending is not None:
                pending.remember(result, status)
            return result

    else:

        def wrapper(*args: Any, **kwargs: Any) -> Any:  # type: ignore[misc]
            pending: Pending | None = kwargs.pop(PARAMETER)
            result = endpoint(*args, **kwargs)
            if pending is not None:
                pending.remember(result, status)
            return result

    functools.update_wrapper(wrapper, endpoint, updated=())
    del wrapper.__wrapped__  # type: ignore[attr-defined]  # FastAPI must read our signature
    wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*signature.parameters.values(), extra]
    )
    return wrapper


async def _replay(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, Replay)
    headers = {REPLAYED: "true", HEADER: exc.key}
    if exc.answer.status_code == 204 or exc.answer.body in ("", "null"):
        return Response(status_code=exc.answer.status_code, headers=headers)
    return JSONResponse(
        json.loads(exc.answer.body), status_code=exc.answer.status_code, headers=headers
    )


def install(app: FastAPI) -> None:
    """Register the replay of stored answers on `app`."""
    app.add_exception_handler(Replay, _replay)
