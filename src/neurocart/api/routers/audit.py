"""The audit trail, read in chain order: who did what to which row, with the hash links.

Reading only: entries are appended by the store as records are written, and the chain is
checked by ``neurocart audit verify``. The list grows with every write, so it is paged like
every other growing list (`neurocart.api.pagination`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query
from pydantic import BaseModel

from neurocart.api.deps import ReadSession, require
from neurocart.api.pagination import PageOut, PagingDep
from neurocart.api.routing import api_router
from neurocart.security import Action, Resource
from neurocart.store import AuditEntry, User, audit, repo

router = api_router(prefix="/api/v1/audit", tags=["audit"])

Reader = Annotated[User, Depends(require(Resource.AUDIT, Action.READ))]


class AuditEntryOut(BaseModel):
    """One link of the chain: the change (row snapshots before and after) and its hashes.

    A batch entry (action ``create_batch``) covers up to thousands of rows by their ids and
    snapshot digests; its `new` here is ``{"rows": <count>, "first_id": <id>}`` so that a page
    stays small (`neurocart audit verify` checks every row against its digest)."""

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
    if row.action == audit.BATCH_ACTION and isinstance(new, list):
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
