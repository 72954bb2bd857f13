"""The cohort analysis of a seeded 500-patient cohort is the recorded one (`tests.cohort.golden`).

Speed-ups of `analyse` and of what it calls must not change a single table.
"""

from __future__ import annotations

import pytest

from tests.cohort import golden


@pytest.mark.slow
def test_the_analysis_is_the_recorded_one() -> None:
    found = golden.differences(golden.load(), golden.snapshot())
    assert not found, "\n".join(found[:40])


def test_the_comparison_sees_a_changed_cell() -> None:
    table = {"columns": ["a", "b"], "dtypes": ["int64", "float64"], "rows": [[1, 0.5], [2, None]]}
    recorded = {"n_patients": 2, "figures": [], "cox": None, "tables": {"t": table},
                "figure_values": {}}  # fmt: skip
    assert golden.differences(recorded, recorded) == []
    moved = {**table, "rows": [[1, 0.5 * (1 + 1e-6)], [2, None]]}
    assert golden.differences(recorded, {**recorded, "tables": {"t": moved}}) == [
        "tables.t.b row 0: 0.5000005 != 0.5"
    ]
    typed = {**table, "rows": [[1.0, 0.5], [2, None]]}
    found = golden.differences(recorded, {**recorded, "tables": {"t": typed}})
    assert found == ["tables.t.a row 0: 1.0 != 1"]
