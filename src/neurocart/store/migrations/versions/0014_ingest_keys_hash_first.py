"""ingest_keys unique on (key_hash, system) instead of (system, key_hash)

Every lookup of an already-stored key names one system and a list of hashes. With the system
first in the only index, PostgreSQL planned that lookup, on a table not analyzed since it
grew, as a scan of the system's whole key range filtered by hash (15 ms at 21,000 keys,
growing with the table, all of it inside the audit chain's lock). With the hash first, the
index is selective on its leading column whatever the statistics say.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ingest_keys") as batch:
        batch.drop_constraint("uq_ingest_keys_system_key", type_="unique")
        batch.create_unique_constraint("uq_ingest_keys_key_hash", ["key_hash", "system"])


def downgrade() -> None:
    with op.batch_alter_table("ingest_keys") as batch:
        batch.drop_constraint("uq_ingest_keys_key_hash", type_="unique")
        batch.create_unique_constraint("uq_ingest_keys_system_key", ["system", "key_hash"])
