"""`neurocart schedule STUDY_ID`: the consensus schedule of a stored patient."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from typer.testing import CliRunner

from neurocart import i18n
from neurocart.cli import app
from neurocart.store import get_database, repo
from tests.consoles import wide_consoles
from tests.dbfixtures import database_env, db_url, pg_session_url
from tests.store.factories import patient

__all__ = ["database_env", "db_url", "pg_session_url"]

runner = CliRunner()
INFUSION = datetime(2025, 3, 3, 10, tzinfo=UTC)


@pytest.fixture(autouse=True)
def wide_console() -> Iterator[None]:
    """Wide enough that rich does not fold task titles."""
    with wide_consoles(240):
        yield


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def _treated_patient() -> None:
    with get_database().transaction() as session:
        user = repo.create_user(session, None, username="dm", password_hash="x", role="nurse")
        p = patient(session, user, "NC-0001")
        repo.create_course(
            session,
            user,
            repo.CourseIn(
                p.id,
                "BCMA CAR-T",
                target="BCMA",
                enrolment_date=date(2025, 1, 6),
                apheresis_date=date(2025, 2, 3),
                ld_start_date=date(2025, 2, 26),
                infusion_at=INFUSION,
            ),
        )
        repo.add_event(session, user, repo.EventIn(p.id, "car_t_infusion", onset_at=INFUSION))


def test_schedule_prints_the_consensus_schedule(database_env):
    _treated_patient()
    now = (INFUSION + timedelta(hours=30)).isoformat()
    code, output = run("schedule", "NC-0001", "--now", now)
    assert code == 0, output
    assert "NC-0001 — nad-cart-2025" in output
    assert "CAR-T infusion" in output
    assert "Leukapheresis" in output
    for state in ("done", "due", "overdue", "upcoming", "not_applicable"):
        assert state in output
    assert "summary" in output
    assert "long_term" in output

    code, output = run("schedule", "NC-0001", "--now", now, "--state", "due", "--phase", "acute")
    assert code == 0, output
    body = output.split("summary")[0]
    assert " due " in body
    assert "overdue" not in body
    assert "upcoming" not in body


def test_the_schedule_speaks_chinese(database_env):
    _treated_patient()
    now = (INFUSION + timedelta(hours=30)).isoformat()
    try:
        code, output = run("--lang", "zh_CN", "schedule", "NC-0001", "--now", now)
    finally:
        i18n.activate("en")  # the command set the process's language
    assert code == 0, output
    for word in ("时间窗", "任务", "科室", "状态", "汇总", "CAR-T回输", "血液科", "已完成", "逾期"):
        assert word in output, word
    for english in ("CAR-T infusion", "hematology", "overdue", "summary"):
        assert english not in output, english
    assert "long_term" in output  # the phase ids stay, as --phase takes them


def test_bad_input_exits_2_naming_it(database_env):
    _treated_patient()
    code, output = run("schedule", "NC-9999")
    assert code == 2
    assert "NC-9999" in output
    code, output = run("schedule", "NC-0001", "--now", "2025-03-03T10:00")
    assert code == 2
    assert "--now" in output
    assert "time zone" in output
    code, output = run("schedule", "NC-0001", "--state", "late")
    assert code == 2
    assert "late" in output
    code, output = run("schedule", "NC-0001", "--phase", "acute,nope")
    assert code == 2
    assert "nope" in output
    code, output = run("schedule", "NC-0001", "--protocol", "nope")
    assert code == 2
    assert "--protocol" in output
