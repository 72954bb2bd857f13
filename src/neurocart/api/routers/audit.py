"""The audit trail, read in chain order, and the read log: who changed what, and who viewed
or exported which patient's record.

Reading only: entries are appended by the store as records are written, and the chain is
checked by ``neurocart audit verify``. The trail grows with every write, so it is paged like
every other growing list (`neurocart.api.pagination`). Both are for the roles that audit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query
from pydantic import BaseModel

from neurocart.api.deps import ReadSession, require
from neurocart.api.pagination import PageOut, PagingDep
from neurocart.api.routing import api_router
from neurocart.api.schemas import Instant, Response
from neurocart.security import Action, Resource
from neurocart.services import reads as read_log
from neurocart.store import AuditEntry, User, audit, repo

router = api_router(prefix="/api/v1/audit", tags=["audit"])

Reader = Annotated[User, Depends(require(Resource.AUDIT, Action.READ))]


class AuditEntryOut(BaseModel):
    """One link of the chain: the change (row snapshots before and after) and its hashes.

    A batch entry (``create_batch`` for created rows, ``write_batch`` for rows rewritten or
    deleted) covers up to thousands of rows by their ids and snapshot digests; its `new` here is
    ``{"rows": <count>, "first_id": <id>}`` so that a page stays small (`neurocart audit
    verify` checks every row against its digest)."""

    seq: int
    at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: int
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    prev_hash: str
    hash: str


def _out(row: AuditEntry) -> AuditEntryOut:
    new: Any = row.new_values
    if row.action in audit.BATCH_ACTIONS and isinstance(new, list):
        new = {"rows": len(new), "first_id": row.entity_id}
    return AuditEntryOut(
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        action=row.action,
        entity_type=row.entity_type,
        entity_id=row.entity_id,
        old=row.old_values,
        new=new,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


@router.get("")
def list_audit(
    user: Reader,
    session: ReadSession,
    paging: PagingDep,
    entity_type: Annotated[
        str | None, Query(min_length=1, max_length=32, pattern=r"^[a-z_]+$")
    ] = None,
    actor: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> PageOut[AuditEntryOut]:
    """One page of audit entries, oldest first, optionally of one entity type (``observation``,
    ``patient``...) or one actor; `next` reads on."""
    rows = repo.list_audit(session, entity_type=entity_type, actor=actor, page=paging.page((int,)))
    return paging.out(rows, key=lambda e: (e.seq,), convert=_out)


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
    user: Reader,
    session: ReadSession,
    paging: PagingDep,
    study_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    actor: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    what: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    since: Annotated[Instant | None, Query(description="at or after")] = None,
    until: Annotated[Instant | None, Query(description="before")] = None,
) -> PageOut[ReadOut]:
    """One page of the recorded reads of the record, newest first: chart views, listings of
    a patient's facts and alerts, exports and report builds, filtered by patient, reader,
    kind and time; `next` reads on (older reads)."""
    rows = read_log.list_reads(
        session, study_id=study_id, actor=actor, what=what, since=since, until=until,
        page=paging.page((int,)),
    )  # fmt: skip
    return paging.out(rows, key=lambda r: (r.id,), convert=ReadOut.model_validate)
