"""The tidy in-memory shape of a cohort: seven pandas DataFrames with fixed columns and dtypes.

The simulator produces a `CohortFrames`, the store exports one, and kinetics, cohort and
reports consume it, so this module is the contract between them (SCHEMA below). Column
order and dtypes are exact so that `pd.testing.assert_frame_equal` can compare frames from
any producer; `conform` casts a producer's columns to them and `validate` says what differs.

Dtypes: text is pandas' `str` (missing = NaN, test with `pd.isna`), nullable integers are
`Int64`, instants are `datetime64[us, UTC]` (NaT when not reached), `diagnosis_date` and the
study records' dates hold `datetime.date`, lists and dicts are `object`. Study day =
floor((t - infusion_at) / 1 day); a record dated without a time (an MRI scan, a
nerve-conduction study) is on study day (date - infusion date).

The study records (`mri_scans`, `ncs_studies`) carry the store's structured reads as entered
(counts, volumes, per-nerve values with the lab's limits); a producer without them leaves
them empty.

    >>> frames = CohortFrames.empty()
    >>> frames.validate()
    >>> list(frames.observations.columns)
    ['study_id', 'code', 'value', 'unit', 'specimen', 'effective_at']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from neurocart import studyday

STR = pd.StringDtype(storage="python", na_value=np.nan)
"""Text: pandas' NaN-missing string dtype (the default `str` of pandas 3, explicit on 2.3)."""
INSTANT = "datetime64[us, UTC]"

SCHEMA: dict[str, dict[str, Any]] = {
    "patients": {
        "study_id": STR,
        "site": STR,
        "sex": STR,
        "birth_year": "int64",
        "diagnosis": STR,
        "subtype": STR,
        "diagnosis_date": "object",
        "prior_therapies": "object",
    },
    "courses": {
        "study_id": STR,
        "product": STR,
        "target": STR,
        "dose_cells_per_kg": "float64",
        "ld_regimen": STR,
        "protocol_id": STR,
        "enrolment_at": INSTANT,
        "apheresis_at": INSTANT,
        "ld_start_at": INSTANT,
        "infusion_at": INSTANT,
    },
    "observations": {
        "study_id": STR,
        "code": STR,
        "value": "float64",
        "unit": STR,
        "specimen": STR,
        "effective_at": INSTANT,
    },
    "assessments": {
        "study_id": STR,
        "instrument": STR,
        "inputs": "object",
        "value": "float64",
        "label": STR,
        "effective_at": INSTANT,
    },
    "events": {
        "study_id": STR,
        "type": STR,
        "onset_at": INSTANT,
        "end_at": INSTANT,
        "grade": "Int64",
        "term": STR,
        "drug": STR,
        "details": "object",
    },
    "mri_scans": {
        "study_id": STR,
        "scan_date": "object",
        "comparator_date": "object",
        "region": STR,
        "field_strength_t": "float64",
        "contrast_given": "bool",
        "new_t2_lesions": "Int64",
        "enlarging_t2_lesions": "Int64",
        "gd_enhancing_lesions": "Int64",
        "t2_lesion_volume_ml": "float64",
        "brain_volume_ml": "float64",
        "pbvc_percent": "float64",
    },
    "ncs_studies": {
        "study_id": STR,
        "study_date": "object",
        "lab": STR,
        "nerves": "object",
        "sensory_nerves": "object",
    },
}

CHOICES: dict[tuple[str, str], frozenset[str]] = {
    ("patients", "sex"): frozenset({"female", "male"}),
    ("patients", "diagnosis"): frozenset({"ms", "nmosd", "mg", "imnm", "cidp"}),
    # "other" is for vital signs (no specimen), as in the store's Specimen enum.
    ("observations", "specimen"): frozenset({"blood", "csf", "serum", "other"}),
    ("mri_scans", "region"): frozenset({"brain", "spinal_cord", "optic_nerve"}),
}

# Columns that must never be missing (the rest may be NaN / NaT / <NA> / None).
REQUIRED: dict[str, tuple[str, ...]] = {
    "patients": ("study_id", "site", "sex", "birth_year", "diagnosis", "diagnosis_date"),
    "courses": ("study_id", "product", "target", "protocol_id"),
    "observations": ("study_id", "code", "value", "unit", "specimen", "effective_at"),
    "assessments": ("study_id", "instrument", "inputs", "value", "label", "effective_at"),
    "events": ("study_id", "type", "onset_at"),
    "mri_scans": ("study_id", "scan_date", "region", "contrast_given"),
    "ncs_studies": ("study_id", "study_date", "nerves", "sensory_nerves"),
}


class FramesError(ValueError):
    """A frame breaks the contract; `problems` lists every breach as "table.column: what"."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def empty_frame(table: str) -> pd.DataFrame:
    """A zero-row frame of `table` with the contract's columns and dtypes."""
    return pd.DataFrame({c: pd.Series(dtype=d) for c, d in SCHEMA[table].items()})


