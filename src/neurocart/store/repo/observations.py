"""Observations: one or a batch of thousands, corrected and retracted by new rows."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import ColumnElement, Table, select
from sqlalchemy.orm import Session

from neurocart.config import get_settings
from neurocart.store import audit
from neurocart.store.bulk import insert_columns, reserve_ids, utc_texts
from neurocart.store.errors import (
    BATCH_LIMIT,
    BatchTooLargeError,
)
from neurocart.store.models import (
    Observation,
    Specimen,
    User,
)
from neurocart.store.pages import Page
from neurocart.store.repo._common import (
    KEEP,
    Keep,
    ObservationIn,
    _aware,
    _changes,
    _choice,
    _correct,
    _created,
    _facts,
    _finite,
    _load,
    _require_patients,
    current,
)
from neurocart.store.types import utcnow

if TYPE_CHECKING:  # numpy is imported where a series is read: the API's start-up does not load it
    import numpy as np
    import numpy.typing as npt


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
        raise BatchTooLargeError("observations", BATCH_LIMIT.format(limit=limit), n)
    if not n:
        return []
    values, utc_times = _checked_columns(given)  # pure: before the lock, which writers queue on
    audit.lock_chain(session)
    one_patient = isinstance(patients, int)
    wanted = {patients} if isinstance(patients, int) else set(patients)
    _require_patients(session, wanted, "patient_id" if one_patient else "observations[].patient_id")
    table = Observation.__table__
    assert isinstance(table, Table)
    ids = reserve_ids(session, table, n)
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


@dataclass(frozen=True)
class ValueSeries:
    """One code's current observations as columns, in effective time then id order: what a
    chart draws of a long history, with no object per row."""

    micros: npt.NDArray[np.int64]
    """Effective times, microseconds since 1970-01-01 UTC."""
    values: npt.NDArray[np.float64]
    units: npt.NDArray[np.object_]

    def __len__(self) -> int:
        return len(self.micros)

    def effective_at(self, position: int) -> datetime:
        """The effective time of one row, as the store's UTC timestamps read it."""
        return _EPOCH + timedelta(microseconds=int(self.micros[position]))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def observation_series(
    session: Session, patient_id: int, codes: Collection[str]
) -> dict[str, ValueSeries]:
    """A patient's current observations of `codes`, one `ValueSeries` per code present (in
    order of first appearance). The rows are read column by column from the driver and the
    times parsed by numpy (`neurocart.store.columnar`): a long history is read several times
    faster than as one Row, and one datetime, per observation."""
    import numpy as np

    from neurocart.store.columnar import factorized, instant, instant_micros, select_columns

    query = (
        select(
            Observation.code,
            instant(session, Observation.effective_at),
            Observation.value,
            Observation.unit,
        )
        .where(
            Observation.patient_id == patient_id,
            Observation.code.in_(sorted(codes)),
            current(Observation),
        )
        .order_by(Observation.effective_at, Observation.id)
    )
    columns = select_columns(session, query, ("code", "effective_at", "value", "unit"))
    micros = instant_micros(columns["effective_at"])
    values = columns["value"].astype(np.float64)
    codes, names = factorized(columns["code"])  # in order of first appearance
    order = np.argsort(codes, kind="stable")  # by code, each code's rows still in time order
    counts = np.bincount(codes, minlength=len(names))
    ends = np.cumsum(counts)
    series = {}
    for name, start, end in zip(
        names.tolist(), (ends - counts).tolist(), ends.tolist(), strict=True
    ):
        rows = order[start:end]
        series[name] = ValueSeries(micros[rows], values[rows], columns["unit"][rows])
    return series


def latest_observations(session: Session, patient_id: int, *, limit: int) -> list[Observation]:
    """The newest current observation of each code (ties: the latest stored), newest first,
    at most `limit` of them: the patient's codes from the (patient, code, time) index, then
    one short backward index read per code, whatever the length of the history."""
    codes = session.scalars(
        select(Observation.code).where(Observation.patient_id == patient_id).distinct()
    ).all()
    newest = []
    for code in codes:
        row = session.scalar(
            select(Observation)
            .where(Observation.patient_id == patient_id, Observation.code == code)
            .where(current(Observation))
            .order_by(Observation.effective_at.desc(), Observation.id.desc())
            .limit(1)
        )
        if row is not None:
            newest.append(row)
    newest.sort(key=lambda o: (o.effective_at, o.id), reverse=True)
    return newest[:limit]


def get_observation(session: Session, observation_id: int) -> Observation:
    """The observation with this id (any version, retracted ones included)."""
    return _load(session, Observation, observation_id)


def list_observations(
    session: Session,
    patient_id: int,
    *,
    code: str | None = None,
    codes: Collection[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    history: bool = False,
    page: Page | None = None,
) -> list[Observation]:
    """A patient's observations by effective time then id (of one `code`, or of any of
    `codes`: one query where a caller needs several); `until` is exclusive."""
    where: list[ColumnElement[bool]] = []
    if code is not None:
        where.append(Observation.code == code)
    if codes is not None:
        where.append(Observation.code.in_(sorted(codes)))
    if since is not None:
        where.append(Observation.effective_at >= since)
    if until is not None:
        where.append(Observation.effective_at < until)
    by = Observation.effective_at
    return _facts(session, Observation, patient_id, where, by, history, page)
