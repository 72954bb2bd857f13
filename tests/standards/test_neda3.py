"""NEDA-3 (no evidence of disease activity).

Source of the expected values: the NEDA-3 definition (Havrdova E et al. Lancet Neurol
2009;8:254–260): no relapse, no confirmed disability worsening, no new or enlarging T2 lesion
and no gadolinium-enhancing lesion → 1; any one of them → 0. The origin of the concept is
cited from memory (not checked against the paper; the module docstring says so).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from neurocart.cli import app
from neurocart.standards import CalculatorInputError, calculate

from .agreement import assert_frame_agrees

CLEAN = {"relapses": 0, "confirmed_worsening": False, "new_or_enlarging_t2": 0, "gd_enhancing": 0}


def test_all_components_clean_is_neda() -> None:
    result = calculate("neda3", CLEAN)
    assert result.value == 1
    assert result.label == "NEDA-3"
    assert "Havrdova" in result.citation
    assert all(result.details.values())


@pytest.mark.parametrize(
    ("change", "phrase"),
    [
        ({"relapses": 1}, "relapse"),
        ({"confirmed_worsening": True}, "confirmed disability worsening"),
        ({"new_or_enlarging_t2": 1}, "new or enlarging T2"),
        ({"gd_enhancing": 1}, "gadolinium-enhancing"),
    ],
)
def test_each_component_alone_breaks_neda(change: dict[str, Any], phrase: str) -> None:
    result = calculate("neda3", {**CLEAN, **change})
    assert result.value == 0
    assert result.label == "evidence of disease activity"
    assert len(result.reasons) == 1
    assert phrase in result.reasons[0]


def test_every_failed_component_is_named() -> None:
    result = calculate(
        "neda3",
        {"relapses": 2, "confirmed_worsening": True, "new_or_enlarging_t2": 3, "gd_enhancing": 1},
    )
    assert result.value == 0
    assert len(result.reasons) == 4
    assert result.details == {
        "clinical_relapse_free": False,
        "disability_worsening_free": False,
        "mri_activity_free": False,
    }


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("relapses", -1),
        ("new_or_enlarging_t2", -1),
        ("gd_enhancing", -1),
        ("relapses", 1.5),
        ("confirmed_worsening", "no"),
        ("confirmed_worsening", 0),
    ],
)
def test_bad_input_names_field(field: str, bad: Any) -> None:
    with pytest.raises(CalculatorInputError) as info:
        calculate("neda3", {**CLEAN, field: bad})
    assert info.value.fields == [field]


def test_missing_field_is_an_error() -> None:
    with pytest.raises(CalculatorInputError) as info:
        calculate("neda3", {k: v for k, v in CLEAN.items() if k != "gd_enhancing"})
    assert info.value.fields == ["gd_enhancing"]


rows = st.fixed_dictionaries(
    {
        "relapses": st.integers(0, 5),
        "confirmed_worsening": st.booleans(),
        "new_or_enlarging_t2": st.integers(0, 5),
        "gd_enhancing": st.integers(0, 5),
    }
)


@given(rows, st.sampled_from(["relapses", "new_or_enlarging_t2", "gd_enhancing", "worsening"]))
def test_more_activity_never_restores_neda(row: dict[str, Any], which: str) -> None:
    before = calculate("neda3", row)
    worse = dict(row)
    if which == "worsening":
        worse["confirmed_worsening"] = True
    else:
        worse[which] += 1
    after = calculate("neda3", worse)
    assert before.value in (0, 1)
    assert after.value == 0
    assert after.value <= before.value


@given(st.lists(rows, min_size=1, max_size=20))
def test_frame_agrees(rows_: list[dict[str, Any]]) -> None:
    assert_frame_agrees("neda3", rows_)


def test_cli() -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["calc", "--list"])
    assert listed.exit_code == 0
    assert "neda3" in listed.output
    ran = runner.invoke(
        app,
        [
            "calc",
            "neda3",
            "--json",
            '{"relapses": 0, "confirmed_worsening"'
            ': false, "new_or_enlarging_t2": 0, "gd_enhancing": 0}',
        ],
    )
    assert ran.exit_code == 0, ran.output
    assert '"value": 1' in ran.output
