"""What every part of the repository shares: constants, the input records, the audited
create/update and correct helpers, the current-row filters and the audit trail reads."""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, bindparam, exists, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from neurocart.store import audit
from neurocart.store.errors import (
    ALREADY_CORRECTED,
    FINITE,
    NEEDS_REASON,
    NEEDS_ZONE,
    ONE_OF,
    ConflictError,
    InvalidRecordError,
    NotFoundError,
)
from neurocart.store.models import (
    ENTITY_TYPE,
    Assessment,
    AuditEntry,
    Base,
    ClinicalEvent,
    Diagnosis,
    EventType,
    Observation,
    Patient,
    Sex,
    Specimen,
    User,
)
from neurocart.store.pages import Key, Page, keyset
from neurocart.store.types import utcnow

LOINC = "http://loinc.org"
LOCAL = "urn:neurocart:local"
SYSTEM_ACTOR = "system"


class Keep(enum.Enum):
    """Sentinel type for "leave this field as it is" in update and correct functions."""

    KEEP = "keep"


KEEP = Keep.KEEP

Fact = Observation | Assessment | ClinicalEvent
F = TypeVar("F", Observation, Assessment, ClinicalEvent)
R = TypeVar("R", bound=Base)


@dataclass(frozen=True, slots=True)
class PatientIn:
    """A patient to create, as plain values: the store's input contract, independent of the API's
    pydantic models."""

    study_id: str
    site: str
    sex: Sex | str
    diagnosis: Diagnosis | str
    birth_year: int | None = None
    subtype: str | None = None
    diagnosis_date: date | None = None
    prior_therapies: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class CourseIn:
    """A treatment course to create for `patient_id`; the protocol anchors (LD start, infusion) are
    checked for order before anything is written."""

    patient_id: int
    product: str
    target: str | None = None
    dose_cells_per_kg: float | None = None
    lymphodepletion: str | None = None
    enrolment_date: date | None = None
    apheresis_date: date | None = None
    ld_start_date: date | None = None
    infusion_date: date | None = None
    protocol_id: str | None = None
    infusion_at: datetime | None = None
    """The infusion instant, when known; `infusion_date` may then be omitted (it is derived)."""


@dataclass(frozen=True, slots=True)
class ObservationIn:
    """One observation, already converted to its canonical SI unit."""

    patient_id: int
    code: str
    value: float
    unit: str
    effective_at: datetime
    code_system: str = LOINC
    specimen: Specimen | str = Specimen.BLOOD
    source: str = "manual"
    note: str | None = None


@dataclass(frozen=True, slots=True)
class AssessmentIn:
    """An instrument's item inputs; the result is computed by its calculator, never given."""

    patient_id: int
    instrument: str
    inputs: Mapping[str, Any]
    effective_at: datetime


@dataclass(frozen=True, slots=True)
class EventIn:
    """A clinical event to record for `patient_id`, checked (type, times, grade) before anything is
    written."""

    patient_id: int
    type: EventType | str
    onset_at: datetime
    end_at: datetime | None = None
    ctcae_term: str | None = None
    grade: int | None = None
    drug: str | None = None
    dose: float | None = None
    dose_unit: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


def _actor_name(actor: User | str | None) -> str:
    """The name the audit records: the user's, a process's own (``migration:0015``) or
    `SYSTEM_ACTOR`."""
    if actor is None:
        return SYSTEM_ACTOR
    return actor if isinstance(actor, str) else actor.username


def _actor_id(actor: User | None) -> int | None:
    return None if actor is None else actor.id


def _changes(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not KEEP}


def _load(session: Session, model: type[R], row_id: int) -> R:
    """The row, freshly read (never a stale copy from an earlier transaction)."""
    row = session.get(model, row_id, populate_existing=True)
    if row is None:
        raise NotFoundError(ENTITY_TYPE[model], row_id, "id")
    return row


def _created(session: Session, actor: User | None, row: R) -> R:
    session.add(row)
    session.flush()
    audit.append(
        session,
        actor=_actor_name(actor),
        action="create",
        entity_type=ENTITY_TYPE[type(row)],
        entity_id=row.id,  # type: ignore[attr-defined]
        old=None,
        new=audit.snapshot(row),
    )
    return row


