"""The feeds' tables join the audit chain: the feed messages and ingest keys already stored
are recorded as they stand, so `neurocart audit verify` checks every row of them from here on

No schema change. Rows written from this version on are audited as they are written
(`neurocart.store.interop`); the rows already there get `write_batch` entries (at most
`CHUNK` rows each) signed with the configured audit key, which therefore must be set for
the upgrade of a database that holds any. What they held before this upgrade is taken as
it is: take a checkpoint right after (docs/audit.md).

It reads the rows through the models as they are at this revision; a later migration that
adds a column to either table must list it in `neurocart.store.audit.LATE_COLUMNS`.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTOR = "migration:0011"
CHUNK = 10_000
TABLES = (("feed_message", "feed_messages"), ("ingest_key", "ingest_keys"))


def upgrade() -> None:
    bind = op.get_bind()
    found = {
        entity: list(bind.scalars(sa.text(f"SELECT id FROM {table} ORDER BY id")))
        for entity, table in TABLES
    }
    if not any(found.values()):
        return
    from neurocart.store import audit
    from neurocart.store.audit_keys import AuditKeyError, current_keyring

    try:
        current_keyring()
    except AuditKeyError as exc:
        rows = sum(map(len, found.values()))
        raise AuditKeyError(
            f"revision 0011 records the {rows} feed messages and ingest keys already stored "
            f"in the audit chain, which needs the audit key: {exc}"
        ) from None
    session = Session(bind=bind)
    try:
        for entity, ids in found.items():
            for start in range(0, len(ids), CHUNK):
                chunk = ids[start : start + CHUNK]
                audit.append_states(session, actor=ACTOR, written={entity: chunk})
        session.flush()
    finally:
        session.close()


def downgrade() -> None:
    """The entries stay: the chain is append-only (an older neurocart's verify ignores
    entries of tables it does not audit)."""
