"""Clinical events: relapse, infection, adverse event (CTCAE term, grade), drug given, death..."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Query, Request, status

from neurocart.api import signing
from neurocart.api.deps import (
    NowDep,
    ReadLog,
    ReadSession,
    SettingsDep,
    WriteSession,
    require,
    window_of,
)
from neurocart.api.pagination import PageOut, PagingDep
from neurocart.api.routing import api_router
from neurocart.api.schemas import EventCorrection, EventIn, EventOut, Retraction
from neurocart.api.views import RowId, StudyIdPath, fact_out, out, patient_of, study_id_of
from neurocart.security import Action, Resource
from neurocart.store import EventType, User, repo

router = api_router(prefix="/api/v1", tags=["events"])

Reader = Annotated[User, Depends(require(Resource.EVENTS, Action.READ))]
Writer = Annotated[User, Depends(require(Resource.EVENTS, Action.WRITE))]
Corrector = Annotated[User, Depends(require(Resource.EVENTS, Action.CORRECT))]


@router.post("/patients/{study_id}/events", status_code=status.HTTP_201_CREATED)
def add_event(
    study_id: StudyIdPath,
    body: EventIn,
    user: Writer,
    session: WriteSession,
    settings: SettingsDep,
    now: NowDep,
) -> EventOut:
    """Record a clinical event (drug given, oxygen support, seizure, adverse event...); monitoring
    reads it once it is committed."""
    patient = patient_of(session, study_id)
    window_of(patient, settings, now).check({"onset_at": body.onset_at, "end_at": body.end_at})
    row = repo.add_event(session, user, repo.EventIn(patient_id=patient.id, **body.model_dump()))
    return fact_out(EventOut, row, session, study_id=patient.study_id)


@router.get("/patients/{study_id}/events")
def list_events(
    study_id: StudyIdPath,
    user: Reader,
    session: ReadSession,
    paging: PagingDep,
    reads: ReadLog,
    type: Annotated[EventType | None, Query()] = None,
    history: Annotated[bool, Query(description="include superseded and retracted")] = False,
) -> PageOut[EventOut]:
    """One page of the patient's events by onset (then id), optionally of one type; `history`
    adds superseded and retracted versions; `next` reads on."""
    patient = patient_of(session, study_id)
    page = paging.page((datetime, int))
    rows = repo.list_events(session, patient.id, type=type, history=history, page=page)
    reads(user, "events", patient_id=patient.id,
          scope={"type": type.value if type else None, "history": history or None})  # fmt: skip
    return paging.out(
        rows,
        key=lambda r: (r.onset_at, r.id),
        convert=lambda r: out(EventOut, r, study_id=patient.study_id),
    )


@router.get("/events/{event_id}")
def get_event(event_id: RowId, user: Reader, session: ReadSession, reads: ReadLog) -> EventOut:
    """One event version by id."""
    row = repo.get_event(session, event_id)
    reads(user, "event", patient_id=row.patient_id, scope={"id": row.id})
    return out(EventOut, row, study_id=study_id_of(session, row.patient_id))


@router.post("/events/{event_id}/correction", status_code=status.HTTP_201_CREATED)
def correct_event(
    event_id: RowId,
    body: EventCorrection,
    request: Request,
    user: Corrector,
    session: WriteSession,
    settings: SettingsDep,
    now: NowDep,
) -> EventOut:
    """A new row with the fields given changed supersedes the event (e.g. add its end)."""
    meant = signing.meaning(user, body.signature)
    changes = body.model_dump(include=body.model_fields_set - {"reason", "signature"})
    instants: dict[str, datetime | None] = {
        k: changes[k] for k in ("onset_at", "end_at") if k in changes
    }
    if instants:
        patient = repo.get_patient(session, repo.get_event(session, event_id).patient_id)
        window_of(patient, settings, now).check(instants)
    row = repo.correct_event(session, user, event_id, reason=body.reason, **changes)
    signing.record(session, request, user, meant, action="correct", entity_type="event",
                   entity_id=row.id)  # fmt: skip
    return fact_out(EventOut, row, session)


@router.post("/events/{event_id}/retraction", status_code=status.HTTP_201_CREATED)
def retract_event(
    event_id: RowId,
    body: Retraction,
    request: Request,
    user: Corrector,
    session: WriteSession,
) -> EventOut:
    """Mark an event entered in error; it stays readable with the reason. Signed."""
    meant = signing.meaning(user, body.signature)
    row = repo.retract_event(session, user, event_id, reason=body.reason)
    signing.record(session, request, user, meant, action="retract", entity_type="event",
                   entity_id=row.id)  # fmt: skip
    return fact_out(EventOut, row, session)
