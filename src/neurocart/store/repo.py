"""Service-level reads and writes of the clinical record, each write audited.

Every write function takes the session and the acting user, takes the audit chain's lock
first, writes, and appends its audit entries in the same transaction. None of them commits:
the caller owns the transaction (`with db.transaction() as session: ...`), so a request is
all-or-nothing. Inputs are expected validated and in canonical units (neurocart.ingest,
the API's models); the checks here are the ones the record itself depends on.

Clinical facts are append-only: `correct_*` adds a row that supersedes the old one and
`retract_*` adds one marking it entered in error; `list_*` return current rows unless asked
for `history=True`. Master data (users, patients, courses, tasks) is updated in place; the
audit log keeps old → new.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from itertools import pairwise
from operator import attrgetter
from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, Select, Table, bindparam, exists, func, select, text
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from neurocart.config import get_settings
from neurocart.store import audit
from neurocart.store.bulk import insert_columns, utc_texts
from neurocart.store.errors import (
    BatchTooLargeError,
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
    Role,
    Sex,
    Specimen,
    Task,
    TreatmentCourse,
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


# --- inputs -------------------------------------------------------------------------------


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


# --- shared machinery ---------------------------------------------------------------------


def _actor_name(actor: User | None) -> str:
    return SYSTEM_ACTOR if actor is None else actor.username


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


def _updated(session: Session, actor: User | None, row: R, changes: Mapping[str, Any]) -> R:
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
        raise InvalidRecordError(name, "needs a time zone (timestamps are stored in UTC)", value)


def _finite(name: str, value: float | None) -> None:
    if value is not None and (isinstance(value, bool) or not math.isfinite(value)):
        raise InvalidRecordError(name, "must be a finite number", value)


def _choice(name: str, kind: type[enum.StrEnum], value: Any) -> Any:
    if type(value) is kind:
        return value
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise InvalidRecordError(name, f"must be one of {allowed}", value) from None


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
        raise InvalidRecordError("reason", "a correction needs a reason", reason)
    old = _load(session, model, row_id)
    successor = session.scalar(select(model.id).where(model.supersedes_id == row_id))
    if successor is not None:
        entity = ENTITY_TYPE[model]
        raise ConflictError(
            f"{entity} {row_id} was already corrected by {entity} {successor}; correct that one",
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


# --- users --------------------------------------------------------------------------------


def create_user(
    session: Session,
    actor: User | None,
    *,
    username: str,
    password_hash: str,
    role: Role | str,
    active: bool = True,
) -> User:
    """A new user; `password_hash` comes from neurocart.security. `actor` None = system."""
    audit.lock_chain(session)
    if not username.strip():
        raise InvalidRecordError("username", "must not be empty", username)
    if get_user_by_username(session, username) is not None:
        raise ConflictError(f"username {username!r} is taken", "username")
    user = User(
        username=username,
        password_hash=password_hash,
        role=_choice("role", Role, role),
        active=active,
        created_at=utcnow(),
    )
    return _created(session, actor, user)


def update_user(
    session: Session,
    actor: User | None,
    user_id: int,
    *,
    role: Role | str | Keep = KEEP,
    active: bool | Keep = KEEP,
    password_hash: str | Keep = KEEP,
    locale: str | Keep | None = KEEP,
) -> User:
    """Change an account's role, active flag, password hash or preferred language (None: the
    browser's), audited; fields left as KEEP are not touched."""
    audit.lock_chain(session)
    user = _load(session, User, user_id)
    changes = _changes(role=role, active=active, password_hash=password_hash, locale=locale)
    if "role" in changes:
        changes["role"] = _choice("role", Role, changes["role"])
    if changes.get("locale") is not None:
        from neurocart.i18n import LOCALES, normalize

        chosen = normalize(changes["locale"])
        if chosen is None:
            raise InvalidRecordError("locale", f"must be one of {', '.join(LOCALES)}", locale)
        changes["locale"] = chosen
    return _updated(session, actor, user, changes)


