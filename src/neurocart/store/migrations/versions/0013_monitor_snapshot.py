"""the monitor engine's snapshots, so a new leader replays only the journal after one

A cache of what the journal rebuilds (`neurocart.services.snapshots`): not audited, each row
signed with the audit key instead; a database without rows replays the whole journal, as
before.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "monitor_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("chain_hash", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitor_snapshot")),
    )
    op.create_index(op.f("ix_monitor_snapshot_seq"), "monitor_snapshot", ["seq"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_monitor_snapshot_seq"), table_name="monitor_snapshot")
    op.drop_table("monitor_snapshot")
