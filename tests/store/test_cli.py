"""The store's commands: db upgrade, user add, patient list, audit verify."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from neurocart.cli import app
from neurocart.store import get_database, migrate, repo
from tests.dbfixtures import database_url_env
from tests.store.factories import patient, temperatures

runner = CliRunner()


def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    """Exit code and output with rich's line wrapping undone."""
    result = runner.invoke(app, list(args), input=stdin)
    return result.exit_code, " ".join(result.output.split())


@pytest.fixture
def migrated(empty_db_url):
    """An empty database that `neurocart db upgrade` migrates; the CLI is pointed at it."""
    with database_url_env(empty_db_url):
        code, output = run("db", "upgrade")
        assert code == 0, output
        assert f"is at revision {migrate.head()}" in output
        yield get_database()


def test_user_add_patient_list_and_audit_verify(migrated):
    code, output = run(
        "user",
        "add",
        "ana",
        "--role",
        "neurologist",
        "--password-stdin",
        stdin="s3cret-password!\n",
    )
    assert code == 0, output
    with migrated.reading() as session:
        ana = repo.get_user_by_username(session, "ana")
        assert ana is not None
        assert ana.password_hash.startswith("$argon2id$")
    again = runner.invoke(
        app,
        ["user", "add", "ana", "--role", "nurse", "--password-stdin"],
        input="another-long-pw\n",
    )
    assert again.exit_code == 2
    assert "username 'ana' is taken" in again.output
    bad_role = runner.invoke(app, ["user", "add", "bo", "--role", "janitor", "--password-stdin"])
    assert bad_role.exit_code == 2

    with migrated.transaction() as session:
        p = patient(session, ana)
        ids = repo.add_observations(session, ana, temperatures(p.id, 3))
    code, output = run("patient", "list")
    assert code == 0, output
    assert "NC-001" in output

    code, output = run("audit", "verify")
    assert code == 0, output
    # user, patient, and one entry for the batch of three observations
    assert "chain intact (3 entries)" in output

    with migrated.engine.begin() as connection:
        connection.execute(
            text("UPDATE observations SET value = 40 WHERE id = :id"), {"id": ids[1]}
        )
    code, output = run("audit", "verify")
    assert code == 1
    assert f"audit chain broken at entry seq 3 (observation {ids[1]})" in output


def test_audit_verify_on_an_empty_schema(migrated):
    code, output = run("audit", "verify")
    assert (code, output.startswith("chain intact (0 entries)")) == (0, True)


def test_the_stores_refusals_read_in_chinese_on_the_command_line(migrated):
    """The command line says a refusal in the user's language; the error itself (what the API
    serves) stays English."""
    from neurocart import i18n

    try:
        code, output = run(
            "user", "add", "ana", "--role", "nurse", "--password-stdin", stdin="long-password-1\n"
        )
        assert code == 0, output
        code, output = run(
            "--lang", "zh_CN", "user", "add", "ana", "--role", "nurse", "--password-stdin",
            stdin="long-password-2\n",
        )  # fmt: skip
        assert code == 2
        assert "username：用户名 'ana' 已被占用" in output
        code, output = run(
            "--lang", "zh_CN", "user", "add", "bo", "--role", "nurse", "--password-stdin",
            stdin="short\n",
        )  # fmt: skip
        assert code == 2
        assert "password：至少须 12 个字符" in output
        code, output = run(
            "--lang", "zh_CN", "user", "add", " ", "--role", "nurse", "--password-stdin",
            stdin="long-password-3\n",
        )  # fmt: skip
        assert code == 2
        assert "username：不能为空（得到 ' '）" in output  # an invalid record of the store
    finally:
        i18n.activate("en")


