"""Which assessment is read at a time point (`outcomes.patient._at`, `_baseline`): the bisect
over a patient's days picks what the plain scan over all of them picks."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from neurocart.outcomes import definitions as d
from neurocart.outcomes.patient import _at, _baseline, _Series


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
