"""Alerts raised by the monitor: list, read, acknowledge, note, hand over, resolve, and a live
server-sent-events stream.

The stream's events are the engine's actions (`neurocart.monitor.AlertAction.to_dict()`) as
JSON, the SSE event name being the action kind (open, upgrade, update, escalate, close,
acknowledge). A browser's EventSource cannot send a bearer header, so the stream also accepts
the web session cookie; the permission is the same (alerts/read) either way.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, Path, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field

from neurocart.api import signing
from neurocart.api.deps import (
    ReadLog,
    ReadSession,
    SettingsDep,
    WriteSession,
    auth_now,
    bearer,
    current_user,
    get_database,
    require,
)
from neurocart.api.errors import ForbiddenError, UnauthenticatedError
from neurocart.api.pagination import PageOut, PagingDep
from neurocart.api.routing import api_router
from neurocart.api.schemas import Signed
from neurocart.runtime import Runtime
from neurocart.security import Action, Resource
from neurocart.services import alert_notes, alerts
from neurocart.services import reads as read_log
from neurocart.store import Database, User
from neurocart.store.models import Alert
from neurocart.web.auth import LoginRequired, web_user

router = api_router(prefix="/api/v1", tags=["alerts"])

Reader = Annotated[User, Depends(require(Resource.ALERTS, Action.READ))]
Writer = Annotated[User, Depends(require(Resource.ALERTS, Action.WRITE))]
Resolver = Annotated[User, Depends(require(Resource.ALERTS, Action.CORRECT))]
Discipline = Annotated[str | None, Query(min_length=1, max_length=32, pattern=r"^[a-z_]+$")]
KeyPath = Annotated[str, Path(min_length=1, max_length=160, description="e.g. NC-0001:fever:1")]

STREAM_PING_SECONDS = 15
STREAM_MAX_SECONDS = 3600.0


class AlertOut(BaseModel):
    """An alert as the API shows it: rule, episode, severity and grade, who it is routed to, its
    escalation tier, text, recommended step and source."""

    key: str
    study_id: str
    study_day: int | None
    rule_id: str
    episode: str
    severity: str
    grade: float | None
    status: str
    disciplines: list[str]
    tier: int
    title: str
    text: str
    recommended: str
    source: str
    values: dict[str, Any]
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    acknowledged_by: str | None
    acknowledged_at: datetime | None


def _out(row: Alert) -> AlertOut:
    fields = {n: getattr(row, n) for n in AlertOut.model_fields if n != "study_day"}
    return AlertOut(**fields, study_day=alerts.day_from_text(row.text))


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


class stream_reader(require):  # noqa: N801 - used like a function: Depends(stream_reader(...))
    """`require` that also accepts the web session cookie (for EventSource in the browser)."""

    def __call__(  # type: ignore[override]
        self,
        request: Request,
        settings: SettingsDep,
        database: Annotated[Database, Depends(get_database)],
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> User:
        if credentials is not None:
            user = current_user(request, settings, database, credentials)
        else:
            try:
                user = web_user(request)
            except LoginRequired:
                raise UnauthenticatedError(
                    "authorization", "a bearer token or a web session is required"
                ) from None
        return super().__call__(user)


StreamReader = Annotated[User, Depends(stream_reader(Resource.ALERTS, Action.READ))]


@router.get("/alerts")
def list_alerts(
    user: Reader,
    session: ReadSession,
    paging: PagingDep,
    reads: ReadLog,
    status: Annotated[Literal["open", "closed"] | None, Query()] = None,
    discipline: Discipline = None,
    study_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> PageOut[AlertOut]:
    """One page of alerts, newest first; filter by status, a discipline they page, or a
    patient; `next` reads on (older alerts). Recorded in the read log with the study IDs
    shown."""
    rows = alerts.list_alerts(
        session,
        status=status,
        discipline=discipline,
        study_id=study_id,
        page=paging.page((datetime, int)),
    )
    page = paging.out(rows, key=lambda r: (r.opened_at, r.id), convert=_out)
    scope = read_log.shown_scope(
        (a.study_id for a in page.items), status=status, discipline=discipline,
        study_id=study_id, alerts=len(page.items),
    )  # fmt: skip
    reads(user, "alerts", patient_id=read_log.patient_of(session, study_id), scope=scope)
    return page


class EventStream(Response):
    """The stream's media type, for the route's OpenAPI entry: the response itself is
    sse-starlette's `EventSourceResponse`, imported with the first stream (it brings uvicorn's
    command line along, about 20 ms of every start-up)."""

    media_type = "text/event-stream"


@router.get("/alerts/stream", response_class=EventStream)
async def stream_alerts(
    request: Request,
    user: StreamReader,
    discipline: Discipline = None,
    seconds: Annotated[
        float | None, Query(gt=0, le=STREAM_MAX_SECONDS, description="close after this long")
    ] = None,
) -> Response:
    """Server-sent events: every alert action (for `discipline`: those that page it)."""
    from sse_starlette import EventSourceResponse

    bus = _runtime(request).bus
    subscription = bus.subscribe(discipline)
    lifetime = seconds if seconds is not None else STREAM_MAX_SECONDS

    async def events() -> AsyncIterator[dict[str, str]]:
        loop = asyncio.get_running_loop()
        end = loop.time() + lifetime
        try:
            while (left := end - loop.time()) > 0:
                try:
                    item = await asyncio.wait_for(subscription.queue.get(), timeout=left)
                except TimeoutError:
                    return
                if item is None:  # the app is shutting down
                    return
                yield {"event": str(item["kind"]), "data": json.dumps(item)}
        finally:
            bus.unsubscribe(subscription)

    return EventSourceResponse(events(), ping=STREAM_PING_SECONDS)


@router.get("/alerts/{key}")
def get_alert(key: KeyPath, user: Reader, session: ReadSession, reads: ReadLog) -> AlertOut:
    """One alert by its key, with its current state; 404 when there is none. Recorded in the
    read log."""
    row = alerts.get_alert(session, key)
    reads(user, "alert", patient_id=row.patient_id, scope={"key": row.key})
    return _out(row)


@router.post("/alerts/{key}/acknowledge")
def acknowledge_alert(
    key: KeyPath,
    request: Request,
    user: Writer,
    session: WriteSession,
    body: Signed | None = None,
) -> AlertOut:
    """Acknowledge (audited): stops the escalation until the alert is upgraded. A critical alert
    (severity critical, or grade 3 or more) needs `signature` (password and meaning)."""
    signature = signing.given(body.signature) if body is not None else None
    try:
        row = alerts.acknowledge(
            session, user, key, _runtime(request).clock(), signature, signed_at=auth_now(request)
        )
    except alerts.NotAllowedError as exc:
        raise ForbiddenError("key", str(exc)) from None
    return _out(row)


class NoteIn(BaseModel):
    """A note on the alert, or a hand-over of it to a discipline or a person (`to`)."""

    text: str = Field(min_length=1, max_length=alert_notes.MAX_TEXT)
    kind: Literal["note", "handover"] = "note"
    to: str | None = Field(default=None, min_length=1, max_length=64)


class NoteOut(BaseModel):
    """One line of the alert's timeline besides the monitor's actions: a note, a hand-over,
    the resolution, or a notification delivery."""

    kind: str
    by: str
    at: datetime
    text: str
    to: str | None
    ok: bool


class ResolveIn(BaseModel):
    """Why the alert is dealt with (required; kept in the audit trail)."""

    reason: str = Field(min_length=1, max_length=alerts.MAX_REASON)


def _note_out(note: alert_notes.AlertNote) -> NoteOut:
    return NoteOut(kind=note.kind, by=note.by, at=note.at, text=note.text, to=note.to, ok=note.ok)


@router.get("/alerts/{key}/notes")
def list_notes(key: KeyPath, user: Reader, session: ReadSession, reads: ReadLog) -> list[NoteOut]:
    """The alert's notes, hand-overs, resolution and notification deliveries, oldest first.
    Recorded in the read log."""
    row = alerts.get_alert(session, key)
    notes = [_note_out(n) for n in alert_notes.notes_for(session, [row.id]).get(row.id, [])]
    reads(
        user, "alert:notes", patient_id=row.patient_id, scope={"key": row.key, "notes": len(notes)}
    )
    return notes


@router.post("/alerts/{key}/notes", status_code=201)
def add_note(
    key: KeyPath, body: NoteIn, request: Request, user: Writer, session: WriteSession
) -> NoteOut:
    """Write a note on the alert, or hand it over (`kind: handover`, `to`: a discipline or a
    username); audited. A hand-over does not stop the escalation: acknowledging does."""
    try:
        note = alert_notes.add_note(
            session, user, key, _runtime(request).clock(), body.text, kind=body.kind, to=body.to
        )
    except alert_notes.NoteNotAllowedError as exc:
        raise ForbiddenError("key", str(exc)) from None
    return _note_out(note)


@router.post("/alerts/{key}/resolve")
def resolve_alert(
    key: KeyPath, body: ResolveIn, request: Request, user: Resolver, session: WriteSession
) -> AlertOut:
    """Close the alert with a reason (treating clinicians; audited). A condition that still
    holds opens a new alert on its next fact."""
    try:
        row = alerts.resolve(session, user, key, _runtime(request).clock(), body.reason)
    except alerts.NotAllowedError as exc:
        raise ForbiddenError("key", str(exc)) from None
    return _out(row)
