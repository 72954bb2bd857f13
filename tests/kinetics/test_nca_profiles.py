"""`nca.profiles` (all profiles at once) equals `nca.profile` (one at a time), entry by entry.

The cohort's kinetics table is computed by `profiles`; `profile` is the reference, checked
by hand in test_nca.py. Equality is exact: the same floating-point steps in the same order.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurocart.kinetics.nca import AUC_END_DAYS, Profile, profile, profiles

TIMES = st.one_of(
    st.sampled_from([0.0, 1.0, 7.0, 14.0, 27.5, 28.0, 35.0, -1.0, math.nan]),
    st.floats(-3, 60, allow_nan=False),
)
VALUES = st.one_of(
    st.sampled_from([0.0, 5.0, 10.0, 1000.0, math.nan, -1.0]),
    st.floats(0, 5000, allow_nan=False),
)
SAMPLES = st.lists(st.tuples(TIMES, VALUES), max_size=12)


def _entry(found: object, index: int) -> Profile:
    def value(name: str) -> float | None:
        x = float(getattr(found, name)[index])
        return None if math.isnan(x) else x

    def day(name: str) -> int | None:
        x = value(name)
        return None if x is None else int(x)

    return Profile(
        n_samples=int(found.n_samples[index]),  # type: ignore[attr-defined]
        cmax=value("cmax"),
        tmax_day=day("tmax_day"),
        auc_0_28=value("auc_0_28"),
        auc_truncated=bool(found.auc_truncated[index]),  # type: ignore[attr-defined]
        last_detectable_day=day("last_detectable_day"),
        detected=bool(found.detected[index]),  # type: ignore[attr-defined]
    )


def _check(groups: list[list[tuple[float, float]]], lloq: float, end: float) -> None:
    # the profiles' samples interleaved (the first of each, then the second, ...): any order
    # across profiles; within one the given order, in which replicates are summed
    rows = sorted(
        ((k, g, t, c) for g, samples in enumerate(groups) for k, (t, c) in enumerate(samples)),
        key=lambda r: (r[0], r[1]),
    )
    found = profiles([r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows],
                     len(groups), lloq=lloq, end=end)  # fmt: skip
    for g, samples in enumerate(groups):
        expected = profile([t for t, _ in samples], [c for _, c in samples], lloq=lloq, end=end)
        assert _entry(found, g) == expected, (g, samples)


@settings(max_examples=300, deadline=None)
@given(st.lists(SAMPLES, min_size=1, max_size=6), st.sampled_from([0.0, 10.0]))
def test_every_profile_is_the_one_profile_gives(
    groups: list[list[tuple[float, float]]], lloq: float
) -> None:
    _check(groups, lloq, AUC_END_DAYS)


@pytest.mark.parametrize("end", [AUC_END_DAYS, 7.0, 0.0])
def test_hand_cases(end: float) -> None:
    groups = [
        [(1, 100), (7, 1000), (14, 500), (28, 125)],  # the hand-computed curve of test_nca
        [(7, 1000), (35, 125)],  # interpolated (log) at day 28
        [(0, 5), (3, 50), (3, 70), (10, 0), (40, 20)],  # replicates, a BLQ, past the end
        [(-2, 10), (math.nan, 5)],  # nothing after the infusion
        [],  # no sample at all
        [(28, 100)],  # a single sample exactly at the end
        [(2, 3), (5, 4)],  # never quantifiable (LLOQ 10)
    ]
    _check(groups, 10.0, end)
    _check(groups, 0.0, end)


def test_the_samples_may_come_in_any_order() -> None:
    found = profiles([1, 0, 1, 0], [14, 7, 1, 1], [500, 1000, 100, 100], 2)
    assert _entry(found, 0) == profile([1, 7], [100, 1000])
    assert _entry(found, 1) == profile([1, 14], [100, 500])
