"""Idempotent writes: the first answer to a request sent with an idempotency key, kept.

A client that loses the connection after sending a write cannot know whether it was stored.
It retries with the same ``Idempotency-Key``; `find` in the retry's transaction then returns
the first answer (nothing is written again) — or a `KeyReusedError` when the key came with
another request. `remember` stores the answer in the *same transaction as the write*, so
either both the rows and the answer are committed or neither is: a retry after a connection
killed at any moment never stores the rows twice.

Keys are per user (two users' keys never collide) and kept `Settings.idempotency_ttl_hours`;
expired ones are purged by the next write that brings a key.

The records are in the audit chain (entity type ``idempotency_key``): a stored answer is one
`create_batch` entry of its new row, a purge one `write_batch` entry recording the purged rows
as deleted. A
record removed behind the application's back would let the retry store its facts again,
and an edited answer would tell the client something else than what was stored; both are
found by `neurocart audit verify`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from neurocart.services.errors import ServiceError
from neurocart.store import audit
from neurocart.store.accounts import IdempotencyRecord

ENTITY = "idempotency_key"
"""The records' entity type in the audit log (`neurocart.store.models.AUDITED`)."""

MAX_KEY_LENGTH = 255


class KeyReusedError(ServiceError):
    """The key was used before by this user for a different request (method, path or body)."""


@dataclass(frozen=True)
class StoredAnswer:
    """The first answer: its status code and JSON body text."""

    status_code: int
    body: str


def request_digest(method: str, path: str, body: bytes) -> str:
    """SHA-256 over the method, the path (with its query) and the body bytes."""
    h = hashlib.sha256()
    for part in (method.upper().encode(), path.encode("utf-8"), body):
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


def key_problem(key: str) -> str | None:
    """Why `key` cannot be an idempotency key, or None (1–255 visible ASCII characters)."""
    if not key or len(key) > MAX_KEY_LENGTH:
        return f"must be 1 to {MAX_KEY_LENGTH} characters"
    if not all(33 <= ord(c) < 127 for c in key):
        return "must be visible ASCII characters (a UUID, for example)"
    return None


def find(
    session: Session,
    actor: str,
    user_id: int,
    key: str,
    digest: str,
    now: datetime | None = None,
) -> StoredAnswer | None:
    """The answer stored for this user's key, None when the key is new (or expired).

    Takes the write lock first, so two retries racing on two server processes are serialized
    and the second sees the first's answer; purges the expired records (audited, by `actor`).
    Raises KeyReusedError for another request."""
    now = now or datetime.now(UTC)
    audit.lock_chain(session)
    expired = IdempotencyRecord.expires_at <= now
    purged = list(session.scalars(select(IdempotencyRecord.id).where(expired)))
    if purged:  # under the chain lock: no other writer adds or removes one in between
        session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id.in_(purged)))
        audit.append_states(session, actor=actor, written={ENTITY: purged})
    row = session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key
        )
    )
    if row is None:
        return None
    if row.request_hash != digest:
        raise KeyReusedError(
            "was already used with another request (method, path or body); use a new key"
        )
    return StoredAnswer(row.status_code, row.response)


def remember(
    session: Session,
    actor: str,
    user_id: int,
    key: str,
    digest: str,
    answer: StoredAnswer,
    *,
    ttl: timedelta,
    now: datetime | None = None,
) -> None:
    """Store the answer in the caller's (the write's) transaction, with its audit entry."""
    now = now or datetime.now(UTC)
    row = IdempotencyRecord(
        user_id=user_id,
        key=key,
        request_hash=digest,
        status_code=answer.status_code,
        response=answer.body,
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(row)
    session.flush()
    audit.append_rows(session, actor=actor, entity_type=ENTITY, rows=[row], created=True)