def get_user(session: Session, user_id: int) -> User | None:
    """The account with this id, or None (the login path must not raise on an unknown id)."""
    return session.get(User, user_id)


def get_user_by_username(session: Session, username: str) -> User | None:
    """The account with this username, or None: how a login finds its user."""
    return session.scalar(select(User).where(User.username == username))


def list_users(session: Session) -> list[User]:
    """Every account, by username, for the admin page and `neurocart user list`."""
    return list(session.scalars(select(User).order_by(User.username)))


# --- patients and courses -----------------------------------------------------------------


def create_patient(session: Session, actor: User | None, item: PatientIn) -> Patient:
    """Enrol a patient under a new study ID (audited); a study ID already in use is a conflict,
    never a second row."""
    audit.lock_chain(session)
    if not item.study_id.strip():
        raise InvalidRecordError("study_id", "must not be empty", item.study_id)
    if session.scalar(select(Patient.id).where(Patient.study_id == item.study_id)) is not None:
        raise ConflictError(f"study ID {item.study_id!r} already exists", "study_id")
    patient = Patient(
        study_id=item.study_id,
        site=item.site,
        sex=_choice("sex", Sex, item.sex),
        birth_year=item.birth_year,
        diagnosis=_choice("diagnosis", Diagnosis, item.diagnosis),
        subtype=item.subtype,
        diagnosis_date=item.diagnosis_date,
        prior_therapies=list(item.prior_therapies),
        created_at=utcnow(),
        created_by=_actor_id(actor),
    )
    return _created(session, actor, patient)


def update_patient(
    session: Session,
    actor: User | None,
    patient_id: int,
    *,
    site: str | Keep = KEEP,
    sex: Sex | str | Keep = KEEP,
    birth_year: int | Keep | None = KEEP,
    diagnosis: Diagnosis | str | Keep = KEEP,
    subtype: str | Keep | None = KEEP,
    diagnosis_date: date | Keep | None = KEEP,
    prior_therapies: Sequence[str] | Keep = KEEP,
) -> Patient:
    """Change a patient's details (the study ID is the identity and never changes)."""
    audit.lock_chain(session)
    patient = _load(session, Patient, patient_id)
    changes = _changes(
        site=site,
        sex=sex,
        birth_year=birth_year,
        diagnosis=diagnosis,
        subtype=subtype,
        diagnosis_date=diagnosis_date,
        prior_therapies=prior_therapies,
    )
    if "sex" in changes:
        changes["sex"] = _choice("sex", Sex, changes["sex"])
    if "diagnosis" in changes:
        changes["diagnosis"] = _choice("diagnosis", Diagnosis, changes["diagnosis"])
    if "prior_therapies" in changes:
        changes["prior_therapies"] = list(changes["prior_therapies"])
    return _updated(session, actor, patient, changes)


def get_patient(session: Session, patient_id: int) -> Patient:
    """The patient with this row id, freshly read; NotFoundError names the id when there is none."""
    return _load(session, Patient, patient_id)


def find_patient(session: Session, study_id: str) -> Patient:
    """The patient with this study ID, or NotFoundError naming `study_id`."""
    patient = session.scalar(select(Patient).where(Patient.study_id == study_id))
    if patient is None:
        raise NotFoundError("patient", study_id, "study_id")
    return patient


def list_patients(
    session: Session, *, site: str | None = None, page: Page | None = None
) -> list[Patient]:
    """All patients by study ID (then id: the page key), optionally of one site."""
    query = select(Patient)
    if site is not None:
        query = query.where(Patient.site == site)
    return _rows(session, query, (Patient.study_id, Patient.id), page)


_COURSE_ORDER = ("enrolment_date", "apheresis_date", "ld_start_date", "infusion_date")


