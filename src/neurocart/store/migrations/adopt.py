"""Put rows already stored in a table that has just joined the audit chain under the chain.

A table added to `neurocart.store.models.AUDITED` after it held rows (the feeds' tables in
revision 0011, the idempotency records in 0012) would fail `neurocart audit verify` on every
old row ("written without an audit entry"). The migration that brings it in records the rows
as they stand, in `write_batch` entries (at most `CHUNK` rows each) by the actor
``migration:<revision>``, signed with the configured audit key, which therefore must be set
for the upgrade of a database that holds any. What they held before is taken on trust: take a
checkpoint right after (docs/audit.md).

The rows are read through the models as they are when the migration runs (`audit.
append_states`); a later migration that adds a column to such a table must list it in
`neurocart.store.audit.LATE_COLUMNS`.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

CHUNK = 10_000


def record_existing(revision: str, tables: Sequence[tuple[str, str]], what: str) -> None:
    """Record every row of `tables` ((entity type, table name) pairs) in the chain; `what`
    names them in the error when the audit key is missing (nothing is written then)."""
    bind = op.get_bind()
    found = {
        entity: list(bind.scalars(sa.text(f"SELECT id FROM {table} ORDER BY id")))
        for entity, table in tables
    }
    if not any(found.values()):
        return
    from neurocart.store import audit

    rows = sum(map(len, found.values()))
    require_audit_key(
        f"revision {revision} records the {rows} {what} already stored in the audit chain"
    )
    session = Session(bind=bind)
    try:
        for entity, ids in found.items():
            for start in range(0, len(ids), CHUNK):
                chunk = ids[start : start + CHUNK]
                audit.append_states(session, actor=f"migration:{revision}", written={entity: chunk})
        session.flush()
    finally:
        session.close()


def require_audit_key(doing: str) -> None:
    """Raise `AuditKeyError` saying what needs the key (`doing`) when none is configured: a
    migration that writes audit entries checks first, so it fails before changing anything."""
    from neurocart.store.audit_keys import AuditKeyError, current_keyring

    try:
        current_keyring()
    except AuditKeyError as exc:
        raise AuditKeyError(f"{doing}, which needs the audit key: {exc}") from None
