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
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from neurocart.store.models import Base
from neurocart.store.types import UTCDateTime


class IngestKey(Base):
    """One external key already stored: (system, hashed key) → the fact's chain root."""

    __tablename__ = "ingest_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system: Mapped[str] = mapped_column(String(128))
    key_hash: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(32))
    root_id: Mapped[int] = mapped_column(Integer)
    first_message: Mapped[str | None] = mapped_column(String(128))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("system", "key_hash", name="uq_ingest_keys_system_key"),)


class FeedMessage(Base):
    """One HL7 v2 message as received, with the ACK answered and what became of it."""

    __tablename__ = "feed_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system: Mapped[str] = mapped_column(String(128))
    """``hl7:<MSH-4>:<MSH-3>``."""
    control_id: Mapped[str] = mapped_column(String(64))
    """MSH-10."""
    message_type: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    """``accepted`` (AA), ``refused`` (AE), ``rejected`` (AR)."""
    reason: Mapped[str | None] = mapped_column(Text)
    ack_code: Mapped[str] = mapped_column(String(2))
    ack: Mapped[str] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("system", "control_id", name="uq_feed_messages_system_control"),
        Index("ix_feed_messages_status", "status"),
    )


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
