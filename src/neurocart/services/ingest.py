"""Recording observations: normalize (codes, units, plausibility) once, then store, audited.

    with db.transaction() as session:
        ids = ingest_observations(session, user, patient_id, rows)   # rows: up to 10,000

Rows are `neurocart.ingest.ObservationIn` models or plain mappings with the same fields (as
they come from JSON or a CSV reader). Each is normalized by `neurocart.ingest` — converted to
its code's canonical SI unit and checked against the physiologically possible range — and the
whole batch is written by `neurocart.store.repo` in the caller's transaction.
A batch is all or nothing: if any row is bad, BatchValidationError lists every bad row's
field (``observations[57].unit``) and nothing is written. A batch goes from normalization to
the store column by column (`normalize_columns` → `repo.add_patient_observation_columns`: no
per-row copy) and is stored with one audit entry covering every row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from neurocart.ingest import ObservationError, ObservationIn, normalize_batch
from neurocart.ingest.validate import (
    NormalizedColumns,
    NormalizedObservation,
    normalize_columns,
    normalize_observation,
)
from neurocart.services.errors import BatchValidationError, InvalidInputError, Problem
from neurocart.services.plausible import TimeWindow
from neurocart.store import audit, repo
from neurocart.store.interop import IngestKey, add_keys
from neurocart.store.models import Observation, User

COLLECTION = "observations"
"""The name batch problems are located under: ``observations[3].unit``."""

RawObservation = ObservationIn | Mapping[str, Any]


NATURAL_SYSTEM = "natural:observation"
"""The `ingest_keys` system of observations' natural keys (patient, code, time, value, source):
the same table the hospital feeds keep their identifiers in, so one mechanism answers "was
this fact stored already?"."""


@dataclass(frozen=True)
class StoredObservations:
    """A batch as stored: the patient, the new ids in row order, and the normalized columns
    written (canonical codes, units and values; times in UTC) — what a fact listener needs
    without reading the rows back. With the natural duplicate check, `duplicates` lists
    (row index, id of the observation already stored) for rows not stored again; `ids` and
    `columns` then hold only the rows stored now."""

    patient_id: int
    ids: list[int]
    columns: NormalizedColumns
    duplicates: tuple[tuple[int, int], ...] = ()

    def row_ids(self) -> list[int]:
        """Every sent row's observation id, in the rows' order (new or already stored)."""
        known = dict(self.duplicates)
        fresh = iter(self.ids)
        return [known[i] if i in known else next(fresh) for i in range(len(self.ids) + len(known))]


def natural_key(
    patient_id: int, code: str, effective_at: datetime, value: float, source: str | None
) -> str:
    """SHA-256 of an observation's natural key, after normalization (98.6 °F and 37 °C taken
    at the same instant by the same source are one fact). No salt: nothing in it identifies
    a patient outside this database."""
    at = effective_at.astimezone(UTC).isoformat()
    text = f"{patient_id}\x1f{code}\x1f{at}\x1f{float(value)!r}\x1f{source or ''}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def ingest_observations(
    session: Session,
    actor: User,
    patient_id: int,
    rows: Sequence[RawObservation],
    *,
    limit: int | None = None,
) -> list[int]:
    """Normalize and store a batch for one patient; returns the new observation ids in order.

    Raises BatchValidationError (every bad row, nothing written) for bad rows or a batch over
    `limit` (default Settings.max_batch_observations), NotFoundError (field ``patient_id``)
    for an unknown patient. Never commits.
    """
    return ingest_observation_batch(session, actor, patient_id, rows, limit=limit).ids


def ingest_observation_batch(
    session: Session,
    actor: User,
    patient_id: int,
    rows: Sequence[RawObservation],
    *,
    limit: int | None = None,
    window: TimeWindow | None = None,
    skip_duplicates: bool = False,
) -> StoredObservations:
    """`ingest_observations`, returning the stored batch rather than only its ids.

    With a `window` (neurocart.services.plausible), a row whose time lies outside it is a bad
    row like any other (``observations[3].effective_at``). `skip_duplicates`: rows whose
    natural key (`natural_key`) was stored before, or repeats a row earlier in the batch,
    are not stored again but reported in `duplicates` (the REST routes; the feeds have
    their own identifiers)."""
    if isinstance(rows, str | bytes) or not isinstance(rows, Sequence):
        raise BatchValidationError([Problem(COLLECTION, "must be a list of observations")])
    columns, errors = normalize_columns(rows)
    if errors:
        raise BatchValidationError(
            [Problem(e.location(COLLECTION), e.message, e.got) for e in errors]
        )
    if window is not None:
        try:
            window.check_column(COLLECTION, "effective_at", columns.effective_at)
        except InvalidInputError as exc:
            raise BatchValidationError(exc.problems) from None
    if not skip_duplicates:
        ids = repo.add_patient_observation_columns(session, actor, patient_id, columns, limit=limit)
        return StoredObservations(patient_id, ids, columns)
    return _store_new(session, actor, patient_id, columns, limit)


