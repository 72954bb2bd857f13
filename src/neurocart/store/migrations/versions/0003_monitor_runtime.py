"""the monitor leader's checkpoint and the per-patient current grades

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 22:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "monitor_checkpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("leader", sa.String(length=128), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitor_checkpoint")),
    )
    op.create_table(
        "monitor_status",
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.String(length=64), nullable=False),
        sa.Column("crs_grade", sa.Integer(), nullable=True),
        sa.Column("crs_source", sa.String(length=16), nullable=True),
        sa.Column("crs_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("crs_by", sa.String(length=64), nullable=True),
        sa.Column("icans_grade", sa.Integer(), nullable=True),
        sa.Column("icans_source", sa.String(length=16), nullable=True),
        sa.Column("icans_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("icans_by", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_monitor_status_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_monitor_status")),
    )


def downgrade() -> None:
    op.drop_table("monitor_status")
    op.drop_table("monitor_checkpoint")
