"""`neurocart report` on the record in the database (SQLite and PostgreSQL), and its errors."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest
from matplotlib import pyplot as plt
from sqlalchemy import URL
from typer.testing import CliRunner

from neurocart.cli import app
from neurocart.cohort import analyse
from neurocart.cohort.analysis import selection
from neurocart.reports import CohortScopeError, mask_url, require_infused, scope_of
from neurocart.reports.scope import database_source, load_cohort
from neurocart.store import Database
from neurocart.store.models import Base
from tests.dbfixtures import database, db_url, pg_session_url  # noqa: F401
from tests.reports.storecohort import load_simulated

FIGURES = ("km", "swimmer", "spider", "kinetics", "forest")
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
CUTOFF = "2026-06-01"


def _text(url: str | URL) -> str:
    return url if isinstance(url, str) else url.render_as_string(hide_password=False)


def _report(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["report", *args])
    return result.exit_code, " ".join(result.output.split())  # a long tmp path wraps lines


def test_report_from_the_database(database: Database, db_url: str | URL, tmp_path: Path) -> None:  # noqa: F811
    sim = load_simulated(database, 20, 1, now=NOW)
    code, output = _report(
        "--out", str(tmp_path), "--cutoff", CUTOFF, "--database-url", _text(db_url)
    )
    assert code == 0, output
    html = (tmp_path / "report.html").read_text("utf-8")
    for name in FIGURES:
        assert re.search(rf'id="fig-{name}">\s*<img alt="[^"]*" src="data:image/png;base64,', html)
    infused = int(sim.courses["infusion_at"].le(NOW).sum())
    assert f"{infused} infused of " in html
    assert "all sites" in html
    assert f"data cut-off {CUTOFF}" in html
    assert f"neurocart database {mask_url(db_url)}" in html
    pdf = (tmp_path / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    assert re.search(r"\((\d+) pages\)", output)
    for name in ("outcome_summary", "relapse_free_survival", "drug_free_remission", "toxicity",
                 "kinetics_summary", "cox_model", "patient_outcomes"):  # fmt: skip
        assert (tmp_path / "tables" / f"{name}.csv").stat().st_size > 0, name
    for name in FIGURES:
        assert (tmp_path / "figures" / f"{name}.png").read_bytes().startswith(b"\x89PNG")
    single_cell = pd.read_csv(tmp_path / "tables" / "single_cell_readouts.csv")
    assert (single_cell["patients"] > 0).all()  # the simulated readouts, through the store
    # numbers are formatted for reading: one decimal for months, percentages, no 1.23e+04
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", html)
    assert cells
    assert not [c for c in cells if re.search(r"\de[+-]\d", c)]
    outcome = html.split('data-table="outcome_summary"')[1].split("</table>")[0]
    follow_up = [re.findall(r"<td[^>]*>([^<]*)</td>", r)[2] for r in outcome.split("<tr>")[2:]]
    assert follow_up
    assert all(re.fullmatch(r"\d+\.\d", m) for m in follow_up), follow_up

    site = str(sim.patients["site"].iloc[0])
    if isinstance(db_url, str):  # the site report once (SQLite): a second PDF costs seconds
        _site_report(db_url, site, tmp_path)
    code, output = _report(
        "--out", str(tmp_path / "early"), "--cutoff", "2000-01-01", "--database-url", _text(db_url)
    )
    assert code == 2
    assert "cut-off 2000-01-01 is before the first infusion" in output
    assert not (tmp_path / "early" / "report.pdf").exists()

    code, output = _report("--out", str(tmp_path / "x"), "--database-url", _text(db_url),
                           "--site", "nowhere")  # fmt: skip
    assert code == 2
    assert "no patients at site 'nowhere'" in output
    assert site in output  # the known sites are listed


def _site_report(url: str, site: str, tmp_path: Path) -> None:
    code, output = _report(
        "--out", str(tmp_path / "site"), "--cutoff", CUTOFF, "--database-url", url,
        "--site", site, "--definition", "Site cohort for the DSMB",
    )  # fmt: skip
    assert code == 0, output
    html = (tmp_path / "site" / "report.html").read_text("utf-8")
    assert f"Site cohort for the DSMB — Patients of site {site}" in html


def test_an_empty_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    db = Database.from_url(f"sqlite:///{path}")
    Base.metadata.create_all(db.engine)
    db.dispose()
    code, output = _report("--out", str(tmp_path / "out"), "--database-url", f"sqlite:///{path}")
    assert code == 2
    assert "no patients in the record" in output
    assert not (tmp_path / "out" / "report.html").exists()


def test_a_missing_sqlite_file_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "nope.db"
    code, output = _report("--out", str(tmp_path), "--database-url", f"sqlite:///{path}")
    assert code == 2
    assert "does not exist" in output
    assert not path.exists()


def test_a_database_without_schema_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bare.db"
    path.write_bytes(b"")
    code, output = _report("--out", str(tmp_path), "--database-url", f"sqlite:///{path}")
    assert code == 2
    assert "cannot be read" in output
    assert "neurocart db upgrade" in output


def test_simulate_cannot_be_mixed_with_a_database(tmp_path: Path) -> None:
    code, output = _report("--out", str(tmp_path), "--simulate", "5", "--site", "A")
    assert code == 2
    assert "--simulate" in output


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://nc:s3cret@db:5432/neurocart", "postgresql+psycopg://nc:***@db:5432/neurocart"),
        ("sqlite:////var/lib/neurocart.db", "sqlite:////var/lib/neurocart.db"),
    ],
)  # fmt: skip
def test_the_password_is_masked(url: str, shown: str) -> None:
    assert mask_url(url) == shown
    assert "s3cret" not in database_source(url)


def test_scope_counts_and_refusals() -> None:
    from neurocart.simulate import simulate_cohort

    frames = simulate_cohort(12, 3, now=NOW)
    scope = scope_of(frames, cutoff=date(2026, 6, 1), site=None, source="simulated")
    infused = int(frames.courses["infusion_at"].notna().sum())
    assert scope.infused == infused
    assert scope.registered == 12
    assert scope.infused <= scope.enrolled <= scope.registered
    require_infused(scope)
    assert scope.first_infusion is not None
    early = scope_of(frames, cutoff=date(2000, 1, 1), site="X", source="simulated")
    assert early.infused == 0
    with pytest.raises(CohortScopeError, match="before the first infusion at site X"):
        require_infused(early)


def test_the_analysis_read_gives_the_analysis_of_the_whole_record(database: Database) -> None:  # noqa: F811
    """Reading only what the analysis reads (and each patient's latest fact) changes no table;
    a cut-off before the data's end, so that the latest fact is the one before it."""
    cutoff = date(2026, 2, 15)
    load_simulated(database, 20, 5, now=NOW)
    whole = load_cohort(database)
    for biomarkers in (True, False):  # the report's read and the page's
        part = load_cohort(database, only=selection(biomarkers=biomarkers), cutoff=cutoff)
        assert len(part.observations) < len(whole.observations)
        want = analyse(whole, cutoff=cutoff, biomarkers=biomarkers)
        got = analyse(part, cutoff=cutoff, biomarkers=biomarkers)
        assert sorted(got.tables) == sorted(want.tables)
        for name, table in want.tables.items():
            pd.testing.assert_frame_equal(got.tables[name], table, check_exact=True, obj=name)
        for name, values in want.figure_values.items():
            pd.testing.assert_frame_equal(got.figure_values[name], values, check_exact=True)
        for figure in [*want.figures.values(), *got.figures.values()]:
            plt.close(figure)
    with pytest.raises(ValueError, match="cut-off"):
        analyse(part, cutoff=date(2026, 6, 1), biomarkers=False)
    with pytest.raises(ValueError, match="without facts"):
        analyse(part, cutoff=cutoff)  # read for the page: without the biomarkers' facts