def test_the_audit_findings_read_in_chinese_on_the_command_line(migrated, tmp_path):
    """`neurocart --lang zh_CN audit verify` names a changed row, a deleted entry and an
    edited checkpoint line in Chinese, with the seq, the row, the values and the file kept;
    without --lang the same findings print in English."""
    from neurocart import i18n

    checkpoints = tmp_path / "chain.checkpoints"
    code, output = run(
        "user", "add", "ana", "--role", "neurologist", "--password-stdin",
        stdin="s3cret-password!\n",
    )  # fmt: skip
    assert code == 0, output
    with migrated.transaction() as session:
        ana = repo.get_user_by_username(session, "ana")
        assert ana is not None
        p = patient(session, ana)
        ids = repo.add_observations(session, ana, temperatures(p.id, 3))
    code, output = run("audit", "checkpoint", "--checkpoints", str(checkpoints))
    assert code == 0, output
    checkpoints.write_text(checkpoints.read_text().replace('"seq":3', '"seq":4'))
    with migrated.engine.begin() as connection:
        connection.execute(
            text("UPDATE observations SET value = 40 WHERE id = :id"), {"id": ids[1]}
        )
        connection.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    try:
        code, output = run(
            "--lang", "zh_CN", "audit", "verify", "--checkpoints", str(checkpoints)
        )  # fmt: skip
        assert code == 1, output
        assert "审计链在 序号 3 的条目：序号中断：条目 2 已被删除 处断裂" in output, output
        assert f"序号 3 的条目（observation {ids[1]}）：该行被绕过应用程序修改：" in output
        assert "检查点文件 chain.checkpoints 第 1 行：签名不一致（该行已被编辑）" in output
        assert "entry seq" not in output, output
        assert "behind" not in output, output
    finally:
        i18n.activate("en")
    code, output = run("audit", "verify", "--checkpoints", str(checkpoints))
    assert code == 1
    assert "audit chain broken at entry seq 3: gap in seq: entry 2 deleted" in output
    assert f"entry seq 3 (observation {ids[1]}): row changed behind the application's back" in (
        output
    )


def test_patient_list_counts_the_study_day_on_the_site_clock(migrated, monkeypatch):
    """Infused at 19:44 Beijing time on 2 March: at 03:00 the next morning `patient list` says
    day 1, as the board and the chart do, and gives the infusion's date on the site's clock."""
    from datetime import UTC, date, datetime

    from neurocart import i18n
    from neurocart.cli import clock
    from neurocart.config import get_settings

    monkeypatch.setenv("NEUROCART_TIMEZONE", "Asia/Shanghai")
    get_settings.cache_clear()
    monkeypatch.setattr(clock, "now", lambda: datetime(2025, 3, 2, 19, 0, tzinfo=UTC))
    with migrated.transaction() as session:
        nurse = repo.create_user(session, None, username="n", password_hash="x", role="nurse")
        pid = patient(session, nurse).id
        repo.create_course(session, nurse, repo.CourseIn(
            patient_id=pid, product="CD19 CAR-T", target="CD19", enrolment_date=date(2025, 2, 1),
            infusion_at=datetime(2025, 3, 2, 11, 44, tzinfo=UTC), protocol_id="nad-cart-2025",
        ))  # fmt: skip
    try:
        code, output = run("--lang", "zh_CN", "patient", "list")
    finally:
        get_settings.cache_clear()
        i18n.activate("en")  # the command set the process's language
    assert code == 0, output
    row = next(line for line in output.split("│ NC-") if "CD19 CAR-T" in line)
    assert "2025年3月2日" in row
    assert row.split("│")[-2].strip() == "1"


def test_redate_infusions_after_the_site_changed_its_zone(migrated, site_zone):
    """Courses recorded while the site's clock was UTC keep UTC dates; after the site moves
    to Asia/Shanghai, `db redate-infusions --dry-run` lists the one that differs and changes
    nothing, the command moves it (audited, under the OS user), and a second run has nothing
    to do."""
    from datetime import UTC, date, datetime

    from sqlalchemy import select

    from neurocart.store import audit
    from neurocart.store.models import AuditEntry

    with migrated.transaction() as session:
        nurse = repo.create_user(session, None, username="n", password_hash="x", role="nurse")
        pid = patient(session, nurse).id
        at = datetime(2025, 3, 2, 23, 30, tzinfo=UTC)  # 07:30 on 3 March in Beijing
        course = repo.create_course(
            session, nurse, repo.CourseIn(pid, "CD19 CAR-T", infusion_at=at)
        )
        assert course.infusion_date == date(2025, 3, 2)
    site_zone("Asia/Shanghai")
    code, output = run("db", "redate-infusions", "--dry-run")
    assert code == 0, output
    assert "1 course(s) would be re-dated (Asia/Shanghai)" in output
    assert "2025-03-02" in output
    assert "2025-03-03" in output
    with migrated.reading() as session:
        assert repo.get_course(session, course.id).infusion_date == date(2025, 3, 2)
    code, output = run("db", "redate-infusions")
    assert code == 0, output
    assert "1 course(s) re-dated (Asia/Shanghai)" in output
    with migrated.reading() as session:
        assert repo.get_course(session, course.id).infusion_date == date(2025, 3, 3)
        last = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
        assert audit.verify(session).ok
    assert last.action == "update"
    assert last.actor.startswith("cli:")
    code, output = run("db", "redate-infusions")
    assert code == 0, output
    assert "every infusion date is on the site's clock (Asia/Shanghai)" in output