def conform(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Return `frame` with the contract's column order and dtypes (a copy; index reset).

    Naive datetimes are rejected rather than guessed to be UTC; aware ones are converted.
    Raises FramesError naming missing columns or columns that cannot be cast.
    """
    schema = SCHEMA[table]
    missing = [c for c in schema if c not in frame.columns]
    if missing:
        raise FramesError([f"{table}.{c}: missing column" for c in missing])
    out: dict[str, Any] = {}
    problems: list[str] = []
    for column, dtype in schema.items():
        series = frame[column].reset_index(drop=True)
        try:
            out[column] = _cast(series, dtype)
        except (TypeError, ValueError) as exc:
            problems.append(f"{table}.{column}: cannot be read as {dtype} ({exc})")
    if problems:
        raise FramesError(problems)
    return pd.DataFrame(out)


def _cast(series: pd.Series, dtype: Any) -> pd.Series:
    if dtype == INSTANT:
        if not isinstance(series.dtype, pd.DatetimeTZDtype):
            if pd.api.types.is_datetime64_dtype(series.dtype):
                raise ValueError("naive datetimes; timestamps must be timezone-aware")
            if series.notna().any():
                series = pd.to_datetime(series, utc=False)
                if not isinstance(series.dtype, pd.DatetimeTZDtype):
                    raise ValueError("naive datetimes; timestamps must be timezone-aware")
            else:
                return pd.Series(pd.NaT, index=series.index, dtype=INSTANT)
        converted: pd.Series = series.dt.tz_convert("UTC")
        return converted.astype(pd.api.types.pandas_dtype(INSTANT))
    return series.astype(pd.api.types.pandas_dtype(dtype))


@dataclass(frozen=True, slots=True)
class Selection:
    """Which rows of the fact tables a calculation reads: observations of `codes`, assessments
    of `instruments`, events of `event_types`."""

    codes: frozenset[str]
    instruments: frozenset[str]
    event_types: frozenset[str]

    def covers(self, other: Selection) -> bool:
        """Whether every row `other` reads is among these."""
        return (
            other.codes <= self.codes
            and other.instruments <= self.instruments
            and other.event_types <= self.event_types
        )


@dataclass(frozen=True, slots=True)
class Partial:
    """What a cohort read for an analysis kept of the fact tables, and the one thing the
    analysis needs of what it left out.

    A hospital network's record holds millions of vital signs, nursing scores and drug
    administrations that no table of the analysis reads; follow-up still ends at the latest
    fact, which may be one of them. So the store reads only the rows of `selection`, and
    `latest` gives each patient's latest observation, assessment or event of any kind
    (computed by the database), both as of the cut-off `until` (the end of its day,
    `outcomes.patient.cutoff_instant`; None = no cut-off): the frames are then for that
    cut-off only (`outcomes.patient.restrict` refuses another).
    """

    selection: Selection
    latest: pd.Series
    """Latest fact time (INSTANT) by study_id, of the patients with a fact."""
    until: pd.Timestamp | None


@dataclass(frozen=True, slots=True)
class CohortFrames:
    """One cohort as seven tidy tables (see the module docstring for columns and dtypes).

    `partial` is set when the fact tables hold only some of their rows (`Partial`).
    """

    patients: pd.DataFrame
    courses: pd.DataFrame
    observations: pd.DataFrame
    assessments: pd.DataFrame
    events: pd.DataFrame
    mri_scans: pd.DataFrame = field(default_factory=lambda: empty_frame("mri_scans"))
    ncs_studies: pd.DataFrame = field(default_factory=lambda: empty_frame("ncs_studies"))
    partial: Partial | None = None

    @classmethod
    def empty(cls) -> CohortFrames:
        empty: dict[str, Any] = {name: empty_frame(name) for name in SCHEMA}
        return cls(**empty)

    @classmethod
    def conformed(cls, *, partial: Partial | None = None, **tables: pd.DataFrame) -> CohortFrames:
        """Build from raw tables, casting each with `conform`; absent tables are empty."""
        frames: dict[str, Any] = {
            name: conform(name, tables[name]) if name in tables else empty_frame(name)
            for name in SCHEMA
        }
        return cls(**frames, partial=partial)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {name: getattr(self, name) for name in SCHEMA}

    def problems(self) -> list[str]:
        """Every breach of the contract, empty when the frames conform."""
        found: list[str] = []
        for table, frame in self.tables().items():
            schema = SCHEMA[table]
            if list(frame.columns) != list(schema):
                found.append(f"{table}: columns {list(frame.columns)} != {list(schema)}")
                continue
            for column, dtype in schema.items():
                got = frame[column].dtype
                if got != pd.api.types.pandas_dtype(dtype):
                    found.append(f"{table}.{column}: dtype {got}, expected {dtype}")
            for column in REQUIRED[table]:
                n = int(frame[column].isna().sum())
                if n:
                    found.append(f"{table}.{column}: {n} missing values")
            for (t, column), allowed in CHOICES.items():
                if t == table:
                    bad = sorted(set(frame[column].dropna()) - allowed)
                    if bad:
                        found.append(f"{table}.{column}: unexpected values {bad[:5]}")
        return found

    def validate(self) -> None:
        """Raise FramesError listing every breach of the contract."""
        found = self.problems()
        if found:
            raise FramesError(found)


def study_day(at: pd.Series, infusion_at: pd.Series) -> pd.Series:
    """Study day of each instant (`neurocart.studyday`: the site's calendar day), Int64."""
    return studyday.study_days(at, infusion_at)


__all__ = [
    "CHOICES",
    "INSTANT",
    "REQUIRED",
    "SCHEMA",
    "CohortFrames",
    "FramesError",
    "Partial",
    "Selection",
    "conform",
    "empty_frame",
    "study_day",
]
