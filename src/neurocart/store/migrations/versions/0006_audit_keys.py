"""Keyed audit entries (key_id) and the read log

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 01:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_id", sa.String(length=32), nullable=True))
    op.create_table(
        "read_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("what", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_read_log_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_read_log")),
    )
    with op.batch_alter_table("read_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_read_log_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_read_log_patient_id"), ["patient_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("read_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_read_log_patient_id"))
        batch_op.drop_index(batch_op.f("ix_read_log_at"))
    op.drop_table("read_log")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_column("key_id")
