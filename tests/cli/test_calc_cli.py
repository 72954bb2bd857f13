"""`neurocart calc`: listing, help generated from the model, JSON, CSV, exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from neurocart.cli import app
from neurocart.standards import REGISTRY

runner = CliRunner()


def test_list_shows_every_calculator() -> None:
    result = runner.invoke(app, ["calc", "--list"], env={"COLUMNS": "250"})
    assert result.exit_code == 0
    for name in REGISTRY:
        assert name in result.stdout


def test_help_lists_fields_units_and_ranges_from_the_model() -> None:
    result = runner.invoke(app, ["calc", "easix", "--help"], env={"COLUMNS": "250"})
    assert result.exit_code == 0
    assert "creatinine_umol_l" in result.stdout
    assert "µmol/L" in result.stdout
    assert "> 0 and ≤ 3000" in result.stdout
    assert "Luft" in result.stdout


def test_json_prints_the_result() -> None:
    payload = {"ldh_u_l": 250, "creatinine_umol_l": 88.42, "platelets_10e9_l": 100}
    result = runner.invoke(app, ["calc", "easix", "--json", json.dumps(payload)])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["value"] == 2.5
    assert body["calculator"] == "easix"
    assert body["reasons"]


def test_bad_input_exits_2_naming_the_field_without_traceback() -> None:
    result = runner.invoke(app, ["calc", "easix", "--json", '{"ldh_u_l": 0}'])
    assert result.exit_code == 2
    assert "ldh_u_l" in result.stderr
    assert "Traceback" not in result.output


def test_malformed_json_and_unknown_calculator_exit_2() -> None:
    assert runner.invoke(app, ["calc", "easix", "--json", "{"]).exit_code == 2
    unknown = runner.invoke(app, ["calc", "nope", "--json", "{}"])
    assert unknown.exit_code == 2
    assert "unknown calculator" in unknown.stderr


def test_csv_grades_every_row(tmp_path: Path) -> None:
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_text("ldh_u_l,crp_mg_l,platelets_10e9_l\n400,50,40\n200,10,100\n")
    result = runner.invoke(app, ["calc", "m_easix", "--csv", str(source), "--out", str(target)])
    assert result.exit_code == 0, result.output
    graded = pd.read_csv(target)
    assert graded["value"].tolist() == [50.0, 2.0]
    assert list(graded.columns[:3]) == ["ldh_u_l", "crp_mg_l", "platelets_10e9_l"]


def test_csv_bad_row_names_the_file_line(tmp_path: Path) -> None:
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_text("ldh_u_l,crp_mg_l,platelets_10e9_l\n400,50,40\n200,10,-1\n")
    result = runner.invoke(app, ["calc", "m_easix", "--csv", str(source), "--out", str(target)])
    assert result.exit_code == 2
    assert "row 3" in result.stderr
    assert "platelets_10e9_l" in result.stderr
    assert not target.exists()


def test_csv_missing_file_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["calc", "easix", "--csv", str(tmp_path / "x.csv"), "--out", "o"])
    assert result.exit_code == 2
