"""ingest keys (feed idempotency) and received HL7 v2 messages

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 21:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ingest_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("system", sa.String(length=128), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=32), nullable=False),
        sa.Column("root_id", sa.Integer(), nullable=False),
        sa.Column("first_message", sa.String(length=128), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_keys")),
        sa.UniqueConstraint("system", "key_hash", name="uq_ingest_keys_system_key"),
    )
    op.create_table(
        "feed_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("system", sa.String(length=128), nullable=False),
        sa.Column("control_id", sa.String(length=64), nullable=False),
        sa.Column("message_type", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("ack_code", sa.String(length=2), nullable=False),
        sa.Column("ack", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_messages")),
        sa.UniqueConstraint("system", "control_id", name="uq_feed_messages_system_control"),
    )
    with op.batch_alter_table("feed_messages", schema=None) as batch_op:
        batch_op.create_index("ix_feed_messages_status", ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("feed_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_feed_messages_status")
    op.drop_table("feed_messages")
    op.drop_table("ingest_keys")
