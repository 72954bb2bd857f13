"""Reibergram regions numbered as Reiber & Peter 2001

neurocart numbered the IgG Reibergram's regions 3 (intrathecal synthesis without barrier
dysfunction) and 4 (with it) the other way round from the publication (Reiber H, Peter JB.
J Neurol Sci 2001;184:101–22, Fig 1: 3 is barrier dysfunction with intrathecal synthesis, 4
intrathecal synthesis alone). No schema change: every current derived region stored as 3 or 4
is corrected to the published number (`neurocart.services.csf_indices.
renumber_reibergram_regions`), the old row kept as superseded, each correction audited by
``migration:0016`` with its reason, which needs the audit key when there is any. Regions a
laboratory sent are in its own numbering and stay as they are.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08 03:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

from neurocart.store.migrations.adopt import require_audit_key

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    stored = bind.scalar(
        sa.text(
            "SELECT count(*) FROM observations o WHERE o.code = 'local:reibergram_igg' "
            "AND o.source LIKE 'derived:csf%' AND o.value IN (3, 4) AND NOT o.entered_in_error "
            "AND NOT EXISTS (SELECT 1 FROM observations s WHERE s.supersedes_id = o.id)"
        )
    )
    if not stored:
        return
    require_audit_key(f"revision {revision} renumbers the derived Reibergram regions")
    from neurocart.services.csf_indices import renumber_reibergram_regions

    session = Session(bind=bind)
    try:
        renumber_reibergram_regions(session, f"migration:{revision}")
        session.flush()
    finally:
        session.close()


def downgrade() -> None:
    """The corrections stay: the old rows are kept, superseded, in the record and the audit."""