def _store_new(
    session: Session,
    actor: User,
    patient_id: int,
    columns: NormalizedColumns,
    limit: int | None,
) -> StoredObservations:
    """Store the rows whose natural key is new, and their keys, in the caller's transaction."""
    if limit is not None and len(columns) > limit:  # before any lookup: the store says why
        repo.add_patient_observation_columns(session, actor, patient_id, columns, limit=limit)
    hashes = [
        natural_key(patient_id, c, t, v, src)
        for c, t, v, src in zip(
            columns.code, columns.effective_at, columns.value, columns.source, strict=True
        )
    ]
    if not hashes:  # nothing to store: still an unknown patient is named (the store checks
        repo.get_patient(session, patient_id)  # the patient of every row it writes)
        return StoredObservations(patient_id, [], columns)
    audit.lock_chain(session)  # before the keys are read: no concurrent twin slips in between
    known = _known_roots(session, sorted(set(hashes)))
    first: dict[str, int] = {}
    keep: list[int] = []
    duplicates: list[tuple[int, int | None]] = []
    for i, h in enumerate(hashes):
        if h in known:
            duplicates.append((i, known[h]))
        elif h in first:
            duplicates.append((i, None))  # resolved to the earlier row's new id below
        else:
            first[h] = i
            keep.append(i)
    fields = NormalizedObservation._fields
    if len(keep) == len(columns):
        subset = columns
    else:
        subset = NormalizedColumns(*([getattr(columns, f)[i] for i in keep] for f in fields))
    ids = (
        repo.add_patient_observation_columns(session, actor, patient_id, subset, limit=limit)
        if keep
        else []
    )
    new_id = dict(zip(keep, ids, strict=True))
    if ids:
        add_keys(
            session, actor.username, system=NATURAL_SYSTEM, entity_type="observation",
            key_hashes=[hashes[i] for i in keep], root_ids=ids,
        )  # fmt: skip
    resolved = tuple(
        (i, stored if stored is not None else new_id[first[hashes[i]]]) for i, stored in duplicates
    )
    return StoredObservations(patient_id, ids, subset, resolved)


def _known_roots(session: Session, hashes: list[str]) -> dict[str, int]:
    """Natural key hash → the stored observation's chain root, for the hashes already stored
    (columns only: a 10,000-row batch must not build 10,000 ORM objects)."""
    found: dict[str, int] = {}
    for start in range(0, len(hashes), 500):
        query = select(IngestKey.key_hash, IngestKey.root_id).where(
            IngestKey.system == NATURAL_SYSTEM, IngestKey.key_hash.in_(hashes[start : start + 500])
        )
        found.update((h, root) for h, root in session.execute(query))
    return found


def ingest_observation(
    session: Session,
    actor: User,
    patient_id: int,
    row: RawObservation,
    *,
    window: TimeWindow | None = None,
) -> Observation:
    """Normalize and store one observation; InvalidInputError names the field (``unit``),
    also for a time outside `window` when one is given."""
    item = _normalized(row)
    if window is not None:
        window.check({"effective_at": item.effective_at})
    return repo.add_observation(session, actor, _store_item(patient_id, item))


def ingest_observation_once(
    session: Session,
    actor: User,
    patient_id: int,
    row: RawObservation,
    *,
    window: TimeWindow | None = None,
) -> tuple[Observation, bool]:
    """`ingest_observation` with the natural duplicate check: (the row, True) when stored now,
    (the observation stored before with the same natural key, False) when not stored again."""
    item = _normalized(row)
    if window is not None:
        window.check({"effective_at": item.effective_at})
    h = natural_key(patient_id, item.code, item.effective_at, item.value, item.source)
    audit.lock_chain(session)  # before the key is read (see `_store_new`)
    stored = _known_roots(session, [h]).get(h)
    if stored is not None:
        return repo.get_observation(session, stored), False
    new = repo.add_observation(session, actor, _store_item(patient_id, item))
    add_keys(
        session, actor.username, system=NATURAL_SYSTEM, entity_type="observation",
        key_hashes=[h], root_ids=[new.id],
    )  # fmt: skip
    return new, True


def _normalized(row: RawObservation) -> NormalizedObservation:
    try:
        raw = row if isinstance(row, ObservationIn) else None
        if raw is None:
            normalized, errors = normalize_batch([row])
            if errors:
                raise InvalidInputError([Problem(e.field, e.message, e.got) for e in errors])
            (item,) = normalized
            return item
        return normalize_observation(raw)
    except ObservationError as exc:
        raise InvalidInputError([Problem(exc.field, exc.message, exc.got)]) from None


def _store_item(patient_id: int, n: NormalizedObservation) -> repo.ObservationIn:
    return repo.ObservationIn(
        patient_id=patient_id,
        code=n.code,
        value=n.value,
        unit=n.unit,
        effective_at=n.effective_at,
        code_system=n.code_system,
        specimen=n.specimen,
        source=n.source,
        note=n.note,
    )