def _with_infusion_date(values: dict[str, Any]) -> dict[str, Any]:
    """Derive `infusion_date` from `infusion_at` (its UTC date) or check that they agree."""
    at = values.get("infusion_at")
    _aware("infusion_at", at)
    if at is None:
        return values
    day = at.astimezone(UTC).date()
    given = values.get("infusion_date")
    if given is None:
        return values | {"infusion_date": day}
    if given != day:
        raise InvalidRecordError(
            "infusion_date", f"must be the UTC date of infusion_at ({day.isoformat()})", given
        )
    return values


def _check_course(values: Mapping[str, Any]) -> None:
    dose = values.get("dose_cells_per_kg")
    _finite("dose_cells_per_kg", dose)
    if dose is not None and dose <= 0:
        raise InvalidRecordError("dose_cells_per_kg", "must be positive", dose)
    dated = [(name, values[name]) for name in _COURSE_ORDER if values.get(name) is not None]
    for (before, earlier), (after, later) in pairwise(dated):
        if later < earlier:
            raise InvalidRecordError(after, f"must not be before {before} ({earlier})", later)


def create_course(session: Session, actor: User | None, item: CourseIn) -> TreatmentCourse:
    """Store a treatment course for an existing patient (audited), with the infusion date derived
    from its instant when only that is given."""
    audit.lock_chain(session)
    _require_patients(session, [item.patient_id], "patient_id")
    values = {name: getattr(item, name) for name in CourseIn.__dataclass_fields__}
    values = _with_infusion_date(values)
    _check_course(values)
    course = TreatmentCourse(**values, created_at=utcnow(), created_by=_actor_id(actor))
    return _created(session, actor, course)


def update_course(
    session: Session,
    actor: User | None,
    course_id: int,
    *,
    product: str | Keep = KEEP,
    target: str | Keep | None = KEEP,
    dose_cells_per_kg: float | Keep | None = KEEP,
    lymphodepletion: str | Keep | None = KEEP,
    enrolment_date: date | Keep | None = KEEP,
    apheresis_date: date | Keep | None = KEEP,
    ld_start_date: date | Keep | None = KEEP,
    infusion_date: date | Keep | None = KEEP,
    protocol_id: str | Keep | None = KEEP,
    infusion_at: datetime | Keep | None = KEEP,
) -> TreatmentCourse:
    """Fill in or fix a course's details (dates are typically added as the course proceeds).

    Setting `infusion_at` alone also sets `infusion_date` to its UTC date; an `infusion_date`
    that contradicts a recorded `infusion_at` is refused (clear `infusion_at` to move it).
    """
    audit.lock_chain(session)
    course = _load(session, TreatmentCourse, course_id)
    changes = _changes(
        product=product,
        target=target,
        dose_cells_per_kg=dose_cells_per_kg,
        lymphodepletion=lymphodepletion,
        enrolment_date=enrolment_date,
        apheresis_date=apheresis_date,
        ld_start_date=ld_start_date,
        infusion_date=infusion_date,
        protocol_id=protocol_id,
        infusion_at=infusion_at,
    )
    if changes.get("infusion_at") is not None and "infusion_date" not in changes:
        changes["infusion_date"] = None  # derived below from the new instant
    merged = {name: getattr(course, name) for name in CourseIn.__dataclass_fields__} | changes
    merged = _with_infusion_date(merged)
    changes = {k: merged[k] for k in changes}
    _check_course(merged)
    return _updated(session, actor, course, changes)


def get_course(session: Session, course_id: int) -> TreatmentCourse:
    """The course with this id, freshly read; NotFoundError when there is none."""
    return _load(session, TreatmentCourse, course_id)


def list_courses(session: Session, patient_id: int) -> list[TreatmentCourse]:
    """A patient's courses in the order they were created."""
    query = select(TreatmentCourse).where(TreatmentCourse.patient_id == patient_id)
    return list(session.scalars(query.order_by(TreatmentCourse.id)))


# --- observations -------------------------------------------------------------------------


