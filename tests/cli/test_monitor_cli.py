"""`neurocart monitor replay`: the timeline from the store equals the persisted live log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from neurocart.cli import app
from neurocart.cli.console import err, out
from neurocart.services.monitoring import MonitorService
from neurocart.store import get_database, repo
from neurocart.store.models import AlertAction
from tests.dbfixtures import database_env, db_url, pg_session_url

__all__ = ["database_env", "db_url", "pg_session_url"]

runner = CliRunner()
DAY0 = datetime(2025, 3, 3, 8, tzinfo=UTC)


@pytest.fixture(autouse=True)
def wide_console() -> Iterator[None]:
    widths = out._width, err._width
    out.width = err.width = 400
    yield
    out._width, err._width = widths


@pytest.fixture
def lived(database_env: str) -> None:
    """Two patients, one febrile for a day and a half, fed live through the service."""
    db = get_database()
    with db.transaction() as s:
        user = repo.create_user(s, None, username="doc", password_hash="x", role="neurologist")
        ids = []
        for sid in ("NC-1", "NC-2"):
            p = repo.create_patient(s, None, repo.PatientIn(sid, "HD", "male", "ms"))
            repo.create_course(s, None, repo.CourseIn(p.id, "x", infusion_at=DAY0))
            ids.append(p.id)
    service = MonitorService(db, overdue_budget=0)
    service.take_over()
    for h in range(20, 90, 2):
        for pid, febrile in zip(ids, (True, False), strict=True):
            t = 38.7 if febrile and h < 50 else 36.9
            with db.transaction() as s:
                repo.add_observation(
                    s, user, repo.ObservationIn(pid, "8310-5", t, "°C", DAY0 + timedelta(hours=h))
                )
            service.step()
    service.tick(DAY0 + timedelta(hours=100))


def test_replay_prints_the_timeline_identical_to_the_live_log(lived: None) -> None:
    result = runner.invoke(app, ["monitor", "replay", "NC-1"])
    assert result.exit_code == 0, result.output
    assert "open" in result.output
    assert "close" in result.output
    assert "fever" in result.output
    assert "replay identical to the live timeline" in result.output
    everyone = runner.invoke(app, ["monitor", "replay", "--all"])
    assert everyone.exit_code == 0, everyone.output
    quiet = runner.invoke(app, ["monitor", "replay", "NC-2"])
    assert quiet.exit_code == 0
    assert "(0 actions)" in quiet.output


def test_a_tampered_log_is_reported_with_its_first_difference(lived: None) -> None:
    with get_database().transaction() as s:
        s.execute(
            update(AlertAction)
            .where(AlertAction.kind == "close")
            .values(payload={"kind": "close", "alert_key": "NC-1:crs:1", "at": "tampered"})
        )
    result = runner.invoke(app, ["monitor", "replay", "NC-1"])
    assert result.exit_code == 1
    assert "NC-1:crs:1 close" in result.output
    assert "tampered" in result.output


def test_new_rules_without_compare_and_bad_input(lived: None, tmp_path: Path) -> None:
    from importlib import resources

    text = resources.files("neurocart.monitor").joinpath("rules", "default.toml").read_text()
    stricter = tmp_path / "stricter.toml"
    stricter.write_text(text.replace("Supportive care (antipyretics", "CENTER-STEP (antipyretics"))
    result = runner.invoke(app, ["monitor", "replay", "NC-1", "--rules", str(stricter),
                                 "--no-compare"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "CENTER-STEP" in result.output
    assert "replay identical" not in result.output
    bad = tmp_path / "bad.toml"
    bad.write_text("version = 1\n[[rule]]\nid = 'X'\n")
    assert runner.invoke(app, ["monitor", "replay", "NC-1", "--rules", str(bad)]).exit_code == 2
    assert runner.invoke(app, ["monitor", "replay", "NC-404"]).exit_code == 2
    assert runner.invoke(app, ["monitor", "replay"]).exit_code == 2
