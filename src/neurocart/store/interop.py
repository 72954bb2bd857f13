"""Tables of the hospital feeds: ingest keys (idempotency) and the received HL7 v2 messages.

Clinical fact rows carry no external identifiers, so a feed that sends the same result twice
(a retried FHIR Bundle, an HL7 message resent after a lost ACK) needs somewhere to remember
what it already stored. `IngestKey` maps a *hashed* external key (SHA-256 over a site salt,
the sending system and the key: no HIS number is stored) to the first row of the fact's
correction chain (`root_id`); the current row is found by following `supersedes_id`.

`FeedMessage` keeps every HL7 v2 message received — accepted, refused or failed — with the
acknowledgement sent, so a resent message gets its original ACK and a refused one stays for
review with the reason. The stored text is pseudonymized by the receiver before it gets
here (patient identifiers replaced by the study ID, names and addresses dropped).

Both are in the audit chain like the record (`neurocart.store.audit`), written only through
`add_keys` and `keep_message`: a message rewritten or deleted behind the application's back,
or a key removed (which would let the next resend store its fact twice), is found by
`neurocart audit verify`. Keys come in batches on the ingest path, so a batch of keys costs
one `create_batch` entry (ids and digests computed from the values written, nothing read
back), as a batch of observations does; a message is one entry recording the row as written,
from the row's own values (`audit.append_rows`): `create_batch` for a new row, `write_batch`
when a resend after a refusal overwrites the refused row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from neurocart.store import audit
from neurocart.store.bulk import insert_columns, reserve_ids
from neurocart.store.models import FeedMessage as FeedMessage  # the one definition
from neurocart.store.models import IngestKey as IngestKey  # the one definition
from neurocart.store.types import utcnow

KEY_ENTITY = "ingest_key"
MESSAGE_ENTITY = "feed_message"
"""Entity types of the feeds' tables in the audit log (`neurocart.store.models.AUDITED`)."""

_KEYS = cast(Table, IngestKey.__table__)
_KEY_NAMES = ("id", "key_hash", "root_id")
_REWRITTEN = ("message_type", "status", "reason", "ack_code", "ack", "message", "received_at")
"""What a resend after a refusal overwrites in the refused message's row."""


def add_keys(
    session: Session,
    actor: str,
    *,
    system: str,
    entity_type: str,
    key_hashes: Sequence[str],
    root_ids: Sequence[int],
    first_message: str | None = None,
    now: datetime | None = None,
) -> list[int]:
    """Store the keys (`key_hashes[i]` → `root_ids[i]`, all of one `system` and
    `entity_type`) in the caller's transaction, with one audit entry for the batch; returns
    the new rows' ids. Nothing is written for no keys."""
    if len(key_hashes) != len(root_ids):
        raise ValueError("one root id per key hash")
    if not key_hashes:
        return []
    audit.lock_chain(session)  # before the ids are drawn (see `reserve_ids`)
    ids = reserve_ids(session, _KEYS, len(key_hashes))
    columns: list[Sequence[Any]] = [ids, list(key_hashes), [int(r) for r in root_ids]]
    fixed = {
        "system": system,
        "entity_type": entity_type,
        "first_message": first_message,
        "first_seen_at": now or utcnow(),
    }
    insert_columns(session, _KEYS, _KEY_NAMES, columns, fixed)
    digests = audit.snapshot_column_digests(_KEYS, _KEY_NAMES, columns, fixed)
    audit.append_batch(session, actor=actor, entity_type=KEY_ENTITY, ids=ids, digests=digests)
    return ids


def keep_message(
    session: Session, actor: str, row: FeedMessage, seen: FeedMessage | None = None
) -> FeedMessage:
    """Store a received message: `row` as a new one, or, when the sender sent this control
    id before (`seen`, a refusal: a resend after the sender or the site fixed what was
    refused is handled anew), overwrite that row with `row`'s outcome. Audited; returns
    the stored row."""
    audit.lock_chain(session)
    if seen is None:
        session.add(row)
        stored = row
    else:
        for column in _REWRITTEN:
            setattr(seen, column, getattr(row, column))
        stored = seen
    session.flush()
    audit.append_rows(
        session, actor=actor, entity_type=MESSAGE_ENTITY, rows=[stored], created=seen is None
    )
    return stored


def find_keys(session: Session, system: str, hashes: list[str]) -> dict[str, IngestKey]:
    """The stored keys of `system` among `hashes` (hash → row)."""
    found: dict[str, IngestKey] = {}
    for start in range(0, len(hashes), 500):
        chunk = hashes[start : start + 500]
        query = select(IngestKey).where(IngestKey.system == system, IngestKey.key_hash.in_(chunk))
        found.update({row.key_hash: row for row in session.scalars(query)})
    return found


def find_message(session: Session, system: str, control_id: str) -> FeedMessage | None:
    """The feed message a sender already sent with this control id, if any, so a resend is not
    stored twice.
    """
    query = select(FeedMessage).where(
        FeedMessage.system == system, FeedMessage.control_id == control_id
    )
    return session.scalar(query)


def list_messages(
    session: Session, *, status: str | None = None, limit: int | None = None
) -> list[FeedMessage]:
    """Received messages, newest first (``status="refused"`` lists those kept for review)."""
    query = select(FeedMessage)
    if status is not None:
        query = query.where(FeedMessage.status == status)
    query = query.order_by(FeedMessage.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))
