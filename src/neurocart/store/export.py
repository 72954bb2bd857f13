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
list (sex "other"/"unknown", diagnosis "other") are exported as stored. The fact tables are read
column by column (`neurocart.store.columnar`): assessments of the same inputs text share its
parsed dict (the frames' dicts are values to read; whoever edits one copies it first).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any
from typing import cast as typed

import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas.api.extensions import ExtensionArray
from pandas.arrays import DatetimeArray
from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Text,
    cast,
    select,
    sql,
    type_coerce,
)
from sqlalchemy.orm import Session, aliased

from neurocart.frames import INSTANT, SCHEMA, CohortFrames, Partial, Selection
from neurocart.gcpause import paused_cyclic_gc
from neurocart.store.columnar import instant as _instant
from neurocart.store.columnar import (
    integers,
    joined,
    json_values,
    select_columns,
    split_texts,
    texts,
)
from neurocart.store.columnar import naive_utc as _naive_utc
from neurocart.store.errors import StoreError
from neurocart.store.models import (
    Assessment,
    ClinicalEvent,
    MriScan,
    NerveConductionStudy,
    Observation,
    Patient,
    TreatmentCourse,
    anchor_times,
    day_start,
)
from neurocart.store.repo import current

_INSTANT = pd.api.types.pandas_dtype(INSTANT)
assert str(_INSTANT) == INSTANT


class ExportError(StoreError):
    """The record cannot be exported as the frames contract demands (names the rows)."""


def _raw(column: Any) -> Any:
    """The column as the driver returns it (no per-row SQLAlchemy processing)."""
    return type_coerce(column, String()).label(column.key)


def _json_text(column: Any) -> Any:
    """A JSON column as its text, parsed later for the whole column (`columnar.json_values`)."""
    return type_coerce(cast(column, Text), String()).label(column.key)


def _current_rows(session: Session, model: Any) -> ColumnElement[bool]:
    """`repo.current` for reading a whole table. On SQLite the ids of superseded rows as one
    set looked up per row (the same rows; NOT EXISTS probes the supersedes index once per row,
    ~5 s of 8 million observations). PostgreSQL keeps NOT EXISTS: it plans a hash anti-join,
    where NOT IN may become a subquery scanned once per row."""
    if session.get_bind().dialect.name != "sqlite":
        return current(model)
    return _not_superseded(model)


@cache
def _not_superseded(model: Any) -> ColumnElement[bool]:
    successor = aliased(model)
    superseded = select(successor.supersedes_id).where(successor.supersedes_id.is_not(None))
    clause: ColumnElement[bool] = model.id.not_in(superseded) & model.entered_in_error.is_(False)
    return clause


def _select_frame(session: Session, query: Select[Any], columns: Sequence[str]) -> pd.DataFrame:
    """The query's rows as a frame of object columns, read straight from the driver's cursor
    (`columnar.select_columns`: SQLAlchemy's Row objects and pandas' type inference per cell
    would cost more than the query on millions of rows)."""
    return pd.DataFrame(select_columns(session, query, columns), columns=list(columns))


def _instants(series: pd.Series) -> pd.Series:
    """Driver timestamps (SQLite: naive UTC text; PostgreSQL: epoch microseconds) → UTC."""
    return pd.Series(_instant_array(series.to_numpy(dtype=object)), index=series.index)


def _instant_array(values: npt.NDArray[np.object_]) -> DatetimeArray:
    """`_instants` of an object array of driver timestamps."""
    series = pd.Series(values, dtype=object)
    present = series.notna().to_numpy()
    first = series[present].iloc[0] if present.any() else None
    stamps: npt.NDArray[np.datetime64] | None = None
    if first is None:
        stamps = np.full(len(values), np.datetime64("NaT"), "datetime64[us]")
    elif isinstance(first, int | np.integer):
        micros = np.zeros(len(series), dtype=np.int64)
        micros[present] = series[present].to_numpy(dtype=np.int64)
        stamps = micros.astype("datetime64[us]")
        stamps[~present] = np.datetime64("NaT")
    elif isinstance(first, str):
        naive = _naive_utc(values)
        stamps = None if naive is None else naive.astype("datetime64[us]")
    if stamps is not None:
        aware: DatetimeArray = typed(DatetimeArray, pd.array(stamps)).tz_localize("UTC")
        return aware
    parsed = pd.to_datetime(series, utc=True, format="ISO8601" if isinstance(first, str) else None)
    out: DatetimeArray = parsed.astype(_INSTANT).array
    return out


