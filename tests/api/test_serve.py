"""`neurocart serve`: the schema decision on start and log masking (the server itself runs in
test_durability)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import typer

from neurocart.api import access_log, create_app
from neurocart.cli.serve import prepare_schema
from neurocart.store import Database, migrate


def test_sqlite_file_is_upgraded_unless_told_not_to(tmp_path: Path) -> None:
    db = Database.from_url(f"sqlite:///{tmp_path / 'fresh.db'}")
    with pytest.raises(typer.Exit):
        prepare_schema(db, upgrade=False)
    assert migrate.current(db.engine) is None
    assert prepare_schema(db, upgrade=None) == migrate.head()
    assert prepare_schema(db, upgrade=False) == migrate.head()
    db.dispose()


@pytest.mark.parametrize(
    ("target", "masked"),
    [
        ("/api/v1/patients/P-007/schedule?x=1", "/api/v1/patients/***/schedule?***=***"),
        ("/api/v1/alerts/NC-0006%3Acrs%3A1/acknowledge", "/api/v1/alerts/***/acknowledge"),
        (
            "/api/v1/audit/reads?study_id=NC-0006&limit=5",
            "/api/v1/audit/reads?study_id=***&limit=***",
        ),
        ("/patients/NC-0006?saved=1", "/patients/***?saved=***"),
        ("/fhir/Patient/NC-0006/$everything", "/fhir/Patient/***/$everything"),
        ("/NC-0006?NC-0007", "/***?***"),
        ("/board", "/board"),
    ],
)
def test_access_log_masks_every_segment_and_value_not_of_a_route(target: str, masked: str) -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d',
        ("1.2.3.4:5", "GET", target, "1.1", 200), None,
    )  # fmt: skip
    access_log.MaskIdentifiers(create_app().routes).filter(record)
    assert record.getMessage() == f'1.2.3.4:5 - "GET {masked} HTTP/1.1" 200'


def test_serve_refuses_to_start_without_an_audit_key(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from neurocart.cli import app
    from neurocart.config import get_settings

    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("NEUROCART_AUDIT_KEY", raising=False)
        patch.delenv("NEUROCART_AUDIT_KEYRING", raising=False)
        get_settings.cache_clear()
        try:
            url = f"sqlite:///{tmp_path / 'x.db'}"
            result = CliRunner().invoke(app, ["serve", "--database-url", url])
        finally:
            get_settings.cache_clear()
    assert result.exit_code == 2
    assert "refusing to serve: no audit key" in result.output
    assert not (tmp_path / "x.db").exists()  # refused before touching the database
