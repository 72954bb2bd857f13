"""The feeds' tables join the audit chain: the feed messages and ingest keys already stored
are recorded as they stand, so `neurocart audit verify` checks every row of them from here on

No schema change. Rows written from this version on are audited as they are written
(`neurocart.store.interop`); the rows already there are recorded as they stand
(`neurocart.store.migrations.adopt`), which needs the audit key.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from neurocart.store.migrations.adopt import record_existing

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (("feed_message", "feed_messages"), ("ingest_key", "ingest_keys"))


def upgrade() -> None:
    record_existing(revision, TABLES, "feed messages and ingest keys")


def downgrade() -> None:
    """The entries stay: the chain is append-only (an older neurocart's verify ignores
    entries of tables it does not audit)."""