def _updated(session: Session, actor: User | str | None, row: R, changes: Mapping[str, Any]) -> R:
    old = audit.snapshot(row)
    for name, value in changes.items():
        setattr(row, name, value)
    session.flush()
    new = audit.snapshot(row)
    if new != old:
        audit.append(
            session,
            actor=_actor_name(actor),
            action="update",
            entity_type=ENTITY_TYPE[type(row)],
            entity_id=row.id,  # type: ignore[attr-defined]
            old=old,
            new=new,
        )
    return row


def _require_patients(session: Session, ids: Iterable[int], field_name: str) -> None:
    wanted = set(ids)
    if session.autoflush:
        session.flush()
    connection = session.connection()
    if len(wanted) == 1:  # the common case (one patient's batch): a plain, cached statement
        (only,) = wanted
        found = {only} if connection.scalar(_PATIENT_IS, {"id": only}) is not None else set()
    else:
        found = set(connection.scalars(_PATIENTS_IN, {"ids": list(wanted)}))
    if missing := sorted(wanted - found):
        raise NotFoundError("patient", missing[0], field_name)


_PATIENTS_IN = select(Patient.id).where(Patient.id.in_(bindparam("ids", expanding=True)))
_PATIENT_IS = select(Patient.id).where(Patient.id == bindparam("id"))


def _aware(name: str, value: datetime | None) -> None:
    if value is None or value.tzinfo is UTC:  # fast path: already UTC (ingest normalizes)
        return
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidRecordError(name, NEEDS_ZONE, value)


def _finite(name: str, value: float | None) -> None:
    if value is not None and (isinstance(value, bool) or not math.isfinite(value)):
        raise InvalidRecordError(name, FINITE, value)


def _choice(name: str, kind: type[enum.StrEnum], value: Any) -> Any:
    if type(value) is kind:
        return value
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise InvalidRecordError(name, ONE_OF.format(choices=allowed), value) from None


def _current(model: type[F]) -> ColumnElement[bool]:
    """Rows nobody has superseded and that are not retracted."""
    successor = aliased(model)
    return ~exists().where(successor.supersedes_id == model.id) & model.entered_in_error.is_(False)


def id_chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    """Sorted distinct ids in slices small enough for an ``IN (...)`` on every backend (for
    services' reads of many rows by id)."""
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), _ID_CHUNK):
        yield ordered[start : start + _ID_CHUNK]


_ID_CHUNK = 900


def ids_in(column: Any, ids: Iterable[int]) -> Iterator[ColumnElement[bool]]:
    """WHERE clauses that together select exactly the rows whose `column` is in `ids`: each
    run of consecutive ids as one ``BETWEEN``, the ids left alone in an ``IN``.

    A batch's rows have consecutive ids (they are reserved together), so the monitor's read
    of what a few batches committed is a handful of ranges rather than an ``IN`` with one
    bound parameter per row, which the driver parses and the server plans anew each time
    (a third of the leader's time per step, measured on PostgreSQL).
    """
    ordered = sorted(set(ids))
    runs: list[tuple[int, int]] = []
    for i in ordered:
        if runs and i == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    ranges = [(lo, hi) for lo, hi in runs if hi > lo]
    singles = [lo for lo, hi in runs if hi == lo]
    for start in range(0, len(ranges), _RANGES):
        yield or_(*(column.between(lo, hi) for lo, hi in ranges[start : start + _RANGES]))
    for start in range(0, len(singles), _ID_CHUNK):
        yield column.in_(singles[start : start + _ID_CHUNK])


_RANGES = 50


@cache
def current(model: type[F]) -> ColumnElement[bool]:
    """A WHERE clause keeping the current versions of a clinical fact (for services' reads).

    Built once per model (statements are immutable): building it costs more than a query."""
    return _current(model)


def _correct(
    session: Session,
    actor: User,
    model: type[F],
    row_id: int,
    reason: str,
    changes: Mapping[str, Any],
    *,
    action: str = "correct",
) -> F:
    """Append a row that supersedes `row_id` with `changes` applied; the old row stays."""
    audit.lock_chain(session)
    if not reason or not reason.strip():
        raise InvalidRecordError("reason", NEEDS_REASON, reason)
    old = _load(session, model, row_id)
    successor = session.scalar(select(model.id).where(model.supersedes_id == row_id))
    if successor is not None:
        entity = ENTITY_TYPE[model]
        raise ConflictError(
            ALREADY_CORRECTED.format(entity=entity, row_id=row_id, successor=successor),
            "id",
        )
    fixed = {"id", "supersedes_id", "correction_reason", "recorded_at", "entered_by"}
    values = {c.key: getattr(old, c.key) for c in model.__table__.columns if c.key not in fixed}
    values.update(changes)
    values["entered_in_error"] = action == "retract"
    new = model(
        **values,
        supersedes_id=row_id,
        correction_reason=reason.strip(),
        recorded_at=utcnow(),
        entered_by=actor.id,
    )
    session.add(new)
    session.flush()
    audit.append(
        session,
        actor=actor.username,
        action=action,
        entity_type=ENTITY_TYPE[model],
        entity_id=new.id,
        old=audit.snapshot(old),
        new=audit.snapshot(new),
    )
    return new


