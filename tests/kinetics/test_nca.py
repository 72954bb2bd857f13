"""NCA against hand-computed curves (linear-up/log-down trapezoids, conventions in `nca`)."""

from __future__ import annotations

import math

import pytest

from neurocart.kinetics.nca import auc, interpolate, profile, segment_auc


def test_auc_by_hand_rise_then_fall() -> None:
    # Samples: day 1 = 100, day 7 = 1000, day 14 = 500, day 28 = 125; C(0) = 0 is added.
    #   [0, 1]  rising  → linear (0 + 100)/2 × 1            =    50
    #   [1, 7]  rising  → linear (100 + 1000)/2 × 6         =  3300
    #   [7, 14] falling → log (1000 − 500) × 7 / ln(1000/500) = 3500 / ln 2 ≈ 5049.48
    #   [14,28] falling → log (500 − 125) × 14 / ln(500/125) = 5250 / ln 4 ≈ 3787.02
    expected = 50 + 3300 + 3500 / math.log(2) + 5250 / math.log(4)  # ≈ 12186.51
    p = profile([1, 7, 14, 28], [100, 1000, 500, 125])
    assert p.auc_0_28 == pytest.approx(expected)
    assert p.auc_0_28 == pytest.approx(12186.51, abs=0.01)
    assert p.cmax == 1000
    assert p.tmax_day == 7
    assert p.last_detectable_day == 28
    assert not p.auc_truncated


def test_partial_last_interval_is_interpolated_log_linearly_at_day_28() -> None:
    # Samples day 7 = 1000, day 35 = 125 (falling): C(28) = 1000 × (125/1000)^(21/28)
    #   = 1000 × 8^(−0.75) ≈ 210.22.
    #   [0, 7]  linear (0 + 1000)/2 × 7 = 3500
    #   [7, 28] log (1000 − C28) × 21 / ln(1000 / C28)
    c28 = 1000 * 8 ** (-0.75)
    expected = 3500 + (1000 - c28) * 21 / math.log(
        1000 / c28
    )  # = 3500 + 789.78 × 21 / 1.55958 ≈ 14134.45
    assert interpolate(7, 1000, 35, 125, 28) == pytest.approx(c28)
    area, truncated = auc([7, 35], [1000, 125])
    assert area == pytest.approx(expected)
    assert area == pytest.approx(14134.45, abs=0.01)
    assert truncated is False


def test_partial_rising_interval_is_linear() -> None:
    # Day 20 = 100, day 30 = 300 → C(28) = 100 + 200 × 8/10 = 260 (linear: rising).
    #   [0, 20] linear 100/2 × 20 = 1000; [20, 28] (100 + 260)/2 × 8 = 1440 → 2440.
    area, _ = auc([20, 30], [100, 300])
    assert area == pytest.approx(2440)


def test_profile_ending_before_day_28_is_flagged_truncated() -> None:
    # [0,7] 0→400 linear = 1400; [7,14] 400→100 log = 300×7/ln 4 ≈ 1514.8
    p = profile([7, 14], [400, 100])
    assert p.auc_0_28 == pytest.approx(1400 + 2100 / math.log(4))
    assert p.auc_truncated


def test_blq_values_count_as_zero_and_end_persistence() -> None:
    # LLOQ 10: day 60 value 5 is BLQ → 0. Last detectable = day 28.
    # Segment [14, 28] 200 → 20 is log; [28, 60] ends after day 28 and is not integrated.
    p = profile([0, 14, 28, 60], [0, 200, 20, 5], lloq=10)
    assert p.last_detectable_day == 28
    expected = 200 / 2 * 14 + (200 - 20) * 14 / math.log(10)
    assert p.auc_0_28 == pytest.approx(expected)
    # A BLQ end makes the interval linear (log of 0 is undefined).
    assert segment_auc(0, 50, 2, 0) == pytest.approx(50)


def test_value_at_lloq_is_quantifiable_and_pre_infusion_is_ignored() -> None:
    p = profile([-3, 2.5, 9.9], [999, 10, 10], lloq=10)
    assert p.detected
    assert p.last_detectable_day == 9
    assert p.tmax_day == 2  # the earliest of equal maxima; study day = floor(2.5)
    assert p.n_samples == 2


def test_never_detected_profile() -> None:
    p = profile([7, 14], [1, 2], lloq=10)
    assert not p.detected
    assert p.cmax is None
    assert p.last_detectable_day is None
    assert p.auc_0_28 == 0


def test_replicates_at_one_time_are_averaged() -> None:
    p = profile([7, 7], [100, 300])
    assert p.cmax == 200
