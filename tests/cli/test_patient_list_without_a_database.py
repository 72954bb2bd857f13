"""`neurocart patient list` without a database says so and leaves no empty file behind."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from neurocart.cli import app
from tests.dbfixtures import database_url_env


def test_patient_list_names_the_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "neurocart.db"
    with database_url_env(f"sqlite:///{missing}"):
        result = CliRunner().invoke(app, ["patient", "list"])
    assert result.exit_code == 2
    assert "does not exist" in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert not missing.exists()
