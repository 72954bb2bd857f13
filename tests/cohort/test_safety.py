"""Toxicity tables: worst grade per patient from events and assessments; ICAHT from the ANC."""

from __future__ import annotations

from neurocart.cohort import toxicity_table, worst_grades
from tests.cohort.factory import Builder


def test_worst_grades_and_incidence() -> None:
    b = Builder().patient("A", "mg").patient("B", "ms").patient("C", "cidp")
    b.event("A", "adverse_event", 2, grade=1, term="crs")
    b.assess("A", "crs", 3, 2)  # the graded assessment is worse than the event
    b.event("A", "infection", 40, grade=3)
    b.event("B", "adverse_event", -2, grade=2, term="crs")  # before infusion: not counted
    b.event("B", "adverse_event", 6, grade=1, term="icans")
    # A: ANC ≤ 0.5 on days 0–9 (10 days, then recovered) → early ICAHT grade 2 (7–13 days).
    for day in range(0, 31):
        b.obs("A", "751-8", day, 0.3 if day < 10 else 2.0)
    for day in range(0, 31, 3):
        b.obs("B", "751-8", day, 3.0)
    worst = worst_grades(b.frames()).set_index("study_id")
    assert worst.loc["A", "CRS"] == 2
    assert worst.loc["A", "Infection"] == 3
    assert worst.loc["B", "CRS"] == 0
    assert worst.loc["B", "ICANS"] == 1
    assert worst.loc["A", "ICAHT"] == 2
    assert worst.loc["B", "ICAHT"] == 0
    assert worst["ICAHT"].isna().sum() == 1  # C has no ANC: not evaluable
    table = toxicity_table(worst.reset_index()).set_index("toxicity")
    assert table.loc["CRS", "n_any"] == 1
    assert table.loc["CRS", "grade_2"] == 1
    assert table.loc["ICAHT", "n_patients"] == 2
    assert table.loc["Infection", "n_grade_3_plus"] == 1
    assert table.loc["ICANS", "pct_any"] == 33.3
