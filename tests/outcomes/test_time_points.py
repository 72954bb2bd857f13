"""Which assessment is read at a time point (`outcomes.patient._at`, `_baseline`): the bisect
over a patient's days picks what the plain scan over all of them picks; and the one-pass
latest fact per patient (`_latest`) is the groupby's."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from neurocart.frames import STR
from neurocart.outcomes import definitions as d
from neurocart.outcomes.patient import _at, _baseline, _latest, _Series

T0 = pd.Timestamp("2025-01-01", tz="UTC")


def _scan_at(days: np.ndarray, t: int | None, end_day: float) -> int | None:
    post = np.flatnonzero((days > 0) & (days <= end_day))
    if len(post) == 0:
        return None
    if t is None:
        return int(post[-1])
    distance = np.abs(days[post] - t)
    best = int(np.argmin(distance))
    return int(post[best]) if distance[best] <= d.VISIT_WINDOW_DAYS else None


def _scan_baseline(days: np.ndarray) -> int | None:
    idx = np.flatnonzero((days <= 0) & (days >= -d.BASELINE_WINDOW_DAYS))
    return int(idx[-1]) if len(idx) else None


@given(
    st.lists(st.integers(-200, 900), max_size=25),
    st.one_of(st.none(), st.integers(-50, 900)),
    st.floats(-10, 1000),
)
def test_the_bisect_reads_what_the_scan_reads(days: list[int], t: int | None, end: float) -> None:
    ordered = np.array(sorted(days), dtype=np.int64)  # by time: study days never decrease
    series = _Series(ordered, ordered.astype(float) * 0.5, [])
    assert _at(series, t, end) == _scan_at(ordered, t, end)
    value, index = _baseline(series)
    assert index == _scan_baseline(ordered)
    assert value == (None if index is None else float(series.values[index]))


@given(st.lists(st.tuples(st.sampled_from(["A", "B", "C"]), st.integers(0, 5) | st.none())),
       st.booleans())  # fmt: skip
def test_the_latest_fact_per_patient_is_groupby_s(
    rows: list[tuple[str, int | None]], runs: bool
) -> None:
    if runs:  # the store's order: patient by patient
        rows = sorted(rows, key=lambda r: r[0])
    frame = pd.DataFrame({
        "study_id": pd.array([r[0] for r in rows], dtype=STR),
        "at": pd.Series([None if r[1] is None else T0 + pd.Timedelta(days=r[1]) for r in rows],
                        dtype="datetime64[us, UTC]"),
    })  # fmt: skip
    expected = frame.groupby("study_id")["at"].max()
    pd.testing.assert_series_equal(_latest(frame, "at"), expected, check_exact=True)