def _observation_row(item: ObservationIn, where: str) -> dict[str, Any]:
    _finite(f"{where}value", item.value)
    _aware(f"{where}effective_at", item.effective_at)
    return {
        "patient_id": item.patient_id,
        "code": item.code,
        "code_system": item.code_system,
        "value": float(item.value) + 0.0,  # -0.0 → 0.0: SQLite reads back 0.0, audit must match
        "unit": item.unit,
        "specimen": _choice(f"{where}specimen", Specimen, item.specimen),
        "effective_at": item.effective_at,
        "source": item.source,
        "note": item.note,
    }


def add_observation(session: Session, actor: User, item: ObservationIn) -> Observation:
    """Store one observation (already validated and converted by ingest) for an existing patient,
    audited."""
    audit.lock_chain(session)
    _require_patients(session, [item.patient_id], "patient_id")
    row = Observation(
        **_observation_row(item, ""),
        entered_by=actor.id,
        recorded_at=utcnow(),
        entered_in_error=False,
    )
    return _created(session, actor, row)


class ObservationFields(Protocol):
    """What a row of a batch carries: `ObservationIn` and neurocart.ingest's
    NormalizedObservation both do (the latter without a patient: see add_patient_observations).
    """

    @property
    def code(self) -> str: ...
    @property
    def code_system(self) -> str: ...
    @property
    def value(self) -> float: ...
    @property
    def unit(self) -> str: ...
    @property
    def specimen(self) -> Specimen | str: ...
    @property
    def effective_at(self) -> datetime: ...
    @property
    def source(self) -> str: ...
    @property
    def note(self) -> str | None: ...


class ObservationColumns(Protocol):
    """A batch given column by column (field → the rows' values, all of one length), as
    neurocart.ingest's NormalizedColumns carries it: see add_patient_observation_columns.
    """

    @property
    def code(self) -> Sequence[str]: ...
    @property
    def code_system(self) -> Sequence[str]: ...
    @property
    def value(self) -> Sequence[float]: ...
    @property
    def unit(self) -> Sequence[str]: ...
    @property
    def specimen(self) -> Sequence[Specimen | str]: ...
    @property
    def effective_at(self) -> Sequence[datetime]: ...
    @property
    def source(self) -> Sequence[str]: ...
    @property
    def note(self) -> Sequence[str | None]: ...


_BATCH_FIELDS = (
    "code", "code_system", "value", "unit", "specimen", "effective_at", "source", "note",
)  # fmt: skip
"""The columns a batch's rows give, after `id` (and `patient_id` unless one patient's)."""
_EFFECTIVE_AT = _BATCH_FIELDS.index("effective_at")


def add_observations(
    session: Session, actor: User, items: Sequence[ObservationIn], *, limit: int | None = None
) -> list[int]:
    """Write a batch in the caller's transaction (all or nothing); returns the new ids in order.

    One bulk INSERT for the rows and ONE `create_batch` audit entry holding every row's id and
    snapshot digest (see neurocart.store.audit), so the chain still covers each row.
    """
    patients = [item.patient_id for item in items]
    return _add_batch(session, actor, patients, _item_columns(items), limit)


def add_patient_observations(
    session: Session,
    actor: User,
    patient_id: int,
    items: Sequence[ObservationFields],
    *,
    limit: int | None = None,
) -> list[int]:
    """`add_observations` for one patient's rows, which need not carry `patient_id`."""
    return _add_batch(session, actor, patient_id, _item_columns(items), limit)


def add_patient_observation_columns(
    session: Session,
    actor: User,
    patient_id: int,
    columns: ObservationColumns,
    *,
    limit: int | None = None,
) -> list[int]:
    """`add_patient_observations` with the rows given column by column.

    The batch write works on columns; this skips building a tuple per row only to take the
    tuples apart again (neurocart.services.ingest hands over what neurocart.ingest gives).
    """
    values: list[Sequence[Any]] = [getattr(columns, name) for name in _BATCH_FIELDS]
    if len(set(map(len, values))) != 1:
        raise ValueError("the columns of a batch must all have the same length")
    return _add_batch(session, actor, patient_id, values, limit)


