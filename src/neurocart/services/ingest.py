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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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
from neurocart.store.errors import NotFoundError
from neurocart.store.models import Observation, Patient, User

COLLECTION = "observations"
"""The name batch problems are located under: ``observations[3].unit``."""

RawObservation = ObservationIn | Mapping[str, Any]


@dataclass(frozen=True)
class StoredObservations:
    """A batch as stored: the patient, the new ids in row order, and the normalized columns
    written (canonical codes, units and values; times in UTC) — what a fact listener needs
    without reading the rows back."""

    patient_id: int
    ids: list[int]
    columns: NormalizedColumns


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
) -> StoredObservations:
    """`ingest_observations`, returning the stored batch rather than only its ids.

    With a `window` (neurocart.services.plausible), a row whose time lies outside it is a bad
    row like any other (``observations[3].effective_at``)."""
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
    ids = repo.add_patient_observation_columns(session, actor, patient_id, columns, limit=limit)
    return StoredObservations(patient_id, ids, columns)


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
    try:
        raw = row if isinstance(row, ObservationIn) else None
        if raw is None:
            normalized, errors = normalize_batch([row])
            if errors:
                raise InvalidInputError([Problem(e.field, e.message, e.got) for e in errors])
            (item,) = normalized
        else:
            item = normalize_observation(raw)
    except ObservationError as exc:
        raise InvalidInputError([Problem(exc.field, exc.message, exc.got)]) from None
    if window is not None:
        window.check({"effective_at": item.effective_at})
    _require_patient(session, patient_id)
    return repo.add_observation(session, actor, _store_item(patient_id, item))


def _require_patient(session: Session, patient_id: int) -> None:
    """NotFoundError naming `patient_id`, after taking the audit lock (repo's rule)."""
    audit.lock_chain(session)
    if session.scalar(select(Patient.id).where(Patient.id == patient_id)) is None:
        raise NotFoundError("patient", patient_id, "patient_id")


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