def _facts(
    session: Session,
    model: type[F],
    patient_id: int,
    where: Sequence[ColumnElement[bool]],
    by: InstrumentedAttribute[Any],
    history: bool,
    page: Page | None = None,
) -> list[F]:
    """A patient's rows of `model` matching `where`, ordered by `by` then id (current only
    unless `history`), the whole list or one keyset `page` of it: the one shape of every
    list_* of clinical facts."""
    query = select(model).where(model.patient_id == patient_id, *where)
    if not history:
        query = query.where(current(model))
    return _rows(session, query, (by, model.id), page)


def _rows(
    session: Session,
    query: Select[R],
    keys: Sequence[Key],
    page: Page | None,
    *,
    descending: bool = False,
) -> list[R]:
    """The rows of `query` in the order of `keys` (the last one unique), one `page` of them
    when given."""
    page = page or Page()
    query = keyset(query, keys, after=page.after, limit=page.limit, descending=descending)
    return list(session.scalars(query))


def history(session: Session, model: type[F], row_id: int) -> list[F]:
    """Every version of a clinical fact, oldest first (the given row may be any of them)."""
    first = _load(session, model, row_id)
    while first.supersedes_id is not None:
        first = _load(session, model, first.supersedes_id)
    versions = [first]
    while nxt := session.scalar(select(model).where(model.supersedes_id == versions[-1].id)):
        versions.append(nxt)
    return versions


def versions(session: Session, model: type[F], rows: Sequence[F]) -> dict[int, tuple[int, int]]:
    """Row id → (the first row of its correction chain, its version: 1 for that first row)
    for each of `rows` (one patient's, e.g. a page of current rows).

    What an export names a fact by (the first row's id stays the same across corrections)
    without reading the patient's whole history: the chains are walked back one step per
    query for all the rows at once, so a page costs as many queries as its longest chain
    has corrections (usually none). A predecessor of another patient ends the walk, as if
    the chain began there."""
    out: dict[int, tuple[int, int]] = {}
    walking: dict[int, tuple[int, int, int]] = {}  # row id → (earliest found, its predecessor, n)
    for row in rows:
        if row.supersedes_id is None:
            out[row.id] = (row.id, 1)
        else:
            walking[row.id] = (row.id, row.supersedes_id, 1)
    patients = {row.patient_id for row in rows}
    while walking:
        found: dict[int, int | None] = {}
        for ids in id_chunks(previous for _, previous, _ in walking.values()):
            query = select(model.id, model.supersedes_id).where(
                model.id.in_(ids), model.patient_id.in_(sorted(patients))
            )
            for row_id, before in session.execute(query):
                found[row_id] = before
        still: dict[int, tuple[int, int, int]] = {}
        for row_id, (earliest, previous, n) in walking.items():
            if previous not in found:  # the chain's first row is the earliest found
                out[row_id] = (earliest, n)
                continue
            before = found[previous]
            if before is None:
                out[row_id] = (previous, n + 1)
            else:
                still[row_id] = (previous, before, n + 1)
        walking = still
    return out


def audit_trail(session: Session, entity_type: str, entity_id: int) -> list[AuditEntry]:
    """The audit entries of one row, oldest first (with the batch entry that created it)."""
    return audit.trail(session, entity_type, entity_id)


def list_audit(
    session: Session,
    *,
    entity_type: str | None = None,
    actor: str | None = None,
    page: Page | None = None,
) -> list[AuditEntry]:
    """Audit entries in chain order (by sequence number), optionally of one entity type or one
    actor; read-only (the chain itself is written and checked by `neurocart.store.audit`)."""
    query = select(AuditEntry)
    if entity_type is not None:
        query = query.where(AuditEntry.entity_type == entity_type)
    if actor is not None:
        query = query.where(AuditEntry.actor == actor)
    return _rows(session, query, (AuditEntry.seq,), page)
