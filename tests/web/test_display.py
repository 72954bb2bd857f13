"""How the pages write numbers."""

from __future__ import annotations

import pytest

from neurocart.web.templating import measured


@pytest.mark.parametrize(
    ("value", "shown"),
    [(36.8, "36.8"), (13.0, "13"), (1838.0, "1838"), (0.004, "0.004"),
     (70.72000000000001, "70.72"), (-0.0, "0"), (None, "—")],
)  # fmt: skip
def test_a_measured_value_is_shown_as_recorded(value: float | None, shown: str) -> None:
    """No invented precision (36.80 °C, 13.00 /min) and no conversion noise."""
    assert measured(value) == shown
