"""Cohort biomarker outcomes on hand-built patients: indices from paired punctures, the
paired Wilcoxon signed-rank test (Wilcoxon 1945; scipy), OCB conversion, MRI activity-free
proportions, titre readings and timed-test confirmed worsening."""

from __future__ import annotations

import math

import pytest

from neurocart.cohort.biomarkers import (
    biomarker_outcomes,
    index_changes,
    mri_activity_free,
    ocb_conversion,
    timed_changes,
    titre_course,
    with_indices,
)

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


def test_mri_activity_free_at_12_and_24_months() -> None:
    b = Builder()
    for sid, t2 in [("A", 0), ("B", 2), ("C", 0)]:
        b.patient(sid, "ms")
        b.event(sid, "mri", -20, details={"new_or_enlarging_t2": 5, "gd_enhancing": 1})
        b.event(sid, "mri", 180, details={"new_or_enlarging_t2": t2, "gd_enhancing": 0})
        b.event(sid, "mri", 365, details={"new_or_enlarging_t2": 0, "gd_enhancing": 0})
    b.event("C", "mri", 730, details={"new_or_enlarging_t2": 0, "gd_enhancing": 1})
    table = mri_activity_free(b.frames()).set_index(["group", "month"])
    at12 = table.loc[("All", 12)]
    assert (at12["n"], at12["activity_free"]) == (3, 2)  # the pre-infusion scan does not count
    at24 = table.loc[("All", 24)]
    assert (at24["n"], at24["activity_free"]) == (1, 0)
    assert 0 <= at12["ci_low"] < at12["proportion"] < at12["ci_high"] <= 1


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
