"""Kinetics from tidy frames: one row per patient × compartment, CSF/blood pairing, B cells, IgG."""

from __future__ import annotations

import math

import pytest

from neurocart.kinetics import b_cell_aplasia, cart_samples, csf_blood_pairs, igg_nadir, kinetics
from tests.cohort.factory import Builder


def _frames():  # type: ignore[no-untyped-def]
    b = Builder().patient("P1", "ms").patient("P2", "mg")
    for day, value in ((1, 100), (7, 1000), (14, 500), (28, 125)):
        b.obs("P1", "local:cart_copies_blood", day, value)
    b.obs("P1", "local:cart_copies_csf", 7.2, 50, "csf")  # pairs with blood day 7 (0.2 d apart)
    b.obs("P1", "local:cart_copies_csf", 21, 5, "csf")  # no blood within ±1 day → no pair
    b.obs("P2", "local:cart_copies_blood", 10, 2000)
    for day, value in ((-5, 150), (14, 2), (60, 4), (120, 40)):
        b.obs("P1", "local:cd19_b_cells", day, value)
    b.obs("P2", "local:cd19_b_cells", 30, 3)
    for day, value in ((-5, 10.0), (30, 7.0), (90, 5.0), (180, 8.0)):
        b.obs("P1", "2465-3", day, value, "serum")
    return b.frames()


def test_one_row_per_patient_and_compartment() -> None:
    f = _frames()
    table = kinetics(f.observations, f.courses, lloq=10)
    assert list(zip(table["study_id"], table["compartment"], strict=True)) == [
        ("P1", "blood"),
        ("P1", "csf"),
        ("P2", "blood"),
    ]
    blood = table.iloc[0]
    assert blood["auc_0_28"] == pytest.approx(50 + 3300 + 3500 / math.log(2) + 5250 / math.log(4))
    assert blood["cmax"] == 1000
    assert blood["tmax_day"] == 7
    csf = table.iloc[1]
    # CSF 50 on day 7.2 vs blood 1000 on day 7: ratio 0.05; the day-21 CSF has no blood pair.
    assert csf["csf_blood_ratio_median"] == pytest.approx(0.05)
    assert csf["n_matched_pairs"] == 1
    # CSF day 21 value 5 is below the LLOQ of 10: persistence ends on day 7.
    assert csf["last_detectable_day"] == 7


def test_pairs_respect_the_tolerance() -> None:
    f = _frames()
    samples = cart_samples(f.observations, f.courses)
    assert len(csf_blood_pairs(samples, lloq=10, tolerance_days=1)) == 1
    assert len(csf_blood_pairs(samples, lloq=10, tolerance_days=7)) == 2


def test_b_cell_aplasia_and_reconstitution() -> None:
    f = _frames()
    table = b_cell_aplasia(f.observations, f.courses, threshold=10).set_index("study_id")
    # P1: < 10 from day 14, ≥ 10 again on day 120 → 106 days.
    assert table.loc["P1", "aplasia_onset_day"] == 14
    assert table.loc["P1", "reconstitution_day"] == 120
    assert table.loc["P1", "aplasia_duration_days"] == 106
    # P2: one sample below the threshold, not reconstituted (censored at the last sample).
    assert not table.loc["P2", "reconstituted"]
    assert table.loc["P2", "aplasia_duration_days"] == 0


def test_igg_nadir() -> None:
    f = _frames()
    row = igg_nadir(f.observations, f.courses).set_index("study_id").loc["P1"]
    assert row["igg_baseline"] == 10.0
    assert row["igg_nadir"] == 5.0
    assert row["igg_nadir_day"] == 90
    assert row["igg_fall_pct"] == pytest.approx(50.0)
