"""The record as a cohort: the tidy frames of neurocart.frames, from current rows.

    with db.reading() as session:
        frames = export_frames(session, site="ERL")

Only current facts are exported (not superseded, not retracted). A handful of bulk SELECTs,
one per table, whatever the number of patients; timestamps are parsed by pandas in one
vectorized pass rather than row by row. Rows are ordered by study ID, then time, then id.

Mapping from the store (`neurocart.frames` names ← store columns): courses.ld_regimen ←
lymphodepletion; courses.*_at ← `TreatmentCourse.anchor_times` (dates at 00:00 UTC, the
infusion at its recorded instant when known); events.term ← ctcae_term; events.details ←
details plus ``dose`` and ``unit`` when the event records a dose. Values the contract does not
list (sex "other"/"unknown", diagnosis "other") are exported as stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import BigInteger, Integer, Select, String, cast, func, select, type_coerce
from sqlalchemy.orm import Session

from neurocart.frames import INSTANT, SCHEMA, CohortFrames
from neurocart.store.errors import StoreError
from neurocart.store.models import (
    Assessment,
    ClinicalEvent,
    MriScan,
    NerveConductionStudy,
    Observation,
    Patient,
    TreatmentCourse,
)
from neurocart.store.repo import current

_INSTANT = pd.api.types.pandas_dtype(INSTANT)
assert str(_INSTANT) == INSTANT


class ExportError(StoreError):
    """The record cannot be exported as the frames contract demands (names the rows)."""


def _raw(column: Any) -> Any:
    """The column as the driver returns it (no per-row SQLAlchemy processing)."""
    return type_coerce(column, String()).label(column.key)


def _instant(session: Session, column: Any) -> Any:
    """A timestamp column in the form that parses fastest: on PostgreSQL microseconds since
    the epoch (an integer, not a datetime object per row), on SQLite its naive UTC text."""
    if session.get_bind().dialect.name == "postgresql":
        micros = func.extract("epoch", column) * 1_000_000
        return type_coerce(cast(func.round(micros), BigInteger), Integer()).label(column.key)
    return _raw(column)


def _select_frame(session: Session, query: Select[Any], columns: Sequence[str]) -> pd.DataFrame:
    """The query's rows as a frame of object columns, read straight from the driver's cursor.

    SQLAlchemy's Row objects and pandas' type inference per cell would cost more than the
    query on millions of rows; only the columns whose type converts driver values (JSON text,
    dates on SQLite) go through their type's result processor, once per value.
    """
    connection = session.connection()
    dialect = connection.dialect
    result = connection.execute(query)
    try:
        cursor = result.cursor
        codes = [d[1] for d in cursor.description]  # the DB-API type of each column
        processors = [
            c.type.dialect_impl(dialect).result_processor(dialect, code)
            for c, code in zip(query.selected_columns, codes, strict=True)
        ]
        rows = cursor.fetchall()
    finally:
        result.close()
    data: dict[str, Any] = {}
    by_column = zip(*rows, strict=True) if rows else ([] for _ in columns)
    for name, values, process in zip(columns, by_column, processors, strict=True):
        cells = np.empty(len(rows), dtype=object)
        cells[:] = list(map(process, values)) if process is not None else values
        data[name] = cells
    return pd.DataFrame(data, columns=list(columns))


def _instants(series: pd.Series) -> pd.Series:
    """Driver timestamps (SQLite: naive UTC text; PostgreSQL: epoch microseconds) → UTC."""
    present = series.notna().to_numpy()
    if not present.any():
        return pd.Series(pd.NaT, index=series.index, dtype=INSTANT)
    first = series[present].iloc[0]
    if isinstance(first, int | np.integer):
        micros = np.zeros(len(series), dtype=np.int64)
        micros[present] = series[present].to_numpy(dtype=np.int64)
        stamps = micros.astype("datetime64[us]")
        stamps[~present] = np.datetime64("NaT")
        return pd.Series(stamps, index=series.index).dt.tz_localize("UTC").astype(_INSTANT)
    parsed = pd.to_datetime(series, utc=True, format="ISO8601" if isinstance(first, str) else None)
    return parsed.astype(_INSTANT)


def _by_site(query: Select[Any], site: str | None) -> Select[Any]:
    return query if site is None else query.where(Patient.site == site)


def _patients(session: Session, site: str | None) -> pd.DataFrame:
    columns = [
        "study_id",
        "site",
        "sex",
        "birth_year",
        "diagnosis",
        "subtype",
        "diagnosis_date",
        "prior_therapies",
    ]
    query = select(
        Patient.study_id,
        Patient.site,
        _raw(Patient.sex),
        Patient.birth_year,
        _raw(Patient.diagnosis),
        Patient.subtype,
        Patient.diagnosis_date,
        Patient.prior_therapies,
    ).order_by(Patient.study_id)
    frame = _select_frame(session, _by_site(query, site), columns)
    missing = frame.loc[frame["birth_year"].isna(), "study_id"].tolist()
    if missing:
        shown = ", ".join(missing[:10]) + (" …" if len(missing) > 10 else "")
        raise ExportError(
            f"patients.birth_year: not recorded for {len(missing)} patient(s) ({shown}); "
            "the frames contract needs it for every patient"
        )
    frame["prior_therapies"] = frame["prior_therapies"].map(list)
    return frame


def _courses(session: Session, site: str | None) -> pd.DataFrame:
    query: Select[Any] = (
        select(Patient.study_id, TreatmentCourse)  # type: ignore[assignment]
        .join(Patient, Patient.id == TreatmentCourse.patient_id)
        .order_by(Patient.study_id, TreatmentCourse.id)
    )
    records = []
    for study_id, course in session.execute(_by_site(query, site)):
        anchors = course.anchor_times()
        records.append(
            {
                "study_id": study_id,
                "product": course.product,
                "target": course.target,
                "dose_cells_per_kg": course.dose_cells_per_kg,
                "ld_regimen": course.lymphodepletion,
                "protocol_id": course.protocol_id,
                "enrolment_at": anchors["enrolment"],
                "apheresis_at": anchors["apheresis"],
                "ld_start_at": anchors["ld_start"],
                "infusion_at": anchors["infusion"],
            }
        )
    frame = pd.DataFrame.from_records(records, columns=_columns("courses"))
    for column in ("enrolment_at", "apheresis_at", "ld_start_at", "infusion_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True).astype(_INSTANT)
    return frame


def _columns(table: str) -> list[str]:
    return list(SCHEMA[table])


def _observations(session: Session, site: str | None) -> pd.DataFrame:
    query = (
        select(
            Patient.study_id,
            Observation.code,
            Observation.value,
            Observation.unit,
            _raw(Observation.specimen),
            _instant(session, Observation.effective_at),
        )
        .join(Patient, Patient.id == Observation.patient_id)
        .where(current(Observation))
        .order_by(Patient.study_id, Observation.effective_at, Observation.id)
    )
    frame = _select_frame(session, _by_site(query, site), _columns("observations"))
    frame["effective_at"] = _instants(frame["effective_at"])
    return frame


def _assessments(session: Session, site: str | None) -> pd.DataFrame:
    query = (
        select(
            Patient.study_id,
            Assessment.instrument,
            Assessment.inputs,
            Assessment.value,
            Assessment.label,
            _instant(session, Assessment.effective_at),
        )
        .join(Patient, Patient.id == Assessment.patient_id)
        .where(current(Assessment))
        .order_by(Patient.study_id, Assessment.effective_at, Assessment.id)
    )
    frame = _select_frame(session, _by_site(query, site), _columns("assessments"))
    frame["effective_at"] = _instants(frame["effective_at"])
    return frame


def _details(details: dict[str, Any], dose: Any, unit: Any) -> dict[str, Any]:
    out = dict(details)
    if pd.notna(dose):
        out.setdefault("dose", float(dose))
        if pd.notna(unit):
            out.setdefault("unit", unit)
    return out


def _events(session: Session, site: str | None) -> pd.DataFrame:
    query = (
        select(
            Patient.study_id,
            _raw(ClinicalEvent.type),
            _instant(session, ClinicalEvent.onset_at),
            _instant(session, ClinicalEvent.end_at),
            ClinicalEvent.grade,
            ClinicalEvent.ctcae_term,
            ClinicalEvent.drug,
            ClinicalEvent.details,
            ClinicalEvent.dose,
            ClinicalEvent.dose_unit,
        )
        .join(Patient, Patient.id == ClinicalEvent.patient_id)
        .where(current(ClinicalEvent))
        .order_by(Patient.study_id, ClinicalEvent.onset_at, ClinicalEvent.id)
    )
    names = [*_columns("events"), "dose", "dose_unit"]
    frame = _select_frame(session, _by_site(query, site), names)
    details = zip(frame["details"], frame["dose"], frame["dose_unit"], strict=True)
    frame["details"] = pd.Series(
        [_details(d, dose, unit) for d, dose, unit in details], index=frame.index, dtype=object
    )
    frame["onset_at"] = _instants(frame["onset_at"])
    frame["end_at"] = _instants(frame["end_at"])
    return frame.drop(columns=["dose", "dose_unit"])


def _mri_scans(session: Session, site: str | None) -> pd.DataFrame:
    m = MriScan
    columns = _columns("mri_scans")
    query = (
        select(Patient.study_id, *(getattr(m, c) for c in columns[1:]))
        .join(Patient, Patient.id == m.patient_id)
        .where(current(m))
        .order_by(Patient.study_id, m.scan_date, m.id)
    )
    frame = _select_frame(session, _by_site(query, site), columns)
    frame["region"] = [r.value if hasattr(r, "value") else r for r in frame["region"]]
    frame["contrast_given"] = frame["contrast_given"].astype(bool)
    return frame


def _ncs_studies(session: Session, site: str | None) -> pd.DataFrame:
    n = NerveConductionStudy
    columns = _columns("ncs_studies")
    query = (
        select(Patient.study_id, *(getattr(n, c) for c in columns[1:]))
        .join(Patient, Patient.id == n.patient_id)
        .where(current(n))
        .order_by(Patient.study_id, n.study_date, n.id)
    )
    frame = _select_frame(session, _by_site(query, site), columns)
    for column in ("nerves", "sensory_nerves"):
        frame[column] = pd.Series([list(v or []) for v in frame[column]], dtype=object)
    return frame


def export_frames(session: Session, *, site: str | None = None) -> CohortFrames:
    """The cohort (or one site's patients) as `CohortFrames`, conformed to the contract.

    Raises ExportError when a patient lacks a value the contract cannot do without
    (birth_year); other missing values are exported as missing (NaN / NaT / <NA>).
    """
    return CohortFrames.conformed(
        patients=_patients(session, site),
        courses=_courses(session, site),
        observations=_observations(session, site),
        assessments=_assessments(session, site),
        events=_events(session, site),
        mri_scans=_mri_scans(session, site),
        ncs_studies=_ncs_studies(session, site),
    )
