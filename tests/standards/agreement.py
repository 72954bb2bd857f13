"""Shared check that a calculator's vectorized path agrees with its scalar path."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from neurocart.standards import calculate, calculate_frame


def assert_frame_agrees(name: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Grade `rows` one by one and as one frame; value and label must match on every row.

    Rows may omit optional fields; the frame then carries an empty cell there.
    """
    frame = pd.DataFrame(list(rows))
    graded = calculate_frame(name, frame)
    assert list(graded.index) == list(frame.index)
    for position, row in enumerate(rows):
        expected = calculate(name, row)
        got_value = graded["value"].iloc[position]
        if isinstance(expected.value, float):
            assert math.isclose(float(got_value), expected.value, rel_tol=1e-12), (row, got_value)
        else:
            assert got_value == expected.value, (row, got_value, expected)
        assert graded["label"].iloc[position] == expected.label, (row, graded.iloc[position])