def _by_site(query: Select[Any], site: str | None) -> Select[Any]:
    return query if site is None else query.where(Patient.site == site)


def _patients(session: Session, site: str | None) -> pd.DataFrame:
    """The patients by study ID, with their store id in `patient_id` (dropped on export)."""
    columns = [
        "study_id",
        "site",
        "sex",
        "birth_year",
        "diagnosis",
        "subtype",
        "diagnosis_date",
        "prior_therapies",
        "patient_id",
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
        Patient.id,
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
    c = TreatmentCourse
    names = ["study_id", "product", "target", "dose_cells_per_kg", "ld_regimen", "protocol_id",
             "enrolment_date", "apheresis_date", "ld_start_date", "infusion_date",
             "recorded_infusion_at"]  # fmt: skip
    columns: list[Any] = [c.product, c.target, c.dose_cells_per_kg, c.lymphodepletion,
                          c.protocol_id, c.enrolment_date, c.apheresis_date, c.ld_start_date,
                          c.infusion_date, c.infusion_at]  # fmt: skip
    query: Select[Any] = (
        select(Patient.study_id, *columns)
        .join(Patient, Patient.id == c.patient_id)
        .order_by(Patient.study_id, c.id)
    )
    frame = _select_frame(session, _by_site(query, site), names)
    start = cache(day_start)  # a cohort's courses share few dates
    dates = [frame[n].tolist() for n in names[6:]]
    anchors = [
        anchor_times(enrolment, apheresis, ld_start, infusion, at, start)
        for enrolment, apheresis, ld_start, infusion, at in zip(*dates, strict=True)
    ]
    for column, key in (("enrolment_at", "enrolment"), ("apheresis_at", "apheresis"),
                        ("ld_start_at", "ld_start"), ("infusion_at", "infusion")):  # fmt: skip
        instants = pd.Series([a[key] for a in anchors], index=frame.index, dtype=object)
        frame[column] = pd.to_datetime(instants, utc=True).astype(_INSTANT)
    return frame[_columns("courses")]


def _columns(table: str) -> list[str]:
    return list(SCHEMA[table])


def _facts(
    session: Session,
    model: Any,
    columns: Sequence[Any],
    at: Any,
    site: str | None,
    kind: Any,
    wanted: frozenset[str] | None,
    until: datetime | None,
) -> tuple[Select[Any], bool]:
    """The current rows of a fact table, with id and patient id first, no join to read each
    row's study ID; and whether they come in order of patient id, time and id. `wanted`: only
    the rows whose `kind` (code, instrument, event type) is one of them; `until`: only those
    at or before it (`export_frames`' `only`).

    SQLite reads all the rows in that order from its (patient, time) index (no sort);
    PostgreSQL sorts 8 million rows in ~12 s, numpy in ~1 s, so there they come as stored
    (`_in_study_order` orders them). Of a few kinds SQLite is made to seek each patient's
    rows of each kind in the (patient, kind, time) index rather than walk every row in the
    order of the (patient, time) index (a third of the time on 8 million observations);
    those come by patient and kind, and numpy orders them too (a fifth of the read of a
    million observations in SQLite's sort).
    """
    sqlite = session.get_bind().dialect.name == "sqlite"
    ordered = sqlite and wanted is None
    query = select(model.id, model.patient_id, *columns).where(_current_rows(session, model))
    patients = _by_site(select(Patient.id), site)
    if ordered:  # the id is then not needed: a column less to read
        query = query.with_only_columns(sql.null().label("id"), model.patient_id, *columns)
        query = query.order_by(model.patient_id, at, model.id)
    if site is not None or (sqlite and wanted is not None):
        query = query.where(model.patient_id.in_(patients))
    if wanted is not None:
        query = query.where(kind.in_(sorted(wanted)))
    if until is not None:
        query = query.where(at <= until)
    return query, ordered


def _in_study_order(
    columns: dict[str, Any], patients: pd.DataFrame, at: str, ordered: bool
) -> tuple[npt.NDArray[np.intp], ExtensionArray]:
    """Positions of the rows in order of study ID (the patients' order), time `at` (parsed)
    and id, and each one's study ID (the patients' own text array, taken: no text is made
    or validated again).

    `ordered`: the rows come by patient id, time and id already (only the patients' order
    changes: a stable sort by it). A row whose patient is not among `patients` (registered
    after they were read) is left out.
    """
    store_ids = patients["patient_id"].to_numpy(dtype=np.int64)
    rank = np.full(int(store_ids.max(initial=0)) + 2, -1, dtype=np.intp)
    rank[store_ids] = np.arange(len(store_ids))
    patient_ids = integers(columns["patient_id"])
    position = rank[np.clip(patient_ids, 0, len(rank) - 1)]  # beyond the last: the -1 cell
    known = np.flatnonzero(position >= 0)
    if ordered:
        order = known[np.argsort(position[known], kind="stable")]
    else:
        times = columns[at].asi8[known]
        ids = integers(columns["id"])[known]
        order = known[np.lexsort((ids, times, position[known]))]
    study_ids = patients["study_id"].array.take(position[order])
    return order, study_ids


def _fact_frame(
    columns: dict[str, Any], patients: pd.DataFrame, table: str, at: str, ordered: bool
) -> pd.DataFrame:
    """The contract's columns of `table` from the read arrays, rows in study-ID order."""
    order, study_ids = _in_study_order(columns, patients, at, ordered)
    same = len(order) == len(study_ids) == len(columns[at]) and bool(
        np.all(order == np.arange(len(order)))
    )
    data: dict[str, Any] = {"study_id": study_ids}
    for name in _columns(table)[1:]:
        values = columns[name]
        data[name] = values if same else values[order]
    return pd.DataFrame(data)


def _observations(
    session: Session, site: str | None, patients: pd.DataFrame, only: _Only
) -> pd.DataFrame:
    o = Observation
    at, wanted = _instant(session, o.effective_at), None if only.of is None else only.of.codes
    columns = [joined(o.code, o.unit, o.specimen).label("kinds"), o.value, at]
    query, ordered = _facts(session, o, columns, o.effective_at, site, o.code, wanted, only.until)
    names = ["id", "patient_id", "kinds", "value", "effective_at"]
    read: dict[str, Any] = select_columns(session, query, names)
    parts = split_texts(read.pop("kinds"), 3)
    if parts is None:  # a text holds the separator: read them again, apart
        columns = [o.code, o.value, o.unit, _raw(o.specimen), at]
        query, ordered = _facts(session, o, columns, o.effective_at, site, o.code, wanted,
                                only.until)  # fmt: skip
        read = select_columns(session, query, ["id", "patient_id", *_columns("observations")[1:]])
        parts = [texts(read[name]) for name in ("code", "unit", "specimen")]
    read["code"], read["unit"], read["specimen"] = parts
    read["value"] = read["value"].astype(np.float64)
    read["effective_at"] = _instant_array(read["effective_at"])
    return _fact_frame(read, patients, "observations", "effective_at", ordered)


def _latest_facts(
    session: Session, site: str | None, patients: pd.DataFrame, until: datetime | None
) -> pd.Series:
    """Each patient's latest current observation, assessment or event (at or before `until`),
    by study ID, found by the database rather than by reading every row.

    Both walk each table's (patient, time) index back from its end, one probe per patient
    and table (~0.3 s a table of 8 million rows). PostgreSQL does so once it has statistics
    of the tables (autovacuum's ANALYZE); without them it plans a scan of all the patient's
    rows (~1 ms a patient), and a grouped scan of each table is no faster (it hashes every
    row for `current`, then sorts them all: ~5 s on 8 million).
    """
    tables: list[tuple[str, Any, Any]] = [
        ("observation", Observation, Observation.effective_at),
        ("assessment", Assessment, Assessment.effective_at),
        ("event", ClinicalEvent, ClinicalEvent.onset_at),
    ]
    query = select(Patient.id)
    for name, model, at in tables:
        rows = [_current_rows(session, model)] + ([] if until is None else [at <= until])
        probe = select(at).where(model.patient_id == Patient.id, *rows).order_by(at.desc()).limit(1)
        latest = probe.correlate(Patient).scalar_subquery().label(name)
        query = query.add_columns(_instant(session, latest))
    names = ["patient_id", "observation", "assessment", "event"]
    frame = _select_frame(session, _by_site(query, site), names)
    study_ids = patients.set_index("patient_id")["study_id"]
    known = study_ids.reindex(frame["patient_id"].to_numpy()).notna().to_numpy()
    frame = frame[known].reset_index(drop=True)  # one registered after `patients`: left out
    ticks = np.column_stack([_instants(frame[name]).array.asi8 for name in names[1:]])
    last = ticks.max(axis=1, initial=np.iinfo(np.int64).min)  # NaT is the least of them
    index = pd.Index(
        study_ids.reindex(frame["patient_id"].to_numpy()).to_numpy(dtype=object),
        dtype=patients["study_id"].dtype,
        name="study_id",
    )
    stamps = pd.Series(last.view("datetime64[us]"), index=index, name="latest")
    out: pd.Series = stamps.dt.tz_localize("UTC").astype(_INSTANT)
    return out[out.notna()].sort_index()


@dataclass(frozen=True)
class _Only:
    """The rows of a partial read (`export_frames`' `only` and `until`)."""

    of: Selection | None
    until: datetime | None


def _assessments(
    session: Session, site: str | None, patients: pd.DataFrame, only: _Only
) -> pd.DataFrame:
    a = Assessment
    columns = [a.instrument, _json_text(a.inputs), a.value, a.label,
               _instant(session, a.effective_at)]  # fmt: skip
    wanted = None if only.of is None else only.of.instruments
    at = a.effective_at
    query, ordered = _facts(session, a, columns, at, site, a.instrument, wanted, only.until)
    names = ["id", "patient_id", *_columns("assessments")[1:]]
    read: dict[str, Any] = select_columns(session, query, names)
    read["instrument"] = texts(read["instrument"])
    read["label"] = texts(read["label"])
    read["inputs"] = json_values(read["inputs"])
    read["value"] = read["value"].astype(np.float64)
    read["effective_at"] = _instant_array(read["effective_at"])
    return _fact_frame(read, patients, "assessments", "effective_at", ordered)


def _details(details: dict[str, Any], dose: Any, unit: Any) -> dict[str, Any]:
    out = dict(details)
    if pd.notna(dose):
        out.setdefault("dose", float(dose))
        if pd.notna(unit):
            out.setdefault("unit", unit)
    return out


def _events(
    session: Session, site: str | None, patients: pd.DataFrame, only: _Only
) -> pd.DataFrame:
    e = ClinicalEvent
    columns = [
        _raw(e.type),
        _instant(session, e.onset_at),
        _instant(session, e.end_at),
        e.grade,
        e.ctcae_term,
        e.drug,
        _json_text(e.details),
        e.dose,
        e.dose_unit,
    ]
    wanted = None if only.of is None else only.of.event_types
    query, ordered = _facts(session, e, columns, e.onset_at, site, e.type, wanted, only.until)
    names = ["id", "patient_id", *_columns("events")[1:], "dose", "dose_unit"]
    read: dict[str, Any] = select_columns(session, query, names)
    for name in ("type", "term", "drug"):
        read[name] = texts(read[name])
    details = zip(json_values(read["details"]), read["dose"], read["dose_unit"], strict=True)
    read["details"] = np.fromiter(
        (_details(d, dose, unit) for d, dose, unit in details),
        dtype=object,
        count=len(read["details"]),
    )
    read["onset_at"] = _instant_array(read["onset_at"])
    read["end_at"] = _instant_array(read["end_at"])
    return _fact_frame(read, patients, "events", "onset_at", ordered)


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


def export_frames(
    session: Session,
    *,
    site: str | None = None,
    only: Selection | None = None,
    until: datetime | None = None,
) -> CohortFrames:
    """The cohort (or one site's patients) as `CohortFrames`, conformed to the contract.

    `only`: of the observations, assessments and events, only the rows it selects, at or
    before `until` (an aware instant, the end of a cut-off day; None = all), with each
    patient's latest fact of any kind (`CohortFrames.partial`): what an analysis reads
    (`neurocart.cohort.analysis.selection`), not what an export needs. `until` is only for such a
    read (else ValueError).

    Raises ExportError when a patient lacks a value the contract cannot do without
    (birth_year); other missing values are exported as missing (NaN / NaT / <NA>).
    """
    if until is not None and only is None:
        raise ValueError("until: only for a partial read (only=)")
    rows = _Only(only, until)
    with paused_cyclic_gc():  # millions of row tuples, none in a cycle
        patients = _patients(session, site)
        partial = None
        if only is not None:
            latest = _latest_facts(session, site, patients, until)
            stamp = None if until is None else pd.Timestamp(until).tz_convert("UTC")
            partial = Partial(only, latest, stamp)
        return CohortFrames.conformed(
            patients=patients.drop(columns=["patient_id"]),
            courses=_courses(session, site),
            observations=_observations(session, site, patients, rows),
            assessments=_assessments(session, site, patients, rows),
            events=_events(session, site, patients, rows),
            mri_scans=_mri_scans(session, site),
            ncs_studies=_ncs_studies(session, site),
            partial=partial,
        )
