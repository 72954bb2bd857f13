"""`neurocart serve`: the schema decision on start and log masking (the server itself runs in
test_durability)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import typer

from neurocart.cli.serve import MaskStudyIds, prepare_schema
from neurocart.store import Database, migrate


def test_sqlite_file_is_upgraded_unless_told_not_to(tmp_path: Path) -> None:
    db = Database.from_url(f"sqlite:///{tmp_path / 'fresh.db'}")
    with pytest.raises(typer.Exit):
        prepare_schema(db, upgrade=False)
    assert migrate.current(db.engine) is None
    assert prepare_schema(db, upgrade=None) == migrate.head()
    assert prepare_schema(db, upgrade=False) == migrate.head()
    db.dispose()


def test_access_log_masks_study_ids() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        "",
        0,
        '%s - "%s %s"',
        ("1.2.3.4", "GET", "/api/v1/patients/P-007/schedule?x=1"),
        None,
    )
    MaskStudyIds().filter(record)
    assert "P-007" not in record.getMessage()
    assert "/patients/***/schedule" in record.getMessage()
