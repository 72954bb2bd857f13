"""Forms generated from the calculators' input models, and posted values parsed back."""

from __future__ import annotations

import pytest

from neurocart.standards import REGISTRY, calculate
from neurocart.web.forms import FEATURED, form_for, humanize, instruments_for, parse_form


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_calculator_has_a_form_naming_every_field(name: str) -> None:
    form = form_for(name)
    assert {f.name for f in form.fields} == {s.name for s in REGISTRY[name].fields}
    assert form.citation == REGISTRY[name].citation


def test_the_ice_form_puts_the_gate_first_and_scores_items_with_buttons() -> None:
    form = form_for("ice")
    widgets = {f.name: (f.widget, f.choices) for f in form.fields}
    assert form.fields[0].name == "unarousable"
    assert widgets["unarousable"] == ("checkbox", ())
    assert widgets["orientation"] == ("scale", (0, 1, 2, 3, 4))
    assert widgets["attention"] == ("scale", (0, 1))
    assert "year, month, city, hospital" in form.fields[1].help


def test_ice_posted_values_score_like_the_calculator() -> None:
    form = form_for("ice")
    pairs = [("orientation", "3"), ("naming", "2"), ("commands", "1"), ("writing", "1")]
    pairs += [("attention", "1"), ("effective_at", "2025-01-01T08:00")]
    inputs = parse_form(form, pairs)
    assert inputs == {
        "orientation": 3, "naming": 2, "commands": 1, "writing": 1, "attention": 1,
        "unarousable": False,
    }  # fmt: skip
    assert calculate("ice", inputs).label == "ICE 8/10"


def test_blanks_are_left_out_and_text_is_passed_for_the_calculator_to_name() -> None:
    form = form_for("crs")
    inputs = parse_form(form, [("temperature_c", "thirty-nine"), ("oxygen_flow_l_min", "")])
    assert inputs["temperature_c"] == "thirty-nine"
    assert "oxygen_flow_l_min" not in inputs
    assert inputs["hypotension"] is False  # unticked box


def test_a_decimal_comma_is_read() -> None:
    inputs = parse_form(form_for("crs"), [("temperature_c", "38,6")])
    assert inputs["temperature_c"] == 38.6


def test_integer_choices_come_back_as_integers() -> None:
    form = form_for("mg_composite")
    assert form.fields[1].widget == "radio"
    inputs = parse_form(form, [("double_vision", "3")])
    assert inputs["double_vision"] == 3


def test_enum_choices_with_many_values_are_a_select() -> None:
    widgets = {f.name: f.widget for f in form_for("crs").fields}
    assert widgets["oxygen_device"] == "select"
    assert widgets["vasopressors"] == "scale"  # 0–5


def test_nested_objects_become_groups_of_baseline_and_follow_up() -> None:
    form = form_for("imacs_tis")
    group = next(f for f in form.fields if f.name == "mmt8")
    assert group.widget == "group"
    assert [c.name for c in group.children] == ["mmt8.baseline", "mmt8.follow_up"]
    inputs = parse_form(form, [("mmt8.baseline", "100"), ("mmt8.follow_up", "120")])
    assert inputs["mmt8"] == {"baseline": 100.0, "follow_up": 120.0}


def test_lists_of_objects_become_rows_and_blank_rows_are_ignored() -> None:
    form = form_for("icaht")
    rows = next(f for f in form.fields if f.name == "anc_series")
    assert rows.widget == "rows"
    assert rows.row_name(2, rows.children[0]) == "anc_series.2.day"
    pairs = [("anc_series.0.day", "0"), ("anc_series.0.anc_10e9_l", "0.3")]
    pairs += [("anc_series.1.day", ""), ("anc_series.3.day", "2"), ("anc_series.3.anc_10e9_l", "1")]
    inputs = parse_form(form, pairs)
    assert inputs["anc_series"] == [{"day": 0, "anc_10e9_l": 0.3}, {"day": 2, "anc_10e9_l": 1.0}]
    assert "anc_series.3.anc_10e9_l" in form.all_names()


def test_lists_of_plain_values_are_comma_separated() -> None:
    form = form_for("disability_change")
    inputs = parse_form(form, [("relapses", "30, 200 ;410")])
    assert inputs["relapses"] == [30, 200, 410]


def test_labels_hide_unit_suffixes() -> None:
    assert humanize("temperature_c") == "Temperature"
    assert humanize("anc_series.*.anc_10e9_l") == "ANC"
    assert humanize("brushing_teeth_or_combing_hair") == "Brushing teeth or combing hair"


def test_the_chart_offers_the_diagnosis_scales() -> None:
    assert instruments_for("mg")[:3] == ("ice", "icans", "crs")
    assert "qmg" in instruments_for("mg")
    assert "edss" not in instruments_for("mg")
    assert set(instruments_for("other")) == set(FEATURED)
