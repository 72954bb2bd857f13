"""The read log: who viewed or exported which patient's record, for the roles that audit."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query
from pydantic import AwareDatetime

from neurocart.api.deps import ReadSession, require
from neurocart.api.routing import api_router
from neurocart.api.schemas import Response
from neurocart.security import Action, Resource
from neurocart.services import reads as read_log
from neurocart.store import User

router = api_router(prefix="/api/v1/audit", tags=["audit"])

Auditor = Annotated[User, Depends(require(Resource.AUDIT, Action.READ))]


class ReadOut(Response):
    """One recorded read: who (and in which role), when, what, and its scope."""

    id: int
    at: datetime
    actor: str
    role: str
    what: str
    study_id: str | None
    scope: dict[str, Any]


@router.get("/reads")
def list_reads(
    user: Auditor,
    session: ReadSession,
    study_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    actor: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    what: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    since: Annotated[AwareDatetime | None, Query(description="at or after")] = None,
    until: Annotated[AwareDatetime | None, Query(description="before")] = None,
    limit: Annotated[int, Query(ge=1, le=read_log.MAX_ROWS)] = 200,
) -> list[ReadOut]:
    """Recorded reads of the record, newest first: chart views, listings of a patient's
    facts, exports and report builds, filtered by patient, reader, kind and time."""
    rows = read_log.list_reads(
        session, study_id=study_id, actor=actor, what=what, since=since, until=until,
        limit=limit,
    )  # fmt: skip
    return [ReadOut.model_validate(r) for r in rows]
