"""MRI scan records and nerve-conduction study records

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 21:25:35.685928
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mri_scans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("scan_date", sa.Date(), nullable=False),
        sa.Column("comparator_date", sa.Date(), nullable=True),
        sa.Column(
            "region",
            sa.Enum(
                "brain",
                "spinal_cord",
                "optic_nerve",
                name="mri_region",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("field_strength_t", sa.Double(), nullable=True),
        sa.Column("sequence_3d_flair", sa.Boolean(), nullable=True),
        sa.Column("contrast_given", sa.Boolean(), nullable=False),
        sa.Column("new_t2_lesions", sa.Integer(), nullable=True),
        sa.Column("enlarging_t2_lesions", sa.Integer(), nullable=True),
        sa.Column("gd_enhancing_lesions", sa.Integer(), nullable=True),
        sa.Column("t2_lesion_volume_ml", sa.Double(), nullable=True),
        sa.Column("brain_volume_ml", sa.Double(), nullable=True),
        sa.Column("pbvc_percent", sa.Double(), nullable=True),
        sa.Column("software", sa.String(length=64), nullable=True),
        sa.Column("reader", sa.String(length=64), nullable=True),
        sa.Column("entered_by", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.Column("correction_reason", sa.Text(), nullable=True),
        sa.Column("entered_in_error", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entered_by"], ["users.id"], name=op.f("fk_mri_scans_entered_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_mri_scans_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"], ["mri_scans.id"], name=op.f("fk_mri_scans_supersedes_id_mri_scans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mri_scans")),
        sa.UniqueConstraint("supersedes_id", name=op.f("uq_mri_scans_supersedes_id")),
    )
    with op.batch_alter_table("mri_scans", schema=None) as batch_op:
        batch_op.create_index(
            "ix_mri_scans_patient_date", ["patient_id", "scan_date"], unique=False
        )

    op.create_table(
        "ncs_studies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("study_date", sa.Date(), nullable=False),
        sa.Column("lab", sa.String(length=64), nullable=True),
        sa.Column("nerves", sa.JSON(), nullable=False),
        sa.Column("sensory_nerves", sa.JSON(), nullable=False),
        sa.Column("entered_by", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.Column("correction_reason", sa.Text(), nullable=True),
        sa.Column("entered_in_error", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entered_by"], ["users.id"], name=op.f("fk_ncs_studies_entered_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_ncs_studies_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"],
            ["ncs_studies.id"],
            name=op.f("fk_ncs_studies_supersedes_id_ncs_studies"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ncs_studies")),
        sa.UniqueConstraint("supersedes_id", name=op.f("uq_ncs_studies_supersedes_id")),
    )
    with op.batch_alter_table("ncs_studies", schema=None) as batch_op:
        batch_op.create_index("ix_ncs_patient_date", ["patient_id", "study_date"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ncs_studies", schema=None) as batch_op:
        batch_op.drop_index("ix_ncs_patient_date")

    op.drop_table("ncs_studies")
    with op.batch_alter_table("mri_scans", schema=None) as batch_op:
        batch_op.drop_index("ix_mri_scans_patient_date")

    op.drop_table("mri_scans")
