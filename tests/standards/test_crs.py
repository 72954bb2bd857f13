"""ASTCT consensus CRS grade.

Source of the expected values: Lee DW et al. ASTCT consensus grading for cytokine release
syndrome and neurologic toxicity associated with immune effector cells. Biol Blood Marrow
Transplant 2019;25(4):625–638, doi:10.1016/j.bbmt.2018.12.758 — the CRS grading table and its
footnotes: fever ≥ 38 °C required (not once antipyretic/anti-cytokine therapy was given);
hypotension without vasopressors 2, one vasopressor ± vasopressin 3, multiple vasopressors
excluding vasopressin 4; low-flow nasal cannula ≤ 6 L/min or blow-by 2, high-flow nasal
cannula > 6 L/min, facemask, non-rebreather, Venturi 3, CPAP/BiPAP/intubation 4; the grade is
the more severe of the two (worked example: 39.5 °C, one vasopressor, low-flow nasal cannula →
grade 3); intubation for airway protection alone is not grade 4 CRS.
neurocart choices (see the module docstring): masked fever with neither hypotension nor
hypoxia → 1; vasopressin alone → 3; nasal cannula without a flow → low-flow with a warning.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from typer.testing import CliRunner

from neurocart.cli import app
from neurocart.standards import CalculatorInputError, calculate, calculate_frame

from .agreement import assert_frame_agrees

FEVER = {"temperature_c": 38.6}


@pytest.mark.parametrize(
    ("inputs", "grade"),
    [
        # fever is required
        ({}, 0),
        ({"temperature_c": 37.9}, 0),
        ({"temperature_c": 38.0}, 1),
        ({"temperature_c": 38.1}, 1),
        ({"temperature_c": 41.5}, 1),
        # no fever → no CRS whatever else is true
        ({"temperature_c": 37.9, "hypotension": True, "vasopressors": 3}, 0),
        ({"hypotension": True, "oxygen_device": "bipap"}, 0),
        ({"temperature_c": 36.5, "oxygen_device": "mechanical_ventilation"}, 0),
        # hypotension
        ({**FEVER, "hypotension": True}, 2),
        ({**FEVER, "hypotension": True, "vasopressors": 1}, 3),
        ({**FEVER, "hypotension": True, "vasopressors": 1, "vasopressin": True}, 3),
        ({**FEVER, "hypotension": True, "vasopressors": 2}, 4),
        ({**FEVER, "hypotension": True, "vasopressors": 2, "vasopressin": True}, 4),
        ({**FEVER, "hypotension": True, "vasopressors": 5}, 4),
        # vasopressin alone is a vasopressor (neurocart reading) but never "multiple"
        ({**FEVER, "hypotension": True, "vasopressin": True}, 3),
        # any vasopressor implies hypotension
        ({**FEVER, "vasopressors": 1}, 3),
        ({**FEVER, "vasopressors": 2}, 4),
        # hypoxia
        ({**FEVER, "oxygen_device": "blow_by"}, 2),
        ({**FEVER, "oxygen_device": "nasal_cannula", "oxygen_flow_l_min": 2}, 2),
        ({**FEVER, "oxygen_device": "nasal_cannula", "oxygen_flow_l_min": 6.0}, 2),
        ({**FEVER, "oxygen_device": "nasal_cannula", "oxygen_flow_l_min": 6.1}, 3),
        ({**FEVER, "oxygen_device": "nasal_cannula", "oxygen_flow_l_min": 15}, 3),
        ({**FEVER, "oxygen_device": "nasal_cannula"}, 2),
        ({**FEVER, "oxygen_device": "high_flow_nasal_cannula"}, 3),
        ({**FEVER, "oxygen_device": "high_flow_nasal_cannula", "oxygen_flow_l_min": 40}, 3),
        ({**FEVER, "oxygen_device": "facemask"}, 3),
        ({**FEVER, "oxygen_device": "facemask", "oxygen_flow_l_min": 8}, 3),
        ({**FEVER, "oxygen_device": "nonrebreather"}, 3),
        ({**FEVER, "oxygen_device": "venturi"}, 3),
        ({**FEVER, "oxygen_device": "cpap"}, 4),
        ({**FEVER, "oxygen_device": "bipap"}, 4),
        ({**FEVER, "oxygen_device": "mechanical_ventilation"}, 4),
        # the more severe of hypotension and hypoxia
        ({**FEVER, "hypotension": True, "oxygen_device": "facemask"}, 3),
        ({**FEVER, "vasopressors": 2, "oxygen_device": "blow_by"}, 4),
        ({**FEVER, "hypotension": True, "oxygen_device": "cpap"}, 4),
        # death due to CRS
        ({**FEVER, "died_of_crs": True}, 5),
        ({**FEVER, "vasopressors": 3, "oxygen_device": "bipap", "died_of_crs": True}, 5),
        ({"fever_masked": True, "died_of_crs": True}, 5),
    ],
)
def test_astct_table(inputs: dict[str, Any], grade: int) -> None:
    result = calculate("crs", inputs)
    assert result.value == grade
    assert result.label == ("no CRS" if grade == 0 else f"grade {grade}")
    assert result.reasons
    assert "Lee DW" in result.citation


def test_published_worked_example() -> None:
    # "a patient with temperature of 39.5 °C, hypotension requiring 1 vasopressor, and
    # hypoxia requiring low-flow nasal cannula is classified as grade 3 CRS"
    result = calculate(
        "crs",
        {
            "temperature_c": 39.5,
            "hypotension": True,
            "vasopressors": 1,
            "oxygen_device": "nasal_cannula",
            "oxygen_flow_l_min": 3,
        },
    )
    assert result.value == 3
    assert any(
        "more severe of hypotension (grade 3) and hypoxia (grade 2)" in r for r in result.reasons
    )


def test_no_fever_is_not_crs_and_says_why() -> None:
    result = calculate(
        "crs", {"temperature_c": 37.2, "hypotension": True, "oxygen_device": "facemask"}
    )
    assert (result.value, result.label) == (0, "no CRS")
    assert "37.2 °C < 38.0 °C" in result.reasons[0]
    assert "not CRS" in result.reasons[0]
    assert any("another cause" in w for w in result.warnings)
    no_temperature = calculate("crs", {"vasopressors": 1})
    assert no_temperature.value == 0
    assert "no temperature" in no_temperature.reasons[0]


def test_fever_reason_names_the_value() -> None:
    result = calculate("crs", {"temperature_c": 38.6})
    assert result.reasons[0] == "temperature 38.6 °C ≥ 38.0 °C: fever"
    assert "fever without hypotension or hypoxia → grade 1" in result.reasons


@pytest.mark.parametrize(
    ("extra", "grade"),
    [
        ({}, 1),
        ({"temperature_c": 37.0}, 1),
        ({"hypotension": True}, 2),
        ({"vasopressors": 1}, 3),
        ({"vasopressors": 2}, 4),
        ({"temperature_c": 36.8, "oxygen_device": "nasal_cannula", "oxygen_flow_l_min": 4}, 2),
        ({"oxygen_device": "nonrebreather"}, 3),
        ({"oxygen_device": "bipap"}, 4),
    ],
)
def test_masked_fever_grades_by_hypotension_and_hypoxia(extra: dict[str, Any], grade: int) -> None:
    result = calculate("crs", {"fever_masked": True, **extra})
    assert result.value == grade
    assert "fever masked" in result.reasons[0]


def test_masked_fever_without_hypotension_or_hypoxia_is_grade_1_and_says_so() -> None:
    result = calculate("crs", {"fever_masked": True, "temperature_c": 37.1})
    assert result.value == 1
    assert any("CRS persists" in r and "neurocart reading" in r for r in result.reasons)


def test_vasopressor_implies_hypotension() -> None:
    result = calculate("crs", {**FEVER, "vasopressors": 1})
    assert "vasopressor required: hypotension implied" in result.reasons
    stated = calculate("crs", {**FEVER, "vasopressors": 1, "hypotension": True})
    assert "vasopressor required: hypotension implied" not in stated.reasons


def test_vasopressin_alone_is_one_vasopressor() -> None:
    result = calculate("crs", {**FEVER, "vasopressin": True})
    assert result.value == 3
    assert any("vasopressin alone" in r for r in result.reasons)
    assert "vasopressor required: hypotension implied" in result.reasons


def test_vasopressin_never_counts_towards_multiple() -> None:
    assert calculate("crs", {**FEVER, "vasopressors": 1, "vasopressin": True}).value == 3


def test_intubation_for_airway_protection_does_not_raise_the_grade() -> None:
    inputs = {**FEVER, "oxygen_device": "mechanical_ventilation"}
    assert calculate("crs", inputs).value == 4
    protected = calculate("crs", {**inputs, "intubated_for_airway_protection_only": True})
    assert protected.value == 1
    assert any("airway protection only" in r for r in protected.reasons)
    assert any("clinician" in w for w in protected.warnings)
    with_pressor = calculate(
        "crs", {**inputs, "intubated_for_airway_protection_only": True, "vasopressors": 1}
    )
    assert with_pressor.value == 3


def test_positive_pressure_warns_about_myasthenic_crisis() -> None:
    result = calculate("crs", {**FEVER, "oxygen_device": "bipap"})
    assert any("myasthenic crisis" in w for w in result.warnings)


def test_nasal_cannula_without_flow_warns() -> None:
    result = calculate("crs", {**FEVER, "oxygen_device": "nasal_cannula"})
    assert result.value == 2
    assert any("flow not given" in w for w in result.warnings)


def test_high_flow_nasal_cannula_reason_names_the_flow() -> None:
    result = calculate("crs", {**FEVER, "oxygen_device": "nasal_cannula", "oxygen_flow_l_min": 8})
    assert any("8 L/min > 6 L/min: high-flow → grade 3" in r for r in result.reasons)


def test_details() -> None:
    result = calculate("crs", {**FEVER, "hypotension": True, "oxygen_device": "venturi"})
    assert result.details["hypotension_grade"] == 2
    assert result.details["hypoxia_grade"] == 3


@pytest.mark.parametrize(
    ("inputs", "field"),
    [
        ({**FEVER, "oxygen_flow_l_min": 4}, "oxygen_flow_l_min"),
        ({**FEVER, "oxygen_device": "none", "oxygen_flow_l_min": 4}, "oxygen_flow_l_min"),
        (
            {**FEVER, "oxygen_device": "high_flow_nasal_cannula", "oxygen_flow_l_min": 6},
            "oxygen_flow_l_min",
        ),
        (
            {**FEVER, "intubated_for_airway_protection_only": True},
            "intubated_for_airway_protection_only",
        ),
        (
            {**FEVER, "oxygen_device": "bipap", "intubated_for_airway_protection_only": True},
            "intubated_for_airway_protection_only",
        ),
        ({"temperature_c": 37.5, "died_of_crs": True}, "died_of_crs"),
        ({"died_of_crs": True}, "died_of_crs"),
        ({"temperature_c": 29.9}, "temperature_c"),
        ({"temperature_c": 45.1}, "temperature_c"),
        ({**FEVER, "vasopressors": 6}, "vasopressors"),
        ({**FEVER, "vasopressors": -1}, "vasopressors"),
        ({**FEVER, "vasopressors": 1.5}, "vasopressors"),
        ({**FEVER, "oxygen_device": "oxygen_mask"}, "oxygen_device"),
        ({**FEVER, "oxygen_device": "nasal_cannula", "oxygen_flow_l_min": 0}, "oxygen_flow_l_min"),
        ({**FEVER, "hypotension": "yes"}, "hypotension"),
        ({**FEVER, "temp": 39}, "temp"),
    ],
)
def test_bad_input_names_the_field(inputs: dict[str, Any], field: str) -> None:
    with pytest.raises(CalculatorInputError) as info:
        calculate("crs", inputs)
    assert info.value.fields == [field]


def test_frame_rejects_inconsistent_row_naming_field_and_row() -> None:
    import pandas as pd

    frame = pd.DataFrame(
        [
            {"temperature_c": 38.5, "oxygen_device": "facemask", "oxygen_flow_l_min": 8.0},
            {"temperature_c": 38.5, "oxygen_device": "none", "oxygen_flow_l_min": 2.0},
        ]
    )
    with pytest.raises(CalculatorInputError) as info:
        calculate_frame("crs", frame)
    assert info.value.fields == ["oxygen_flow_l_min"]
    assert info.value.problems[0].row == 1


def test_cli_acceptance() -> None:
    # the acceptance: neurocart calc crs --json '{...}' prints grade 3 with its reasons
    inputs = {"temperature_c": 38.6, "hypotension": True, "vasopressors": 1}
    run = CliRunner().invoke(app, ["calc", "crs", "--json", json.dumps(inputs)])
    assert run.exit_code == 0, run.output
    printed = json.loads(run.output)
    assert printed["value"] == 3
    assert printed["label"] == "grade 3"
    assert "temperature 38.6 °C ≥ 38.0 °C: fever" in printed["reasons"]
    assert any("1 vasopressor" in r for r in printed["reasons"])


def test_cli_bad_input_exits_2_naming_field() -> None:
    run = CliRunner().invoke(
        app, ["calc", "crs", "--json", '{"temperature_c": 38.6, "oxygen_flow_l_min": 3}']
    )
    assert run.exit_code == 2
    assert "oxygen_flow_l_min" in run.output


# ---- properties -------------------------------------------------------------------------

DEVICES = [
    "none",
    "blow_by",
    "nasal_cannula",
    "high_flow_nasal_cannula",
    "facemask",
    "nonrebreather",
    "venturi",
    "cpap",
    "bipap",
    "mechanical_ventilation",
]
BOOLS = ["fever_masked", "hypotension", "vasopressin", "died_of_crs"]
temperatures = st.one_of(st.floats(30.0, 45.0), st.sampled_from([37.9, 38.0, 38.1]))
flows = st.one_of(st.floats(0.1, 100.0), st.sampled_from([6.0, 6.1]))


@st.composite
def crs_rows(draw: st.DrawFn) -> dict[str, Any]:
    """Inputs with any optional field omitted; only consistent ones (the checks reject the rest)."""
    row: dict[str, Any] = {}
    if draw(st.booleans()):
        row["temperature_c"] = draw(temperatures)
    for name in BOOLS:
        if draw(st.booleans()):
            row[name] = draw(st.booleans())
    if draw(st.booleans()):
        row["vasopressors"] = draw(st.integers(0, 5))
    if draw(st.booleans()):
        row["oxygen_device"] = draw(st.sampled_from(DEVICES))
    device = row.get("oxygen_device", "none")
    if device != "none" and draw(st.booleans()):
        flow = draw(flows)
        if device != "high_flow_nasal_cannula" or flow > 6:
            row["oxygen_flow_l_min"] = flow
    if device == "mechanical_ventilation" and draw(st.booleans()):
        row["intubated_for_airway_protection_only"] = draw(st.booleans())
    fever = row.get("temperature_c", 0) >= 38.0 or row.get("fever_masked", False)
    if not fever:
        row.pop("died_of_crs", None)
    return row


def grade(row: dict[str, Any]) -> int:
    value = calculate("crs", row).value
    assert isinstance(value, int)
    assert 0 <= value <= 5
    return value


@given(crs_rows(), st.floats(0.0, 15.0))
def test_grade_never_decreases_when_temperature_rises(row: dict[str, Any], rise: float) -> None:
    hotter = {**row, "temperature_c": min(row.get("temperature_c", 30.0) + rise, 45.0)}
    assert grade(hotter) >= grade(row)


@given(crs_rows(), st.integers(0, 5))
def test_grade_never_decreases_with_more_vasopressors(row: dict[str, Any], more: int) -> None:
    more_pressors = {**row, "vasopressors": min(row.get("vasopressors", 0) + more, 5)}
    assert grade(more_pressors) >= grade(row)
    assert grade({**row, "vasopressin": True}) >= grade(row)


# Oxygen support in increasing severity, from the publication's table (not the module's):
# each entry is (device, flow or None, severity rank).
OXYGEN_LADDER: list[tuple[str, float | None, int]] = [
    ("none", None, 0),
    ("blow_by", None, 1),
    ("nasal_cannula", 2.0, 1),
    ("nasal_cannula", 6.0, 1),
    ("nasal_cannula", 6.5, 2),
    ("high_flow_nasal_cannula", 30.0, 2),
    ("facemask", None, 2),
    ("nonrebreather", 15.0, 2),
    ("venturi", None, 2),
    ("cpap", None, 3),
    ("bipap", None, 3),
    ("mechanical_ventilation", None, 3),
]


def _with_oxygen(row: dict[str, Any], device: str, flow: float | None) -> dict[str, Any]:
    out = {
        k: v
        for k, v in row.items()
        if k not in ("oxygen_device", "oxygen_flow_l_min", "intubated_for_airway_protection_only")
    }
    out["oxygen_device"] = device
    if flow is not None:
        out["oxygen_flow_l_min"] = flow
    return out


@given(crs_rows(), st.sampled_from(OXYGEN_LADDER), st.sampled_from(OXYGEN_LADDER))
def test_grade_never_decreases_with_more_severe_oxygen_support(
    row: dict[str, Any],
    a: tuple[str, float | None, int],
    b: tuple[str, float | None, int],
) -> None:
    assume(a[2] != b[2])
    low, high = (a, b) if a[2] < b[2] else (b, a)
    assert grade(_with_oxygen(row, high[0], high[1])) >= grade(_with_oxygen(row, low[0], low[1]))


@given(st.lists(crs_rows(), min_size=1, max_size=25))
def test_frame_agrees(rows: list[dict[str, Any]]) -> None:
    assert_frame_agrees("crs", rows)


def test_frame_agrees_on_every_device_and_boundary() -> None:
    rows: list[dict[str, Any]] = []
    for device in DEVICES:
        for temperature in (37.9, 38.0):
            rows.append({"temperature_c": temperature, "oxygen_device": device})
            rows.append({"fever_masked": True, "oxygen_device": device, "vasopressin": True})
    rows += [
        {**FEVER, "oxygen_device": "nasal_cannula", "oxygen_flow_l_min": f} for f in (6.0, 6.01)
    ]
    rows.append(
        {
            **FEVER,
            "oxygen_device": "mechanical_ventilation",
            "intubated_for_airway_protection_only": True,
        }
    )
    rows.append({**FEVER, "died_of_crs": True, "vasopressors": 2})
    assert_frame_agrees("crs", rows)
