"""/api/v1/feeds: the review lists of the hospital feeds (admin): messages and unmapped codes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import Depends, Query
from pydantic import BaseModel

from neurocart.api.deps import ReadLog, ReadSession, require
from neurocart.api.routing import api_router
from neurocart.interop.hl7.review import unmapped_codes
from neurocart.security import Action, Resource
from neurocart.store import User
from neurocart.store.interop import list_messages

router = api_router(prefix="/api/v1/feeds", tags=["feeds"])

Admin = Annotated[User, Depends(require(Resource.FEEDS, Action.ADMIN))]


class FeedMessageOut(BaseModel):
    """One received feed message as the API lists it: who sent it, what was acknowledged, and why it
    was rejected if it was.
    """

    received_at: datetime
    sender: str
    control_id: str
    message_type: str
    status: str
    ack_code: str
    reason: str | None


class UnmappedCodeOut(BaseModel):
    """A sender's code that no code map covers, with how many messages carried it, so someone can
    add the mapping.
    """

    sender: str
    code: str
    coding_system: str
    messages: int


@router.get("/messages")
def messages(
    user: Admin,
    session: ReadSession,
    reads: ReadLog,
    status: Annotated[Literal["accepted", "refused", "rejected"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[FeedMessageOut]:
    """HL7 v2 messages received, newest first (``refused``: AE, kept for review); recorded in
    the read log (a refusal's reason may name a patient)."""
    listed = [
        FeedMessageOut(
            received_at=r.received_at,
            sender=r.system,
            control_id=r.control_id,
            message_type=r.message_type,
            status=r.status,
            ack_code=r.ack_code,
            reason=r.reason,
        )
        for r in list_messages(session, status=status, limit=limit)
    ]
    reads(user, "feeds:messages", scope={"status": status, "messages": len(listed)})
    return listed


@router.get("/unmapped-codes")
def unmapped(user: Admin, session: ReadSession) -> list[UnmappedCodeOut]:
    """Local codes that arrived without a mapping: add them to the site's code map."""
    return [
        UnmappedCodeOut(
            sender=u.sender, code=u.code, coding_system=u.coding_system, messages=u.messages
        )
        for u in unmapped_codes(session)
    ]