def _add_batch(
    session: Session,
    actor: User,
    patients: int | Sequence[int],
    given: list[Sequence[Any]],
    limit: int | None,
) -> list[int]:
    """Write the rows whose `_BATCH_FIELDS` columns are `given`."""
    n = len(given[0])
    limit = get_settings().max_batch_observations if limit is None else limit
    if n > limit:
        raise BatchTooLargeError("observations", f"at most {limit} per batch", n)
    if not n:
        return []
    audit.lock_chain(session)
    values, utc_times = _checked_columns(given)
    one_patient = isinstance(patients, int)
    wanted = {patients} if isinstance(patients, int) else set(patients)
    _require_patients(session, wanted, "patient_id" if one_patient else "observations[].patient_id")
    table = Observation.__table__
    assert isinstance(table, Table)
    ids = _reserve_ids(session, table, n)
    fixed: dict[str, Any]
    columns: list[Sequence[Any]]
    if isinstance(patients, int):
        names: tuple[str, ...] = ("id", *_BATCH_FIELDS)
        columns = [ids, *values]
        fixed = {"patient_id": patients}
    else:
        names = ("id", "patient_id", *_BATCH_FIELDS)
        columns = [ids, list(patients), *values]
        fixed = {}
    fixed |= {
        "entered_by": actor.id,
        "recorded_at": utcnow(),
        "supersedes_id": None,
        "correction_reason": None,
        "entered_in_error": False,
    }
    bound: dict[str, Sequence[Any]] = {}
    encoded: dict[str, Sequence[str]] = {}
    if utc_times:  # each time formatted once, for both the bind and the audit snapshot
        texts = utc_texts(session.connection().dialect, values[_EFFECTIVE_AT])
        encoded["effective_at"] = texts.json
        if texts.bound is not None:
            bound["effective_at"] = texts.bound
    insert_columns(session, table, names, columns, fixed, bound)
    digests = audit.snapshot_column_digests(table, names, columns, fixed, encoded)
    audit.append_batch(
        session, actor=actor.username, entity_type="observation", ids=ids, digests=digests
    )
    return ids


_TZINFO = attrgetter("tzinfo")


def _item_columns(items: Sequence[ObservationFields]) -> list[Sequence[Any]]:
    """The `_BATCH_FIELDS` columns of rows given one by one."""
    if not items:
        return [[] for _ in _BATCH_FIELDS]
    kind = type(items[0])
    fields: tuple[str, ...] | None = getattr(kind, "_fields", None)  # a named tuple's
    if fields is not None and set(map(type, items)) == {kind}:  # columns by position
        every = list(zip(*items, strict=True))
        return [every[fields.index(name)] for name in _BATCH_FIELDS]
    return list(zip(*map(attrgetter(*_BATCH_FIELDS), items), strict=True))


def _checked_columns(columns: list[Sequence[Any]]) -> tuple[list[Sequence[Any]], bool]:
    """The `_BATCH_FIELDS` columns checked as `add_observation` checks one row, and whether
    every effective_at is a `datetime` in UTC (so `bulk.utc_texts` may format them).

    The common case (float values, UTC times, Specimen members, as neurocart.ingest gives them)
    is checked column by column; any other batch row by row, naming the first bad field
    (``observations[3].value``).
    """
    _, _, numbers, _, specimens, times, _, _ = columns
    if (  # sets of types, C-level: a zero-offset `timezone` equals UTC and formats the same
        set(map(type, numbers)) == {float}
        and all(map(math.isfinite, numbers))
        and set(map(type, times)) == {datetime}
        and set(map(_TZINFO, times)) == {UTC}
        and set(map(type, specimens)) == {Specimen}
    ):
        if 0.0 in numbers:  # store -0.0 as 0.0, as _observation_row does
            columns = [*columns[:2], [v + 0.0 for v in numbers], *columns[3:]]
        return columns, True
    out = []
    for i, (code, system, value, unit, specimen, at, source, note) in enumerate(
        zip(*columns, strict=True)
    ):
        where = f"observations[{i}]."
        _finite(f"{where}value", value)
        _aware(f"{where}effective_at", at)
        specimen = _choice(f"{where}specimen", Specimen, specimen)
        out.append((code, system, float(value) + 0.0, unit, specimen, at, source, note))
    return list(zip(*out, strict=True)), False


