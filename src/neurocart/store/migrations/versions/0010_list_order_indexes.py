"""Indexes in the order the paged lists read (a patient's facts by time then id, alerts by
opening time then id) and for a patient's CSF observations (a schedule attribute)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 01:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_observations_patient_time", "observations", ["patient_id", "effective_at", "id"]),
    ("ix_observations_patient_specimen", "observations", ["patient_id", "specimen"]),
    ("ix_assessments_patient_time", "assessments", ["patient_id", "effective_at", "id"]),
    ("ix_clinical_events_patient_onset", "clinical_events", ["patient_id", "onset_at", "id"]),
    ("ix_alerts_opened", "alerts", ["opened_at", "id"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
