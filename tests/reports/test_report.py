"""The report renders: HTML with every figure embedded, a PDF with pages, every table as CSV."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from neurocart.cli import app
from neurocart.reports import build_report
from tests.cohort.factory import random_cohort
from tests.dbfixtures import database_url_env

FIGURES = ("km", "swimmer", "spider", "kinetics", "forest")


def test_report_html_pdf_and_csv(tmp_path: Path) -> None:
    files = build_report(
        random_cohort(40, seed=4),
        tmp_path,
        cutoff=date(2026, 6, 1),
        cohort_definition="Test cohort of 40 constructed patients",
    )
    html = files.html.read_text("utf-8")
    for name in FIGURES:
        assert re.search(rf'id="fig-{name}">\s*<img alt="[^"]*" src="data:image/png;base64,', html)
    assert "Test cohort of 40 constructed patients" in html
    assert "2026-06-01" in html
    assert "Drug-free remission" in html
    pdf = files.pdf.read_bytes()
    assert pdf.startswith(b"%PDF")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert files.pdf_pages >= 5
    for name in ("drug_free_remission", "toxicity", "relapse_free_survival", "patient_kinetics"):
        assert files.csv[name].exists()
        assert files.csv[name].stat().st_size > 0
    assert set(FIGURES) <= set(files.figures)


def test_cli_rejects_a_bad_cutoff(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["report", "--out", str(tmp_path), "--cutoff", "2026-13-01"])
    assert result.exit_code == 2
    assert "--cutoff" in result.output


def test_cli_without_a_database_says_so(tmp_path: Path) -> None:
    """The default source is NEUROCART_DATABASE_URL; a missing file is named, not created."""
    missing = tmp_path / "absent.db"
    with database_url_env(f"sqlite:///{missing}"):
        result = CliRunner().invoke(app, ["report", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert str(missing) in result.output
    assert not missing.exists()
