"""Infusion dates on the site's clock

`treatment_courses.infusion_date` was derived from `infusion_at` as its UTC date, so in a zone
ahead of UTC a morning infusion was dated the day before (07:00 in Beijing on 3 March is
23:00 UTC on 2 March). It is now the date on the site's clock (`NEUROCART_TIMEZONE`). No schema
change: the courses whose stored date differs from that are updated, each change an audited
update by ``migration:0015`` (`neurocart.store.repo.redate_infusions`), which needs the audit
key when there is any. The instants are untouched. Run `neurocart db redate-infusions` after
changing the site's zone later.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08 02:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from sqlalchemy.orm import Session

from neurocart.store.migrations.adopt import require_audit_key

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    from neurocart import studyday
    from neurocart.store import repo

    session = Session(bind=op.get_bind())
    try:
        pending = repo.infusions_to_redate(session)
        if not pending:
            return
        require_audit_key(
            f"revision {revision} moves the infusion date of {len(pending)} courses to the "
            f"date on the site's clock ({studyday.zone_name()}), audited"
        )
        repo.redate_infusions(session, f"migration:{revision}")
        session.flush()
    finally:
        session.close()


def downgrade() -> None:
    """The dates stay on the site's clock: they are the ones the ward writes, and the audit
    chain records the change. (An older neurocart, which checks them against the UTC date,
    refuses an edit of such a course that leaves its infusion date as it is.)"""
