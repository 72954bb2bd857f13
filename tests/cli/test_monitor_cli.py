"""`neurocart monitor replay`: the timeline from the store equals the persisted live log."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from neurocart import i18n
from neurocart.cli import app
from neurocart.cli.monitor import first_difference
from neurocart.services.monitoring import MonitorService
from neurocart.store import get_database, repo
from neurocart.store.models import AlertAction
from tests.consoles import wide_consoles
from tests.dbfixtures import database_env, db_url, pg_session_url

__all__ = ["database_env", "db_url", "pg_session_url"]

runner = CliRunner()
DAY0 = datetime(2025, 3, 3, 8, tzinfo=UTC)


@pytest.fixture(autouse=True)
def wide_console() -> Iterator[None]:
    with wide_consoles(400):
        yield


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


def test_a_chinese_user_reads_the_first_difference_in_chinese(lived: None) -> None:
    """The words in Chinese, the alert key, kind, field names and values as they are."""
    with get_database().transaction() as s:
        s.execute(
            update(AlertAction)
            .where(AlertAction.kind == "close")
            .values(payload={"kind": "close", "alert_key": "NC-1:crs:1", "at": "tampered"})
        )
    result = runner.invoke(app, ["--lang", "zh_CN", "monitor", "replay", "NC-1"])
    assert result.exit_code == 1
    flat = " ".join(result.output.split())
    assert "重放结果与实时时间线不同：第 " in flat
    assert " 项操作（NC-1:crs:1 close）：" in flat
    assert "at：已保存 'tampered'，重放 '" in flat
    english = runner.invoke(app, ["monitor", "replay", "NC-1"])
    assert english.exit_code == 1
    assert re.search(
        r"action #\d+ \(NC-1:crs:1 close\): at: persisted 'tampered', replayed '", english.output
    )


def test_an_action_only_one_log_has_is_named_in_either_language() -> None:
    opened = {"alert_key": "NC-1:crs:1", "kind": "open", "at": "2025-03-04T08:00:00+00:00"}
    closed = opened | {"kind": "close", "at": "2025-03-05T08:00:00+00:00"}
    assert first_difference([opened, closed], [opened]) == (
        "action #2: only persisted has it (NC-1:crs:1 close at 2025-03-05T08:00:00+00:00); "
        "2 persisted, 1 replayed"
    )
    assert first_difference([opened], [opened, closed]) == (
        "action #2: only replayed has it (NC-1:crs:1 close at 2025-03-05T08:00:00+00:00); "
        "1 persisted, 2 replayed"
    )
    moved = closed | {"at": "2025-03-06T08:00:00+00:00", "grade": 2}
    assert first_difference([opened, closed], [opened, moved]) == (
        "action #2 (NC-1:crs:1 close): at: persisted '2025-03-05T08:00:00+00:00', replayed "
        "'2025-03-06T08:00:00+00:00'; grade: persisted None, replayed 2"
    )
    assert first_difference([opened], [opened]) is None
    with i18n.using("zh_CN"):
        assert first_difference([opened, closed], [opened]) == (
            "第 2 项操作只存在于已保存的日志中（2025-03-05T08:00:00+00:00 的 NC-1:crs:1 close）；"
            "已保存 2 项，重放 1 项"
        )
        assert first_difference([opened], [opened, closed]) == (
            "第 2 项操作只存在于重放结果中（2025-03-05T08:00:00+00:00 的 NC-1:crs:1 close）；"
            "已保存 1 项，重放 2 项"
        )
        assert first_difference([opened, closed], [opened, moved]) == (
            "第 2 项操作（NC-1:crs:1 close）：at：已保存 '2025-03-05T08:00:00+00:00'，重放 "
            "'2025-03-06T08:00:00+00:00'；grade：已保存 None，重放 2"
        )


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
