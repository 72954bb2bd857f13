"""The calculator framework: registry, validation of one input and of a frame, the contract.

Expected values here are the framework's own contract (neurocart's convention, described in
docs/calculators.md "Using them"): unknown fields are errors, errors name the field and the
expected range, nothing is graded from invalid input.
"""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import neurocart.standards
from neurocart.standards import (
    MODULES,
    REGISTRY,
    CalculatorInputError,
    NotVectorizedError,
    UnknownCalculatorError,
    calculate,
    calculate_frame,
    get,
)
from neurocart.standards.fields import field_specs

TOXICITY = {
    "crs",
    "ice",
    "icans",
    "ctcae_lab",
    "icaht",
    "car_hematotox",
    "iec_hs",
    "easix",
    "m_easix",
}
OUTCOMES = {
    "edss",
    "disability_change",
    "neda3",
    "arr",
    "mg_adl",
    "qmg",
    "mg_composite",
    "imacs_tis",
    "incat",
    "mrc_sum",
}
EASIX_ROW = {"ldh_u_l": 250.0, "creatinine_umol_l": 88.42, "platelets_10e9_l": 100.0}


FRAMEWORK = {"csf_limits", "errors", "fields", "frame", "inputs", "reason", "registry", "result"}
"""The modules of neurocart.standards that hold no instrument (nor do its `_` helpers)."""


def test_every_contract_calculator_is_registered() -> None:
    assert set(REGISTRY) >= TOXICITY | OUTCOMES


def test_the_registry_table_names_each_module_and_what_it_registers() -> None:
    """MODULES, written out so that listing the calculators imports none, says which module
    registers each one: every instrument module is in it, with exactly the names it
    registers, and nothing else is."""
    instruments = sorted(
        m.name
        for m in pkgutil.iter_modules(neurocart.standards.__path__)
        if m.name not in FRAMEWORK and not m.name.startswith("_")
    )
    assert sorted(set(MODULES.values())) == instruments
    for name in REGISTRY:  # every one loaded, each from its own module
        assert REGISTRY[name].function.__module__ == f"neurocart.standards.{MODULES[name]}"
    assert list(REGISTRY) == list(MODULES)


def test_listing_the_calculators_imports_none_of_them() -> None:
    code = (
        "import sys\n"
        "from neurocart.standards import REGISTRY, get\n"
        "names = sorted(REGISTRY)\n"
        "assert 'crs' in REGISTRY and len(names) == len(set(names))\n"
        "loaded = [m for m in sys.modules if m.startswith('neurocart.standards.')]\n"
        "assert not {'neurocart.standards.edss', 'neurocart.standards.easix'} & set(loaded)\n"
        "assert 'numpy' not in sys.modules, 'numpy'\n"
        "assert get('m_easix').name == 'm_easix' and 'neurocart.standards.easix' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_calculator_names_its_source(name: str) -> None:
    calc = REGISTRY[name]
    assert calc.title
    assert len(calc.citation) > 20
    module = importlib.import_module(calc.function.__module__)
    assert module.__doc__ is not None
    assert len(module.__doc__) > 100, "module docstring must name the publication"
    for spec in field_specs(calc.input_model):
        assert spec.description, f"{name}.{spec.name} has no description"


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_input_model_forbids_unknown_fields(name: str) -> None:
    with pytest.raises(CalculatorInputError) as info:
        calculate(name, {"no_such_field": 1})
    assert "no_such_field" in info.value.fields


def test_unknown_calculator_lists_the_known_ones() -> None:
    with pytest.raises(UnknownCalculatorError, match="easix"):
        get("nope")


def test_error_names_field_expected_range_and_value() -> None:
    with pytest.raises(CalculatorInputError) as info:
        calculate("easix", {**EASIX_ROW, "platelets_10e9_l": -5.0})
    problem = info.value.problems[0]
    assert problem.field == "platelets_10e9_l"
    assert "> 0" in problem.message
    assert "×10⁹/L" in problem.message
    assert problem.got == -5.0


def test_wrong_type_is_an_error_not_a_coercion() -> None:
    with pytest.raises(CalculatorInputError) as info:
        calculate("easix", {**EASIX_ROW, "ldh_u_l": "250"})
    assert info.value.fields == ["ldh_u_l"]


def test_missing_required_field_is_named() -> None:
    with pytest.raises(CalculatorInputError) as info:
        calculate("easix", {"ldh_u_l": 250.0, "platelets_10e9_l": 100.0})
    assert info.value.fields == ["creatinine_umol_l"]


def test_input_must_be_a_mapping() -> None:
    with pytest.raises(CalculatorInputError):
        calculate("easix", [1, 2, 3])  # type: ignore[arg-type]


def test_result_carries_calculator_and_citation() -> None:
    result = calculate("easix", EASIX_ROW)
    assert result.calculator == "easix"
    assert result.citation == REGISTRY["easix"].citation


def test_frame_keeps_index_and_grades_every_row() -> None:
    frame = pd.DataFrame([EASIX_ROW, {**EASIX_ROW, "ldh_u_l": 500.0}], index=[10, 20])
    graded = calculate_frame("easix", frame)
    assert list(graded.index) == [10, 20]
    assert graded["value"].tolist() == pytest.approx([2.5, 5.0])


def test_frame_unknown_column_is_an_error() -> None:
    frame = pd.DataFrame([{**EASIX_ROW, "extra": 1}])
    with pytest.raises(CalculatorInputError) as info:
        calculate_frame("easix", frame)
    assert "extra" in info.value.fields


def test_frame_out_of_range_names_first_row_and_count() -> None:
    frame = pd.DataFrame(
        [EASIX_ROW, {**EASIX_ROW, "ldh_u_l": -1.0}, {**EASIX_ROW, "ldh_u_l": -2.0}]
    )
    with pytest.raises(CalculatorInputError) as info:
        calculate_frame("easix", frame)
    problem = info.value.problems[0]
    assert (problem.field, problem.row, problem.got) == ("ldh_u_l", 1, -1.0)
    assert "2 rows" in problem.message


def test_frame_text_in_number_column_is_an_error() -> None:
    frame = pd.DataFrame(
        {
            "ldh_u_l": ["250", "abc"],
            "creatinine_umol_l": [88.0, 88.0],
            "platelets_10e9_l": [100, 100],
        }
    )
    with pytest.raises(CalculatorInputError) as info:
        calculate_frame("easix", frame)
    assert info.value.problems[0].got == "abc"


def test_frame_empty_required_cell_is_an_error() -> None:
    frame = pd.DataFrame(
        {
            "ldh_u_l": [250.0, np.nan],
            "creatinine_umol_l": [88.0, 88.0],
            "platelets_10e9_l": [100, 100],
        }
    )
    with pytest.raises(CalculatorInputError) as info:
        calculate_frame("easix", frame)
    assert info.value.problems[0].field == "ldh_u_l"
    assert info.value.problems[0].row == 1


def test_series_calculators_refuse_frames() -> None:
    series_calculators = [n for n, c in REGISTRY.items() if c.vectorized is None]
    assert "icaht" in series_calculators
    for name in series_calculators:
        with pytest.raises(NotVectorizedError):
            calculate_frame(name, pd.DataFrame())
