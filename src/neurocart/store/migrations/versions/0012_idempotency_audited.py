"""The idempotency records join the audit chain: the first answers already stored are
recorded as they stand, so `neurocart audit verify` checks every one of them from here on

No schema change. Records stored or purged from this version on are audited as that happens
(`neurocart.services.idempotency`); the records already there are recorded as they stand
(`neurocart.store.migrations.adopt`), which needs the audit key.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 12:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from neurocart.store.migrations.adopt import record_existing

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (("idempotency_key", "idempotency_keys"),)


def upgrade() -> None:
    record_existing(revision, TABLES, "idempotency records")


def downgrade() -> None:
    """The entries stay: the chain is append-only (an older neurocart's verify ignores
    entries of tables it does not audit)."""
