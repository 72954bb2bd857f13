"""Cohort biomarker outcomes on hand-built patients: indices from paired punctures, the
paired Wilcoxon signed-rank test (Wilcoxon 1945; scipy), OCB conversion, MRI activity-free
proportions, titre readings and timed-test confirmed worsening."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from neurocart.cohort.biomarkers import (
    biomarker_outcomes,
    index_changes,
    kflc_spider,
    mri_activity_free,
    ocb_conversion,
    spider_figure,
    timed_changes,
    titre_course,
    with_indices,
)
from neurocart.outcomes.mri import scan_activity

from .factory import Builder


def lp(b: Builder, sid: str, day: float, kappa_csf: float, igg_csf: float, bands: int) -> None:
    """One puncture: CSF albumin 250 mg/L, serum albumin 40 g/L (Qalb 6.25), serum IgG 10 g/L,
    serum κFLC 12 mg/L, serum drawn 30 minutes before."""
    b.obs(sid, "1751-7", day - 1 / 48, 40, "serum").obs(sid, "1746-7", day, 250, "csf")
    b.obs(sid, "2465-3", day - 1 / 48, 10, "serum").obs(sid, "2464-6", day, igg_csf, "csf")
    b.obs(sid, "local:kflc_serum", day - 1 / 48, 12, "serum")
    b.obs(sid, "local:kflc_csf", day, kappa_csf, "csf").obs(sid, "49852-7", day, bands, "csf")


@pytest.fixture
def cohort() -> Builder:
    b = Builder()
    for i, (k_after, bands_after) in enumerate([(0.3, 6), (0.6, 0), (1.2, 5)]):
        sid = f"P{i}"
        b.patient(sid, "ms")
        lp(b, sid, -10, 1.2, 60, 6)  # κFLC index 16, IgG index 0.96, OCB type 2
        lp(b, sid, 365, k_after, 40, bands_after)
    b.patient("Q", "ms")
    b.obs("Q", "1746-7", -10, 250, "csf").obs("Q", "local:kflc_csf", -10, 1.2, "csf")  # unpaired
    return b


def test_indices_come_from_paired_punctures_only(cohort: Builder) -> None:
    frames = with_indices(cohort.frames())
    k = frames.observations[frames.observations["code"] == "local:kflc_index"]
    assert sorted(k["value"].round(6)) == [4.0, 8.0, 16.0, 16.0, 16.0, 16.0]
    assert "Q" not in set(k["study_id"])  # a CSF value without its serum pair computes nothing


def test_paired_test_before_after(cohort: Builder) -> None:
    summary, _ = index_changes(with_indices(cohort.frames()))
    row = summary[(summary["group"] == "All") & (summary["measure"] == "kflc_index")].iloc[0]
    assert row["n_paired"] == 3
    assert row["median_before"] == pytest.approx(16.0)
    assert row["median_after"] == pytest.approx(8.0)
    assert row["patients_lower_after"] == 2
    assert 0 < row["wilcoxon_p"] <= 1
    igg = summary[(summary["group"] == "All") & (summary["measure"] == "igg_index")].iloc[0]
    assert igg["median_after"] == pytest.approx(0.64)
    assert not math.isnan(igg["wilcoxon_p"])


def test_ocb_conversion(cohort: Builder) -> None:
    table = ocb_conversion(with_indices(cohort.frames()))
    ms = table[table["group"] == "Multiple sclerosis"].iloc[0]
    assert (ms["csf_specific_before"], ms["followed_up"], ms["converted_to_negative"]) == (3, 3, 1)


def _mri_cohort() -> Builder:
    """Scans by study day (c = comparator day); activity per the `mri_activity` rule."""
    b = Builder()
    for sid in "ABCDEF":
        b.patient(sid, "ms")
    for sid in "GH":
        b.patient(sid, "nmosd")
    b.scan("A", -20, gd=1)  # before the infusion: not counted
    b.scan("A", 180, comparator=-20, new=0, enlarging=0, gd=0)
    b.scan("A", 365, comparator=180, new=0, enlarging=0)
    b.event("A", "mri", 720, details={"task": "fu_mri"})  # an event is not a read: ignored
    b.scan("B", 180, comparator=-20, new=2, enlarging=0)  # active
    b.scan("B", 365, comparator=180, new=0, enlarging=0)
    b.scan("C", 180, comparator=-20, new=0, enlarging=0)
    b.scan("C", 365, comparator=180, new=0, enlarging=0)
    b.scan("C", 730, comparator=365, new=0, enlarging=0, gd=1)  # active in year 2
    b.scan("D", 90, comparator=-20, new=0, enlarging=1)  # first scan after: counted as read
    b.scan("D", 400, comparator=90, new=0, enlarging=0)
    b.scan("D", 730, comparator=400, new=0, enlarging=0)
    b.scan("E", 180, comparator=-20, new=0, enlarging=0)
    b.scan("E", 350)  # no comparator, no contrast: not evaluable, not a follow-up
    b.scan("F", 200, comparator=-20, new=0, enlarging=0)
    b.scan("F", 340, gd=2)  # enhancement needs no comparator: active
    b.scan("F", 720, comparator=340, new=0, enlarging=0)
    for region in ("brain", "spinal_cord"):
        b.scan("G", 365, comparator=0, new=0, enlarging=0, region=region)
        b.scan("G", 730, comparator=365, new=0, enlarging=0, region=region)
    b.scan("H", 180, comparator=-20, new=1, enlarging=0, region="spinal_cord")
    b.scan("H", 380, comparator=180, new=0, enlarging=0)
    return b


def test_scan_activity_is_the_mri_activity_rule() -> None:
    from neurocart.standards import calculate

    scans = _mri_cohort().frames().mri_scans
    read = scan_activity(scans)
    for (_, row), value in zip(scans.iterrows(), read, strict=True):
        inputs = {"scan_date": row["scan_date"].isoformat()}
        if row["comparator_date"] is not None and not pd.isna(row["comparator_date"]):
            inputs["comparator_date"] = row["comparator_date"].isoformat()
            inputs |= {"new_t2_lesions": int(row["new_t2_lesions"]),
                       "enlarging_t2_lesions": int(row["enlarging_t2_lesions"])}  # fmt: skip
        if row["contrast_given"]:
            inputs["gd_enhancing_lesions"] = int(row["gd_enhancing_lesions"])
        assert calculate("mri_activity", inputs).value == value, inputs


def test_mri_activity_free_at_12_and_24_months_from_the_scan_records() -> None:
    table = mri_activity_free(_mri_cohort().frames()).set_index(["group", "month"])
    # month 12 (scans to day 395, an evaluable scan from day 336): free A, C, G; active B, D, F, H;
    # E's last evaluable scan is day 180 (its day-350 scan is not evaluable)
    expected = {
        ("Multiple sclerosis", 12): (5, 2),  # A B C D F
        ("NMOSD", 12): (2, 1),  # G H
        ("All", 12): (7, 3),
        # month 24 (an evaluable scan from day 701): C, D, F active; G free; A's day-720 event
        # is no scan
        ("Multiple sclerosis", 24): (3, 0),
        ("NMOSD", 24): (1, 1),
        ("All", 24): (4, 1),
    }
    got = {k: (int(r["n"]), int(r["activity_free"])) for k, r in table.iterrows()}
    assert {k: got[k] for k in expected} == expected
    assert set(got) == set(expected)
    at12 = table.loc[("All", 12)]
    assert at12["proportion"] == pytest.approx(3 / 7)
    assert table.loc[("All", 24), "proportion"] == pytest.approx(0.25)
    assert table.loc[("Multiple sclerosis", 12), "proportion"] == pytest.approx(0.4)
    # Wilson interval of 3/7 (hand-computed: centre 0.453879, half-width 0.295659)
    assert (at12["ci_low"], at12["ci_high"]) == (pytest.approx(0.158220, abs=1e-6),
                                                 pytest.approx(0.749542, abs=1e-6))  # fmt: skip


def test_mri_events_alone_give_no_mri_table() -> None:
    b = Builder()
    b.patient("A", "ms")
    b.event("A", "mri", 180, details={"new_or_enlarging_t2": 0, "gd_enhancing": 0})
    b.event("A", "mri", 400, details={})
    assert mri_activity_free(b.frames()).empty


def test_titre_course_reads_dilution_steps() -> None:
    b = Builder()
    b.patient("N", "nmosd").obs("N", "local:autoantibody_titer", -5, 640, "serum")
    b.obs("N", "local:autoantibody_titer", 180, 150, "serum")  # read as 160
    course = titre_course(b.frames())
    row = course.iloc[0]
    assert row[["before", "after", "steps", "reading"]].tolist() == [640, 160, -2, "fall"]


def test_timed_tests_confirmed_worsening() -> None:
    b = Builder()
    b.patient("W", "ms")
    for day, value in [(-7, 6.0), (90, 7.4), (180, 7.5), (270, 7.3)]:
        b.obs("W", "local:t25fw", day, value, "other")
    b.patient("S", "ms")
    for day, value in [(-7, 6.0), (90, 6.1), (180, 6.0)]:
        b.obs("S", "local:t25fw", day, value, "other")
    table = timed_changes(b.frames()).set_index("test")
    assert (table.loc["t25fw", "patients_assessed"], table.loc["t25fw", "confirmed_worsening"]) == (
        2, 1)  # fmt: skip


def test_outcomes_bundle_has_tables_and_the_spider(cohort: Builder) -> None:
    tables, figures = biomarker_outcomes(cohort.frames())
    assert {"csf_index_change", "ocb_conversion"} <= set(tables)
    assert "spider_kflc" in figures


def test_the_spider_draws_each_patient_s_change_from_baseline(cohort: Builder) -> None:
    frames = with_indices(cohort.frames())
    changes = kflc_spider(frames)
    # κFLC index 16 before; 4, 8 and 16 a year after (CSF κFLC 0.3, 0.6, 1.2 mg/L)
    assert sorted(changes["pct_change"].round(6)) == [-75.0, -50.0, 0.0]
    figure = spider_figure(changes)
    (ax,) = figure.axes
    drawn = sorted(line.get_ydata()[-1] for line in ax.get_lines()[:-1])  # the last: 0 %
    assert drawn == pytest.approx([-75.0, -50.0, 0.0])
    assert all(line.get_ydata()[0] == 0 for line in ax.get_lines())


def _median(dl: float, cv: float) -> dict[str, object]:
    return {"nerve": "median", "side": "right", "distal_latency_ms": dl,
            "distal_latency_uln_ms": 4.4, "conduction_velocity_m_s": cv,
            "conduction_velocity_lln_m_s": 49.0, "cmap_distal_mv": 6.0,
            "cmap_lln_mv": 4.0}  # fmt: skip


def _ulnar(dl: float, cv: float) -> dict[str, object]:
    return {"nerve": "ulnar", "side": "right", "distal_latency_ms": dl,
            "distal_latency_uln_ms": 3.3, "conduction_velocity_m_s": cv,
            "conduction_velocity_lln_m_s": 49.0, "cmap_distal_mv": 8.0,
            "cmap_lln_mv": 6.0}  # fmt: skip


def test_nerve_conduction_criteria_before_and_after() -> None:
    from neurocart.cohort.biomarkers import ncs_criteria, ncs_velocity

    b = Builder()
    for sid in ("C1", "C2", "C3"):
        b.patient(sid, "cidp")
        b.ncs(sid, -20, [_median(6.6, 40.0), _ulnar(5.0, 40.0)])  # a, a: strongly supportive
    b.ncs("C1", 180, [_median(4.0, 50.0), _ulnar(3.0, 52.0)])  # recovered: not met
    b.ncs("C2", 190, [_median(6.6, 41.0), _ulnar(3.0, 45.0)])  # one nerve: weakly
    b.ncs("C3", 365, [_median(6.8, 39.0), _ulnar(5.1, 38.0)])  # month 12 only: still strong
    table = ncs_criteria(b.frames())
    m6 = table[(table["group"] == "All") & (table["month"] == 6)].iloc[0]
    assert (m6["n_paired"], m6["strongly_supportive_baseline"], m6["met_baseline"]) == (2, 2, 2)
    assert (m6["strongly_supportive_after"], m6["met_after"], m6["no_longer_met"]) == (0, 1, 1)
    m12 = table[(table["group"] == "All") & (table["month"] == 12)].iloc[0]
    assert (m12["n_paired"], m12["strongly_supportive_after"]) == (1, 1)
    cv = ncs_velocity(b.frames()).set_index(["nerve", "month"])
    assert cv.loc[("median", 6), "median_before_m_s"] == 40.0
    assert cv.loc[("median", 6), "median_after_m_s"] == 45.5
    assert cv.loc[("ulnar", 6), "patients_faster_after"] == 2


def test_single_cell_codes_are_listed_and_compared_per_patient() -> None:
    from neurocart.cohort.biomarkers import single_cell_codes, single_cell_readouts

    b = Builder()
    for i, (before, after) in enumerate([(12.0, 0.5), (8.0, 0.0), (15.0, 1.0)]):
        sid = f"S{i}"
        b.patient(sid, "mg")
        b.obs(sid, "local:sc_b_cell_pct_blood", -7, before).obs(
            sid, "local:sc_b_cell_pct_blood", 28, after
        )
    table = single_cell_readouts(b.frames()).set_index("code")
    assert list(table.index) == list(single_cell_codes())
    assert len(table) == 10
    b_cells = table.loc["local:sc_b_cell_pct_blood"]
    assert (b_cells["patients"], b_cells["samples"], b_cells["n_paired"]) == (3, 6, 3)
    assert (b_cells["median_before"], b_cells["median_after"]) == (12.0, 0.5)
    assert b_cells["wilcoxon_p"] == pytest.approx(0.25)  # 3 pairs, exact: 2/2³ at best
    assert b_cells["test"] == "Wilcoxon signed-rank, exact"
    assert "only 3 patient(s)" in b_cells["caveat"]
    assert table.loc["local:sc_car_pct_t_csf", "patients"] == 0
    assert "no samples" in table.loc["local:sc_car_pct_t_csf", "caveat"]
    tables, _ = biomarker_outcomes(b.frames())
    assert "single_cell_readouts" in tables


def test_a_large_paired_comparison_uses_the_normal_approximation_and_says_so() -> None:
    """Beyond EXACT_MAX_PAIRS the exact null distribution costs minutes (the cube of the
    pairs); the approximation's p is within a hair of the exact one at that size."""
    import numpy as np
    import pandas as pd
    from scipy.stats import wilcoxon

    from neurocart.omics.readouts import EXACT_MAX_PAIRS, paired_comparison

    rng = np.random.default_rng(7)
    n = EXACT_MAX_PAIRS + 1
    ids = [f"P{i}" for i in range(n)]
    before = pd.Series(rng.normal(10, 2, n), index=ids)
    after = pd.Series(before.to_numpy() - rng.normal(0.15, 2, n), index=ids)
    c = paired_comparison(before, after, "b", "before", "after")
    assert c.test == "Wilcoxon signed-rank, normal approximation"
    exact = wilcoxon(before, after, method="exact", zero_method="zsplit").pvalue
    assert c.p_value == pytest.approx(exact, rel=0.02)
    small = paired_comparison(before.iloc[:EXACT_MAX_PAIRS], after.iloc[:EXACT_MAX_PAIRS],
                              "b", "before", "after")  # fmt: skip
    assert small.test == "Wilcoxon signed-rank, exact"