def _reserve_ids(session: Session, table: Table, n: int) -> list[int]:
    """`n` fresh primary keys, so a batch is one plain executemany (no per-row RETURNING).

    Safe because the caller holds the chain lock: on SQLite the write lock (nobody else can
    insert), on PostgreSQL the values come from the table's own sequence.
    """
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        return list(connection.scalars(_NEXT_IDS, {"table": table.name, "n": n}))
    start: int | None = connection.scalar(_max_id(table))
    assert start is not None
    return list(range(start + 1, start + 1 + n))


_NEXT_IDS = text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)")


@cache
def _max_id(table: Table) -> Select[Any]:
    return select(func.coalesce(func.max(table.c.id), 0))


def correct_observation(
    session: Session,
    actor: User,
    observation_id: int,
    *,
    reason: str,
    code: str | Keep = KEEP,
    code_system: str | Keep = KEEP,
    value: float | Keep = KEEP,
    unit: str | Keep = KEEP,
    specimen: Specimen | str | Keep = KEEP,
    effective_at: datetime | Keep = KEEP,
    source: str | Keep = KEEP,
    note: str | Keep | None = KEEP,
) -> Observation:
    """Supersede an observation with a corrected copy; returns the new current row."""
    changes = _changes(
        code=code,
        code_system=code_system,
        value=value,
        unit=unit,
        specimen=specimen,
        effective_at=effective_at,
        source=source,
        note=note,
    )
    if "value" in changes:
        _finite("value", changes["value"])
        changes["value"] = float(changes["value"]) + 0.0
    if "effective_at" in changes:
        _aware("effective_at", changes["effective_at"])
    if "specimen" in changes:
        changes["specimen"] = _choice("specimen", Specimen, changes["specimen"])
    return _correct(session, actor, Observation, observation_id, reason, changes)


def retract_observation(
    session: Session, actor: User, observation_id: int, *, reason: str
) -> Observation:
    """Mark an observation entered in error (e.g. the wrong patient); the row stays readable."""
    return _correct(session, actor, Observation, observation_id, reason, {}, action="retract")


def get_observation(session: Session, observation_id: int) -> Observation:
    """The observation with this id (any version, retracted ones included)."""
    return _load(session, Observation, observation_id)


def list_observations(
    session: Session,
    patient_id: int,
    *,
    code: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    history: bool = False,
    page: Page | None = None,
) -> list[Observation]:
    """A patient's observations by effective time then id; `until` is exclusive."""
    where: list[ColumnElement[bool]] = []
    if code is not None:
        where.append(Observation.code == code)
    if since is not None:
        where.append(Observation.effective_at >= since)
    if until is not None:
        where.append(Observation.effective_at < until)
    by = Observation.effective_at
    return _facts(session, Observation, patient_id, where, by, history, page)


# --- assessments --------------------------------------------------------------------------


def add_assessment(
    session: Session, actor: User, item: AssessmentIn, *, scored: Mapping[str, Any]
) -> Assessment:
    """Store an assessment with what its calculator made of it (`scored`: the validated
    inputs, the Result, its value and label — `neurocart.services.assessments.score`)."""
    _aware("effective_at", item.effective_at)
    audit.lock_chain(session)
    _require_patients(session, [item.patient_id], "patient_id")
    row = Assessment(
        patient_id=item.patient_id,
        instrument=item.instrument,
        effective_at=item.effective_at,
        entered_by=actor.id,
        recorded_at=utcnow(),
        entered_in_error=False,
        **scored,
    )
    return _created(session, actor, row)


