"""Exact binomial CIs and effect sizes against known values."""

from __future__ import annotations

import math

import pytest

from neurocart.cohort import clopper_pearson, odds_ratio, standardized_mean_difference


def test_clopper_pearson_known_values() -> None:
    # 0/10: upper = 1 − 0.025^(1/10) = 0.30850; 10/10: lower = 0.025^(1/10) = 0.69150.
    assert clopper_pearson(0, 10) == pytest.approx((0.0, 1 - 0.025 ** (1 / 10)))
    assert clopper_pearson(10, 10) == pytest.approx((0.025 ** (1 / 10), 1.0))
    # 5/10: 0.18709–0.81291 (tables of exact binomial limits, e.g. Geigy Scientific Tables).
    low, high = clopper_pearson(5, 10)
    assert low == pytest.approx(0.18709, abs=1e-5)
    assert high == pytest.approx(0.81291, abs=1e-5)
    # 83 % of 100 (the headline figure): 0.7418–0.8977.
    low, high = clopper_pearson(83, 100)
    assert (low, high) == pytest.approx((0.74182, 0.89766), abs=1e-4)
    assert all(math.isnan(x) for x in clopper_pearson(0, 0))


def test_odds_ratio_with_woolf_ci_and_zero_cell() -> None:
    ratio, low, high = odds_ratio(10, 5, 5, 10)
    se = math.sqrt(1 / 10 + 1 / 5 + 1 / 5 + 1 / 10)  # = √0.6
    assert ratio == pytest.approx(4.0)
    assert low == pytest.approx(math.exp(math.log(4) - 1.959964 * se), rel=1e-6)
    assert high == pytest.approx(math.exp(math.log(4) + 1.959964 * se), rel=1e-6)
    # A zero cell adds 0.5 everywhere: (5.5 × 3.5) / (0.5 × 2.5) = 15.4
    assert odds_ratio(5, 0, 2, 3)[0] == pytest.approx(15.4)


def test_standardized_mean_difference() -> None:
    # means 2 and 4, sample variances 1 and 1 → pooled SD 1 → SMD −2.
    assert standardized_mean_difference([1, 2, 3], [3, 4, 5]) == pytest.approx(-2.0)
    assert math.isnan(standardized_mean_difference([1], [2, 3]))
