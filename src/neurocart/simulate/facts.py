"""Column accumulators: facts are added as numpy chunks and become DataFrames once.

Building one Python object per observation would cap the simulator at a few patients per
second; here a chunk is (patient indices, values, times) plus scalar code/unit/specimen, and
`build` concatenates, cuts at each patient's horizon and splits at `now` in a few numpy calls.
Times are int64 microseconds since the epoch (UTC).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from neurocart.frames import INSTANT, SCHEMA, STR, conform, empty_frame
from neurocart.studyday import local_date

IntArr = npt.NDArray[np.int64]
FloatArr = npt.NDArray[np.float64]
US_PER_HOUR = 3_600_000_000
US_PER_DAY = 24 * US_PER_HOUR
NAT = np.iinfo(np.int64).min

# code → (unit, default specimen); canonical units as in neurocart.ingest.codes.
CODES: dict[str, tuple[str, str]] = {
    "8310-5": ("°C", "other"),
    "8867-4": ("/min", "other"),
    "8480-6": ("mmHg", "other"),
    "8462-4": ("mmHg", "other"),
    "59408-5": ("%", "other"),
    "9279-1": ("/min", "other"),
    "1988-5": ("mg/L", "serum"),
    "2276-4": ("µg/L", "serum"),
    "26881-3": ("ng/L", "serum"),
    "751-8": ("×10⁹/L", "blood"),
    "777-3": ("×10⁹/L", "blood"),
    "718-7": ("g/L", "blood"),
    "731-0": ("×10⁹/L", "blood"),
    "6690-2": ("×10⁹/L", "blood"),
    "2532-0": ("U/L", "serum"),
    "2160-0": ("µmol/L", "serum"),
    "2465-3": ("g/L", "serum"),
    "3255-7": ("g/L", "blood"),
    "1742-6": ("U/L", "serum"),
    "1920-8": ("U/L", "serum"),
    "2157-6": ("U/L", "serum"),
    "local:cd19_b_cells": ("cells/µL", "blood"),
    "local:cart_copies_blood": ("copies/µg DNA", "blood"),
    "local:cart_copies_csf": ("copies/µg DNA", "csf"),
    # results of the care protocol's tasks (simulate/protocol.py)
    "1975-2": ("µmol/L", "serum"),
    "10230-1": ("%", "other"),
    "local:autoantibody_titer": ("titer", "serum"),
    "5196-1": ("{result}", "serum"),
    "16933-4": ("{result}", "serum"),
    "16128-1": ("{result}", "serum"),
    "local:hiv_ag_ab": ("{result}", "serum"),
    "local:syphilis_ab": ("{result}", "serum"),
    "local:tb_igra": ("{result}", "blood"),
    "2106-3": ("{result}", "other"),
    "local:pregnancy_test": ("{result}", "other"),
    "local:hbv_dna": ("IU/mL", "serum"),
    "local:cmv_dna": ("IU/mL", "blood"),
    "local:ebv_dna": ("IU/mL", "blood"),
    # CSF/serum proteins, oligoclonal bands and timed tests (simulate.biomarkers)
    "1751-7": ("g/L", "serum"),
    "1746-7": ("mg/L", "csf"),
    "2464-6": ("mg/L", "csf"),
    "local:kflc_serum": ("mg/L", "serum"),
    "local:kflc_csf": ("mg/L", "csf"),
    "local:lflc_serum": ("mg/L", "serum"),
    "local:lflc_csf": ("mg/L", "csf"),
    "49852-7": ("{bands}", "csf"),
    "local:ocb_identical_bands": ("{bands}", "csf"),
    "local:t25fw": ("s", "other"),
    "local:nhpt": ("s", "other"),
    "local:sdmt": ("{score}", "other"),
    # single-cell readouts (simulate.single_cell)
    "local:sc_car_pct_t_blood": ("%", "blood"),
    "local:sc_car_pct_t_csf": ("%", "csf"),
    "local:sc_car_csf_blood_ratio": ("{ratio}", "csf"),
    "local:sc_b_cell_pct_blood": ("%", "blood"),
    "local:sc_b_cell_pct_csf": ("%", "csf"),
    "local:sc_plasma_cell_pct_blood": ("%", "blood"),
    "local:sc_plasma_cell_pct_csf": ("%", "csf"),
    "local:sc_expanded_clone_pct_blood": ("%", "blood"),
    "local:sc_expanded_clone_pct_csf": ("%", "csf"),
    "local:sc_csf_blood_clone_overlap": ("%", "csf"),
}


def _flat(a: Any, n: int, dtype: Any) -> npt.NDArray[Any]:
    arr = np.asarray(a, dtype=dtype).ravel()
    return np.broadcast_to(arr, (n,)) if arr.size == 1 and n != 1 else arr


@dataclass
class Facts:
    """The growing observation, assessment and event columns of one simulated cohort."""

    obs: list[tuple[IntArr, str, FloatArr, IntArr]] = field(default_factory=list)
    assessments: list[tuple[IntArr, str, list[dict[str, Any]], FloatArr, Any, IntArr]] = field(
        default_factory=list
    )
    events: list[dict[str, Any]] = field(default_factory=list)
    records: dict[str, list[tuple[IntArr, IntArr, list[dict[str, Any]]]]] = field(
        default_factory=dict
    )
    """Study records by frames table (``mri_scans``, ``ncs_studies``): (patient indices, times,
    the record's fields other than the study ID and its date)."""

    def record(self, table: str, pid: Any, t_us: Any, values: list[dict[str, Any]]) -> None:
        """Add study records of one table, dated by `t_us` (the date of that instant, UTC)."""
        t = np.asarray(t_us, dtype=np.int64).ravel()
        if t.size:
            self.records.setdefault(table, []).append((_flat(pid, t.size, np.int64), t, values))

    def observe(self, pid: Any, code: str, value: Any, t_us: Any) -> None:
        """Add observations of one code; arrays of equal shape (2-D grids are flattened)."""
        t = np.asarray(t_us, dtype=np.int64).ravel()
        n = t.size
        if n:
            self.obs.append(
                (_flat(pid, n, np.int64), code, _flat(value, n, np.float64).astype(float), t)
            )

    def assess(
        self, pid: Any, instrument: str, inputs: list[dict[str, Any]], graded: pd.DataFrame,
        t_us: Any,
    ) -> None:  # fmt: skip
        t = np.asarray(t_us, dtype=np.int64).ravel()
        if t.size:
            self.assessments.append(
                (
                    _flat(pid, t.size, np.int64),
                    instrument,
                    inputs,
                    graded["value"].to_numpy(dtype=float),
                    graded["label"].to_numpy(dtype=object),
                    t,
                )
            )

    def event(
        self,
        pid: Any,
        type_: str,
        onset_us: Any,
        end_us: Any = NAT,
        *,
        grade: Any = None,
        term: Any = None,
        drug: Any = None,
        details: list[dict[str, Any]] | dict[str, Any] | None = None,
    ) -> None:
        """Add events of one type; scalars broadcast; NAT (int64 min) end means no end."""
        onset = np.asarray(onset_us, dtype=np.int64).ravel()
        n = onset.size
        if not n:
            return
        if isinstance(details, dict) or details is None:
            details = [dict(details or {}) for _ in range(n)]
        self.events.append(
            {
                "pid": _flat(pid, n, np.int64),
                "type": type_,
                "onset": onset,
                "end": _flat(end_us, n, np.int64),
                "grade": _flat(np.nan if grade is None else grade, n, np.float64),
                "term": _flat(term, n, object),
                "drug": _flat(drug, n, object),
                "details": details,
            }
        )


def _instant(us: IntArr) -> pd.Series:
    out = pd.Series(us.astype("datetime64[us]")).dt.tz_localize("UTC")
    return out.astype(pd.api.types.pandas_dtype(INSTANT))


def _str(values: npt.NDArray[Any]) -> pd.Series:
    return pd.Series(values, dtype=STR)


def _cut(pid: IntArr, t: IntArr, horizon: IntArr, now: int, future: bool) -> npt.NDArray[np.bool_]:
    alive = t <= horizon[pid]
    return alive & (t > now) if future else alive & (t <= now)


def build_observations(
    facts: Facts, ids: npt.NDArray[Any], horizon: IntArr, now: int, future: bool
) -> pd.DataFrame:
    """The observations frame from the drawn facts, up to `now` (or after it when `future`), ordered
    by patient, time and code."""
    if not facts.obs:
        return empty_frame("observations")
    pid = np.concatenate([c[0] for c in facts.obs])
    t = np.concatenate([c[3] for c in facts.obs])
    value = np.concatenate([c[2] for c in facts.obs])
    codes = [c[1] for c in facts.obs]
    code_idx = np.repeat(np.arange(len(codes)), [c[0].size for c in facts.obs])
    keep = _cut(pid, t, horizon, now, future)
    pid, t, value, code_idx = pid[keep], t[keep], value[keep], code_idx[keep]
    order = np.lexsort((code_idx, t, pid))
    pid, t, value, code_idx = pid[order], t[order], value[order], code_idx[order]
    code_arr = np.array(codes, dtype=object)
    unit_arr = np.array([CODES[c][0] for c in codes], dtype=object)
    spec_arr = np.array([CODES[c][1] for c in codes], dtype=object)
    return pd.DataFrame(
        {
            "study_id": _str(ids[pid]),
            "code": _str(code_arr[code_idx]),
            "value": pd.Series(value, dtype="float64"),
            "unit": _str(unit_arr[code_idx]),
            "specimen": _str(spec_arr[code_idx]),
            "effective_at": _instant(t),
        }
    )


def build_assessments(
    facts: Facts, ids: npt.NDArray[Any], horizon: IntArr, now: int, future: bool
) -> pd.DataFrame:
    """The assessments frame from the drawn facts, with their calculator inputs and results, cut at
    `now` like the observations."""
    chunks = facts.assessments
    if not chunks:
        return empty_frame("assessments")
    pid = np.concatenate([c[0] for c in chunks])
    t = np.concatenate([c[5] for c in chunks])
    value = np.concatenate([c[3] for c in chunks])
    label = np.concatenate([c[4] for c in chunks])
    inputs = np.empty(pid.size, dtype=object)
    inputs[:] = [d for c in chunks for d in c[2]]
    names = np.array([c[1] for c in chunks], dtype=object)
    name_idx = np.repeat(np.arange(len(chunks)), [c[0].size for c in chunks])
    keep = _cut(pid, t, horizon, now, future)
    order = np.flatnonzero(keep)[np.lexsort((name_idx[keep], t[keep], pid[keep]))]
    return pd.DataFrame(
        {
            "study_id": _str(ids[pid[order]]),
            "instrument": _str(names[name_idx[order]]),
            "inputs": pd.Series(inputs[order], dtype=object),
            "value": pd.Series(value[order], dtype="float64"),
            "label": _str(label[order]),
            "effective_at": _instant(t[order]),
        }
    )


RECORD_DATE = {"mri_scans": "scan_date", "ncs_studies": "study_date"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def us_date(t_us: int) -> date:
    """The date on the site's clock (a record dated without a time, as the ward writes it) of
    an instant in microseconds since the epoch."""
    return local_date(_EPOCH + timedelta(microseconds=int(t_us)))


def build_records(
    facts: Facts, table: str, ids: npt.NDArray[Any], horizon: IntArr, now: int, future: bool
) -> pd.DataFrame:
    """A study-record frame (`mri_scans` or `ncs_studies`), cut at `now` like the events."""
    chunks = facts.records.get(table)
    if not chunks:
        return empty_frame(table)
    pid = np.concatenate([c[0] for c in chunks])
    t = np.concatenate([c[1] for c in chunks])
    values = [v for c in chunks for v in c[2]]
    keep = _cut(pid, t, horizon, now, future)
    order = np.flatnonzero(keep)[np.lexsort((t[keep], pid[keep]))]
    rows = [
        {"study_id": ids[pid[i]], RECORD_DATE[table]: us_date(t[i]), **values[i]} for i in order
    ]
    return conform(table, pd.DataFrame(rows, columns=list(SCHEMA[table])))


def build_events(
    facts: Facts, ids: npt.NDArray[Any], horizon: IntArr, now: int, future: bool
) -> pd.DataFrame:
    """Events with onset in the window; an end after `now` (or the horizon) becomes NaT."""
    chunks = facts.events
    cols = {k: np.concatenate([c[k] for c in chunks]) for k in ("pid", "onset", "end", "grade")}
    types = np.concatenate([np.full(c["pid"].size, c["type"], dtype=object) for c in chunks])
    term = np.concatenate([c["term"] for c in chunks])
    drug = np.concatenate([c["drug"] for c in chunks])
    details = np.empty(cols["pid"].size, dtype=object)
    details[:] = [d for c in chunks for d in c["details"]]
    pid, onset, end = cols["pid"], cols["onset"], cols["end"]
    keep = _cut(pid, onset, horizon, now, future)
    limit = horizon[pid] if future else np.minimum(horizon[pid], now)
    end = np.where((end != NAT) & (end > limit), NAT, end)
    order = np.flatnonzero(keep)[np.lexsort((onset[keep], pid[keep]))]
    end_o = end[order]
    end_series = _instant(np.where(end_o == NAT, 0, end_o))
    end_series[end_o == NAT] = pd.NaT
    grade = cols["grade"][order]
    return pd.DataFrame(
        {
            "study_id": _str(ids[pid[order]]),
            "type": _str(types[order]),
            "onset_at": _instant(onset[order]),
            "end_at": end_series,
            "grade": pd.arrays.IntegerArray(np.nan_to_num(grade).astype(np.int64), np.isnan(grade)),
            "term": _str(term[order]),
            "drug": _str(drug[order]),
            "details": pd.Series(details[order], dtype=object),
        }
    )