def correct_assessment(
    session: Session,
    actor: User,
    assessment_id: int,
    *,
    reason: str,
    scored: Mapping[str, Any] | Keep = KEEP,
    effective_at: datetime | Keep = KEEP,
) -> Assessment:
    """Supersede an assessment; `scored` replaces the scored inputs and result."""
    changes: dict[str, Any] = _changes(effective_at=effective_at)
    if "effective_at" in changes:
        _aware("effective_at", changes["effective_at"])
    if not isinstance(scored, Keep):
        changes |= dict(scored)
    return _correct(session, actor, Assessment, assessment_id, reason, changes)


def retract_assessment(
    session: Session, actor: User, assessment_id: int, *, reason: str
) -> Assessment:
    """Withdraw an assessment entered in error, keeping it and the reason (facts are never
    deleted)."""
    return _correct(session, actor, Assessment, assessment_id, reason, {}, action="retract")


def get_assessment(session: Session, assessment_id: int) -> Assessment:
    """The assessment with this id (any version, retracted ones included)."""
    return _load(session, Assessment, assessment_id)


def list_assessments(
    session: Session,
    patient_id: int,
    *,
    instrument: str | None = None,
    history: bool = False,
    page: Page | None = None,
) -> list[Assessment]:
    """A patient's assessments by time, optionally of one instrument; only current versions unless
    `history`."""
    where = [] if instrument is None else [Assessment.instrument == instrument]
    by = Assessment.effective_at
    return _facts(session, Assessment, patient_id, where, by, history, page)


# --- clinical events ----------------------------------------------------------------------

_NEEDS: dict[EventType, tuple[str, ...]] = {
    EventType.ADVERSE_EVENT: ("ctcae_term", "grade"),
    EventType.CRS: ("grade",),
    EventType.ICANS: ("grade",),
    EventType.DRUG_GIVEN: ("drug",),
    EventType.MAINTENANCE_STARTED: ("drug",),
    EventType.MAINTENANCE_STOPPED: ("drug",),
}
"""Fields an event of each type cannot be recorded without (one place for this rule)."""


def _check_event(values: Mapping[str, Any]) -> None:
    kind: EventType = values["type"]
    for name in _NEEDS.get(kind, ()):
        if values.get(name) in (None, ""):
            raise InvalidRecordError(name, f"required for a {kind.value} event")
    grade = values.get("grade")
    if grade is not None and (isinstance(grade, bool) or grade not in range(1, 6)):
        raise InvalidRecordError("grade", "must be an integer from 1 to 5", grade)
    _aware("onset_at", values["onset_at"])
    _aware("end_at", values.get("end_at"))
    if values.get("end_at") is not None and values["end_at"] < values["onset_at"]:
        raise InvalidRecordError("end_at", "must not be before onset_at", values["end_at"])
    dose = values.get("dose")
    _finite("dose", dose)
    if dose is not None and dose < 0:
        raise InvalidRecordError("dose", "must not be negative", dose)
    if dose is not None and not values.get("dose_unit"):
        raise InvalidRecordError("dose_unit", "required when a dose is given")


def add_event(session: Session, actor: User, item: EventIn) -> ClinicalEvent:
    """Store one clinical event for an existing patient, audited; the event is checked before the
    chain is locked."""
    values = {name: getattr(item, name) for name in EventIn.__dataclass_fields__}
    values["type"] = _choice("type", EventType, item.type)
    values["details"] = dict(item.details)
    _check_event(values)
    audit.lock_chain(session)
    _require_patients(session, [item.patient_id], "patient_id")
    row = ClinicalEvent(**values, entered_by=actor.id, recorded_at=utcnow(), entered_in_error=False)
    return _created(session, actor, row)


