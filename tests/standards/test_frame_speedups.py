"""The frame machinery's shortcuts give exactly what the plain operations give.

Choice columns carry integer codes (comparison and table lookup over the codes), and labels
are formatted once per distinct value; both must be indistinguishable from the row-by-row
result, including at rounding ties and for cells that are not valid.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from neurocart.standards import CalculatorInputError, calculate_frame
from neurocart.standards._labels import by_format, by_integer
from neurocart.standards.frame import ChoiceArray, lookup

CHOICES = ("none", "focal", "diffuse")


def test_choice_array_compares_by_code_and_holds_the_names() -> None:
    column = ChoiceArray(np.array([0, 2, -1, 1], dtype=np.intp), CHOICES)
    assert column.tolist() == ["none", "diffuse", None, "focal"]
    assert (column == "diffuse").tolist() == [False, True, False, False]
    assert (column != "none").tolist() == [False, True, True, True]
    assert not (column == "not a choice").any()
    sliced = column[1:]
    assert (sliced == "focal").tolist() == [False, False, True]


def test_lookup_on_codes_and_on_plain_arrays_agree() -> None:
    table = {"focal": 3, "diffuse": 4}
    codes = np.array([0, 1, 2, 2, -1], dtype=np.intp)
    coded = lookup(ChoiceArray(codes, CHOICES), table)
    plain = lookup(np.array(["none", "focal", "diffuse", "diffuse", None], dtype=object), table)
    assert coded.tolist() == plain.tolist() == [0, 3, 4, 4, 0]
    assert lookup(np.asarray("focal", dtype=object), table).tolist() == 3


def test_categorical_and_text_columns_validate_alike() -> None:
    rows = pd.DataFrame({"ice_score": [10.0, 4.0, 0.0], "cerebral_edema": ["none", "focal", None]})
    as_text = calculate_frame("icans", rows)
    rows["cerebral_edema"] = rows["cerebral_edema"].astype("category")
    assert calculate_frame("icans", rows).equals(as_text)


def test_a_bad_choice_is_still_named() -> None:
    rows = pd.DataFrame({"ice_score": [10.0, 10.0], "cerebral_edema": ["none", "everywhere"]})
    with pytest.raises(CalculatorInputError) as caught:
        calculate_frame("icans", rows)
    assert caught.value.problems[0].field == "cerebral_edema"
    assert caught.value.problems[0].row == 1


def test_a_boolean_among_integer_points_is_refused() -> None:
    row = {"talking": 0, "chewing": 0, "swallowing": 0, "breathing": 0, "eye_closure": 0,
           "ptosis": 0, "double_vision": 0, "neck_flexion": 0, "shoulder_abduction": 0,
           "hip_flexion": 0}  # fmt: skip
    rows = pd.DataFrame([row, {**row, "ptosis": True}], dtype=object)
    with pytest.raises(CalculatorInputError) as caught:
        calculate_frame("mg_composite", rows)
    assert caught.value.problems[0].field == "ptosis"


@pytest.mark.parametrize(
    "value", [0.0, 1.235, 2.675, 0.125, 999.5, 999.4999999, 99.95, 1e-5, -1.5, math.inf, math.nan]
)
@pytest.mark.parametrize("template", ["%.3g", "ARR %.2f"])
def test_by_format_matches_percent_formatting_at_ties(value: float, template: str) -> None:
    assert by_format([value, value], template).tolist() == [template % value] * 2


@given(st.lists(st.floats(allow_nan=False, width=64), min_size=1, max_size=50))
def test_by_format_matches_percent_formatting(values: list[float]) -> None:
    for template in ("%.3g", "ARR %.2f"):
        assert by_format(values, template).tolist() == [template % v for v in values]


@given(st.lists(st.integers(-(10**9), 10**9), min_size=1, max_size=50))
def test_by_integer_matches_formatting(values: list[int]) -> None:
    assert by_integer(values, lambda v: f"total {v}").tolist() == [f"total {v}" for v in values]


_CELLS = st.one_of(
    st.sampled_from(["none", "focal", "diffuse", "Focal", " none", ""]),
    st.text(alphabet="nodef ", max_size=4),  # equal texts held by distinct objects
    st.sampled_from([None, math.nan, pd.NA, True, False, 1, 0, 1.0, 0.0, np.str_("none")]),
)


@given(st.lists(_CELLS, max_size=80))
def test_factorize_of_a_choice_column_is_pandas_factorize(cells: list[object]) -> None:
    from neurocart.standards.frame import _factorize

    series = pd.Series(cells, dtype=object)
    codes, uniques = _factorize(series)
    expected_codes, expected_uniques = pd.factorize(series, use_na_sentinel=True)
    assert codes.tolist() == expected_codes.tolist()
    assert len(uniques) == len(expected_uniques)
    for got, expected in zip(uniques, expected_uniques, strict=True):
        assert type(got) is type(expected)
        assert got == expected


def test_factorize_with_many_distinct_objects_is_pandas_factorize() -> None:
    from neurocart.standards.frame import _factorize

    # more distinct objects than the scan handles: each text built anew, some repeated
    cells = ["".join(["site", str(i % 50)]) for i in range(400)] + [None, math.nan] * 10
    series = pd.Series(cells, dtype=object, index=range(1000, 1420))
    codes, uniques = _factorize(series)
    expected_codes, expected_uniques = pd.factorize(series, use_na_sentinel=True)
    assert codes.tolist() == expected_codes.tolist()
    assert uniques.tolist() == expected_uniques.tolist()


def test_every_bad_choice_column_is_named_with_its_first_row() -> None:
    rows = pd.DataFrame(
        {
            "ice_score": [10.0] * 4,
            "consciousness": ["normal", "normal", "asleep", "asleep"],
            "seizure": ["none", None, "none", "many"],
            "cerebral_edema": ["none", "".join(["no", "ne"]), "none", "none"],
        },
        index=[7, 8, 9, 10],
    )
    with pytest.raises(CalculatorInputError) as caught:
        calculate_frame("icans", rows)
    found = {(p.field, p.row) for p in caught.value.problems}
    assert found == {("consciousness", 9), ("seizure", 10)}
