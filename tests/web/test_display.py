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


def test_a_stored_drug_is_named_in_the_readers_language() -> None:
    from neurocart import i18n
    from neurocart.web.localized import drug

    with i18n.using("zh_CN"):
        assert drug("tocilizumab") == "托珠单抗"
        assert drug("IVIG") == "静脉注射免疫球蛋白（IVIg）"
        assert drug("an unlisted drug") == "an unlisted drug"
    with i18n.using("en"):
        assert drug("g_csf") == "G-CSF"
        assert drug(None) == ""
