"""Structured study records (MRI scans, nerve-conduction studies): append-only and audited.

The same rules as for the other clinical facts: a row is never updated — a correction is a new
row whose `supersedes_id` names the old one, with a reason; a retraction is such a row marked
`entered_in_error`; every write appends an audit entry (who, when, old → new) to the chain.
Validation of the content (what a comparator means, which nerve fields exist) is the
services' job; this module checks only what the store must (the patient exists, a reason is
given, a row is corrected once).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased

from neurocart.store import audit
from neurocart.store.errors import (
    ALREADY_CORRECTED,
    NEEDS_REASON,
    ConflictError,
    InvalidRecordError,
    NotFoundError,
)
from neurocart.store.models import ENTITY_TYPE, MriScan, NerveConductionStudy, Patient, User
from neurocart.store.types import utcnow

Record = TypeVar("Record", MriScan, NerveConductionStudy)

_FIXED = {"id", "supersedes_id", "correction_reason", "recorded_at", "entered_by",
          "entered_in_error"}  # fmt: skip


def _require_patient(session: Session, patient_id: int) -> None:
    if session.scalar(select(Patient.id).where(Patient.id == patient_id)) is None:
        raise NotFoundError("patient", patient_id, "patient_id")


def add(session: Session, actor: User, model: type[Record], values: Mapping[str, Any]) -> Record:
    """Store a new record (the caller validated `values`); audited as "create"."""
    audit.lock_chain(session)
    _require_patient(session, int(values["patient_id"]))
    row = model(**values, entered_by=actor.id, recorded_at=utcnow(), entered_in_error=False)
    session.add(row)
    session.flush()
    audit.append(
        session,
        actor=actor.username,
        action="create",
        entity_type=ENTITY_TYPE[model],
        entity_id=row.id,
        old=None,
        new=audit.snapshot(row),
    )
    return row


def get(session: Session, model: type[Record], row_id: int) -> Record:
    """Load a record row by id, fresh from the database; NotFoundError when there is none."""
    row = session.get(model, row_id, populate_existing=True)
    if row is None:
        raise NotFoundError(ENTITY_TYPE[model], row_id, "id")
    return row


def values_of(row: MriScan | NerveConductionStudy) -> dict[str, Any]:
    """The content columns of a record (without id, patient, provenance)."""
    return {
        c.key: getattr(row, c.key)
        for c in type(row).__table__.columns
        if c.key not in _FIXED and c.key != "patient_id"
    }


def supersede(
    session: Session,
    actor: User,
    model: type[Record],
    row_id: int,
    *,
    reason: str,
    changes: Mapping[str, Any],
    retract: bool = False,
) -> Record:
    """A new row with `changes` that supersedes `row_id` (or retracts it); the old row stays."""
    audit.lock_chain(session)
    if not reason or not reason.strip():
        raise InvalidRecordError("reason", NEEDS_REASON, reason)
    old = get(session, model, row_id)
    successor = session.scalar(select(model.id).where(model.supersedes_id == row_id))
    if successor is not None:
        entity = ENTITY_TYPE[model]
        raise ConflictError(
            ALREADY_CORRECTED.format(entity=entity, row_id=row_id, successor=successor),
            "id",
        )
    values = {"patient_id": old.patient_id, **values_of(old), **changes}
    new = model(
        **values,
        supersedes_id=row_id,
        correction_reason=reason.strip(),
        recorded_at=utcnow(),
        entered_by=actor.id,
        entered_in_error=retract,
    )
    session.add(new)
    session.flush()
    audit.append(
        session,
        actor=actor.username,
        action="retract" if retract else "correct",
        entity_type=ENTITY_TYPE[model],
        entity_id=new.id,
        old=audit.snapshot(old),
        new=audit.snapshot(new),
    )
    return new


def current_rows(
    session: Session, model: type[Record], patient_id: int, *, history: bool = False
) -> list[Record]:
    """A patient's records by date (current versions only unless `history`)."""
    by = model.scan_date if model is MriScan else model.study_date  # type: ignore[attr-defined]
    query = select(model).where(model.patient_id == patient_id)
    if not history:
        successor = aliased(model)
        query = query.where(
            ~exists().where(successor.supersedes_id == model.id),
            model.entered_in_error.is_(False),
        )
    return list(session.scalars(query.order_by(by, model.id)))


def on_date(session: Session, model: type[Record], patient_id: int, day: date) -> list[Record]:
    """The current records of a patient on one date (MRI: the comparator lookup)."""
    return [r for r in current_rows(session, model, patient_id) if _date(r) == day]


def _date(row: MriScan | NerveConductionStudy) -> date:
    return row.scan_date if isinstance(row, MriScan) else row.study_date
