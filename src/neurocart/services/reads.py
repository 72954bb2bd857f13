"""The read log: who viewed or exported which part of the record, when, and in what scope.

Every face that shows or hands out a patient's facts calls `log_read` once per request
(a chart view, a listing of observations, an export, a report build), never once per row,
so reading stays as cheap as before: one short INSERT. A read of one patient records the
patient; a cohort read (an export, a report, a listing over many patients) records its
filters in `scope`.

The log is not part of the audit hash chain (see `neurocart.store.models.ReadLogEntry`):
the chain is also the monitor's journal, serialized by one lock, and a page view must not
queue behind the writers. Each row is signed on its own instead (HMAC-SHA256 with the audit
key), so `check` finds an edited row; a removed row is not found (docs/audit.md).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from neurocart.store import Database, User
from neurocart.store.audit import canonical
from neurocart.store.audit_keys import Keyring, current_keyring
from neurocart.store.models import Patient, ReadLogEntry
from neurocart.store.pages import Page, keyset
from neurocart.store.types import utcnow

MAX_ROWS = 1000


def _mac(secret: bytes, at: datetime, actor: str, role: str, what: str,
         patient_id: int | None, scope: Mapping[str, Any], key_id: str) -> str:  # fmt: skip
    fields = [at.isoformat(), actor, role, what, patient_id, dict(scope), key_id]
    return hmac.digest(secret, canonical(fields).encode(), "sha256").hex()


def _json_scope(scope: Mapping[str, Any] | None) -> dict[str, Any]:
    """The filters as JSON values (times as ISO text), dropping the unset ones."""
    out: dict[str, Any] = {}
    for key, value in (scope or {}).items():
        if value is None or value == [] or value == ():
            continue
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, list | tuple | set | frozenset):
            value = sorted(str(v) for v in value)
        elif not isinstance(value, str | int | float | bool):
            value = str(value)
        out[str(key)] = value
    return out


def log_read(
    database: Database,
    user: User | None,
    what: str,
    *,
    patient_id: int | None = None,
    scope: Mapping[str, Any] | None = None,
    actor: str | None = None,
) -> None:
    """Record one read (its own short transaction, committed at once). `actor` names a
    reader that is not a user account (e.g. ``cli:<os user>`` for an export)."""
    keyring = current_keyring()
    name = actor or (user.username if user is not None else "unknown")
    role = user.role.value if user is not None else "cli"
    values = _json_scope(scope)
    at = utcnow()
    mac = _mac(keyring.secret, at, name, role, what, patient_id, values, keyring.current)
    with database.transaction() as session:
        session.add(
            ReadLogEntry(
                at=at, actor=name, role=role, what=what, patient_id=patient_id,
                scope=values, key_id=keyring.current, mac=mac,
            )
        )  # fmt: skip


@dataclass(frozen=True)
class ReadView:
    """One read as the API and the CLI show it."""

    id: int
    at: datetime
    actor: str
    role: str
    what: str
    study_id: str | None
    scope: dict[str, Any]


def list_reads(
    session: Session,
    *,
    study_id: str | None = None,
    actor: str | None = None,
    what: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 200,
    page: Page | None = None,
) -> list[ReadView]:
    """Reads matching the filters, newest first (by id: the order they were recorded in).

    `page` reads one keyset page (the rows after its key, the id of the last row seen, at
    most its limit); without one, the newest `limit`. Either is capped at MAX_ROWS (plus the
    one row a page reads ahead)."""
    page = page or Page(limit=limit)
    cap = max(1, min(page.limit or MAX_ROWS, MAX_ROWS + 1))
    query = select(ReadLogEntry, Patient.study_id).outerjoin(
        Patient, Patient.id == ReadLogEntry.patient_id
    )
    if study_id is not None:
        query = query.where(Patient.study_id == study_id)
    if actor is not None:
        query = query.where(ReadLogEntry.actor == actor)
    if what is not None:
        query = query.where(ReadLogEntry.what == what)
    if since is not None:
        query = query.where(ReadLogEntry.at >= since)
    if until is not None:
        query = query.where(ReadLogEntry.at < until)
    query = keyset(query, [ReadLogEntry.id], after=page.after, limit=cap, descending=True)
    return [
        ReadView(r.id, r.at, r.actor, r.role, r.what, sid, dict(r.scope))
        for r, sid in session.execute(query)
    ]


def check(session: Session, keyring: Keyring | None = None) -> list[int]:
    """Ids of read-log rows whose signature does not match (edited behind the application's
    back, or signed with a key not in the keyring)."""
    keyring = keyring or current_keyring()
    bad: list[int] = []
    for row in session.scalars(select(ReadLogEntry).execution_options(yield_per=5000)):
        secret = keyring.get(row.key_id)
        fields = (row.at, row.actor, row.role, row.what, row.patient_id, row.scope, row.key_id)
        if secret is None or not hmac.compare_digest(_mac(secret, *fields), row.mac):
            bad.append(row.id)
    return bad


def patient_of(session: Session, study_id: str | None) -> int | None:
    """The id of the patient a read was filtered to (None: no such filter, or no such
    patient), so the read is found by that patient."""
    if study_id is None:
        return None
    return session.scalar(select(Patient.id).where(Patient.study_id == study_id))


def shown_scope(study_ids: Iterable[str | None], **filters: Any) -> dict[str, Any]:
    """The scope of a listing over many patients (alerts): its filters and the distinct
    study IDs on the rows shown, so a reader of a patient's rows in a cohort listing can be
    found too."""
    return {**filters, "study_ids": sorted({s for s in study_ids if s})}


def patient_scope(study_ids: Sequence[str] | None) -> dict[str, Any]:
    """A cohort scope naming the study IDs asked for (or all, when none)."""
    return {"study_ids": list(study_ids)} if study_ids else {"patients": "all"}
