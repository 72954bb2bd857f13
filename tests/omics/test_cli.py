"""`neurocart omics run|summarize`: the import cost is paid only when used, bad input exits 2
naming the field, and a run stores its readouts on the patient's record."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from neurocart.cli import app
from neurocart.omics import OmicsUnavailableError
from tests.consoles import wide_consoles
from tests.dbfixtures import database_env, db_url, pg_session_url
from tests.omics.conftest import needs_extra

__all__ = ["database_env", "db_url", "pg_session_url"]

runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_console() -> Iterator[None]:
    with wide_consoles(240):
        yield


def test_nothing_outside_the_commands_imports_scanpy() -> None:
    code = (
        "import sys, neurocart.cli, neurocart.omics, neurocart.omics.observations, "
        "neurocart.services.omics_readouts, neurocart.api.app\n"
        "heavy = [m for m in ('scanpy', 'anndata', 'scirpy', 'mudata') if m in sys.modules]\n"
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_without_the_extra_the_command_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import neurocart.cli.omics as cli

    def missing() -> None:
        raise OmicsUnavailableError(["scanpy", "scirpy"])

    monkeypatch.setattr(cli, "require", missing)
    result = runner.invoke(app, ["omics", "run", str(tmp_path / "s.csv"), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "pip install 'neurocart[omics]'" in result.output
    assert "scanpy, scirpy" in result.output


def test_a_bad_sheet_exits_2_naming_the_row(tmp_path: Path) -> None:
    sheet = tmp_path / "s.csv"
    sheet.write_text("sample_id,study_id,tissue,study_day,gex\nS1,NC-001,urine,7,x.h5\n")
    result = runner.invoke(app, ["omics", "run", str(sheet), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "row 2: tissue" in result.output
    from neurocart import i18n

    try:
        chinese = runner.invoke(
            app, ["--lang", "zh_CN", "omics", "run", str(sheet), "--out", str(tmp_path / "o")]
        )
    finally:
        i18n.activate("en")
    assert chinese.exit_code == 2
    assert "第 2 行：tissue：'urine' 不是 csf、blood、product 之一" in chinese.output
    assert "urine' is not one of" in " ".join(result.output.split())
    result = runner.invoke(app, ["omics", "run", str(sheet), "--out", str(tmp_path), "--store"])
    assert result.exit_code == 2
    assert "--user" in result.output
    result = runner.invoke(app, ["omics", "summarize", str(tmp_path / "absent.h5ad")])
    assert result.exit_code == 2
    assert "file:" in result.output


@needs_extra
@pytest.mark.slow
@pytest.mark.parametrize(
    "db_url", ["sqlite"], indirect=True
)  # the store is tested on both elsewhere
def test_run_stores_readouts_and_summarize_reads_a_sample(
    database_env: str, tmp_path: Path
) -> None:
    from neurocart.omics.synthetic import write_dataset
    from neurocart.store import get_database, repo
    from tests.store.factories import patient

    dataset = write_dataset(tmp_path / "data", patients=1, scale=0.3, seed=5)
    with get_database().transaction() as session:
        user = repo.create_user(
            session, None, username="lab", password_hash="x", role="investigator"
        )
        p = patient(session, user, "SYN-001")
        repo.create_course(
            session, user, repo.CourseIn(p.id, "BCMA CAR-T", infusion_date=date(2025, 3, 3))
        )
    result = runner.invoke(app, [
        "omics", "run", str(dataset.samplesheet), "--out", str(tmp_path / "out"),
        "--store", "--user", "lab",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "CAR+ % T" in result.output
    assert "caveat: only 1 patient(s)" in result.output
    assert "stored" in result.output
    with get_database().reading() as session:
        rows = repo.list_observations(session, p.id, code="local:sc_car_pct_t_csf")
    expected = dataset.expected.set_index("sample_id")
    csf = expected[expected["tissue"] == "csf"].sort_values("study_day")
    assert [r.value for r in rows] == [round(v, 4) for v in csf["car_pct_of_t"]]

    raw = next((tmp_path / "data").glob("*/counts.h5ad"))
    result = runner.invoke(app, ["omics", "summarize", str(raw), "--tissue", "blood"])
    assert result.exit_code == 0, result.output
    assert "cell types" in result.output
    assert "monocyte" in result.output or "CD4 T" in result.output
    result = runner.invoke(app, ["omics", "summarize", str(tmp_path / "out" / "cells.h5ad")])
    assert result.exit_code == 0, result.output
    assert "P01_csf_d7" in result.output