def correct_event(
    session: Session,
    actor: User,
    event_id: int,
    *,
    reason: str,
    type: EventType | str | Keep = KEEP,
    onset_at: datetime | Keep = KEEP,
    end_at: datetime | Keep | None = KEEP,
    ctcae_term: str | Keep | None = KEEP,
    grade: int | Keep | None = KEEP,
    drug: str | Keep | None = KEEP,
    dose: float | Keep | None = KEEP,
    dose_unit: str | Keep | None = KEEP,
    details: Mapping[str, Any] | Keep = KEEP,
) -> ClinicalEvent:
    """Supersede an event (e.g. add its end time, fix a grade); returns the new current row."""
    changes = _changes(
        type=type,
        onset_at=onset_at,
        end_at=end_at,
        ctcae_term=ctcae_term,
        grade=grade,
        drug=drug,
        dose=dose,
        dose_unit=dose_unit,
        details=details,
    )
    if "type" in changes:
        changes["type"] = _choice("type", EventType, changes["type"])
    if "details" in changes:
        changes["details"] = dict(changes["details"])
    audit.lock_chain(session)
    old = _load(session, ClinicalEvent, event_id)
    merged = {name: getattr(old, name) for name in EventIn.__dataclass_fields__}
    _check_event(merged | changes)
    return _correct(session, actor, ClinicalEvent, event_id, reason, changes)


def retract_event(session: Session, actor: User, event_id: int, *, reason: str) -> ClinicalEvent:
    """Withdraw an event entered in error, keeping it and the reason."""
    return _correct(session, actor, ClinicalEvent, event_id, reason, {}, action="retract")


def get_event(session: Session, event_id: int) -> ClinicalEvent:
    """The event with this id (any version, retracted ones included)."""
    return _load(session, ClinicalEvent, event_id)


def list_events(
    session: Session,
    patient_id: int,
    *,
    type: EventType | str | None = None,
    history: bool = False,
    page: Page | None = None,
) -> list[ClinicalEvent]:
    """A patient's events by onset, optionally of one type; only current versions unless
    `history`."""
    where = [] if type is None else [ClinicalEvent.type == _choice("type", EventType, type)]
    by = ClinicalEvent.onset_at
    return _facts(session, ClinicalEvent, patient_id, where, by, history, page)


# --- tasks --------------------------------------------------------------------------------


def set_task(
    session: Session,
    actor: User | None,
    patient_id: int,
    *,
    protocol_id: str,
    task_id: str,
    slot_start: datetime,
    state: str,
    completed_by: str | None = None,
    note: str | None = None,
) -> Task:
    """Record the state of one scheduled task slot (created on first use, updated after)."""
    _aware("slot_start", slot_start)
    audit.lock_chain(session)
    _require_patients(session, [patient_id], "patient_id")
    task = session.scalar(
        select(Task)
        .where(
            Task.patient_id == patient_id,
            Task.protocol_id == protocol_id,
            Task.task_id == task_id,
            Task.slot_start == slot_start,
        )
        .execution_options(populate_existing=True)
    )
    values = {"state": state, "completed_by": completed_by, "note": note}
    stamp = {"updated_at": utcnow(), "updated_by": _actor_id(actor)}
    if task is None:
        task = Task(
            patient_id=patient_id,
            protocol_id=protocol_id,
            task_id=task_id,
            slot_start=slot_start,
            **values,
            **stamp,
        )
        return _created(session, actor, task)
    current = {k: getattr(task, k) for k in values}
    return task if current == values else _updated(session, actor, task, values | stamp)


def list_tasks(session: Session, patient_id: int, *, protocol_id: str | None = None) -> list[Task]:
    """The manual marks on a patient's schedule slots (done, skipped, not applicable), by slot."""
    query = select(Task).where(Task.patient_id == patient_id)
    if protocol_id is not None:
        query = query.where(Task.protocol_id == protocol_id)
    return list(session.scalars(query.order_by(Task.slot_start, Task.task_id)))
