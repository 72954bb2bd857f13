"""`neurocart demo` and `neurocart simulate`: the database they build, and the live streamer."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from neurocart.cli import app as cli
from neurocart.config import Settings
from neurocart.demo import DemoClock, DemoStreamer, build_demo, demo_usernames
from neurocart.security import Role
from neurocart.store import Database
from neurocart.store.models import Observation, Patient, TreatmentCourse, User
from tests.liveserver import serving

runner = CliRunner()


def test_demo_no_serve_builds_a_ward(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    result = runner.invoke(cli, ["demo", "--no-serve", "--no-monitor", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "neurologist.demo" in result.output
    assert "neurocart-demo" in result.output
    database = Database.from_url(f"sqlite:///{db}")
    now = datetime.now(UTC)
    try:
        with database.reading() as session:
            users = {u.username: u.role for u in session.scalars(select(User))}
            patients = session.scalars(select(Patient)).all()
            infusions = session.scalars(select(TreatmentCourse.infusion_at)).all()
    finally:
        database.dispose()
    assert {users[name] for name in demo_usernames().values()} == set(Role)
    assert len(patients) == 40
    acute = [t for t in infusions if t is not None and 0 <= (now - t).days <= 14]
    assert len(acute) >= 5
    assert any(t is None for t in infusions)  # some still before infusion
    assert any(t is not None and (now - t).days > 365 for t in infusions)  # long follow-up
    # An earlier demo is replaced, not appended to.
    again = runner.invoke(cli, ["demo", "--no-serve", "--db", str(db), "--patients", "3"])
    assert again.exit_code == 0, again.output
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT count(*) FROM patients").fetchone() == (3,)


@pytest.mark.parametrize("kind", ["real", "garbage"])
def test_demo_refuses_to_overwrite_other_databases(tmp_path: Path, kind: str) -> None:
    db = tmp_path / "neurocart.db"
    if kind == "real":
        with sqlite3.connect(db) as connection:
            connection.execute("CREATE TABLE users (username TEXT)")
            connection.execute("INSERT INTO users VALUES ('dr.house'), ('admin.demo')")
    else:
        db.write_bytes(b"not a database at all" * 100)
    before = db.read_bytes()
    result = runner.invoke(cli, ["demo", "--no-serve", "--db", str(db), "--patients", "2"])
    assert result.exit_code == 2
    assert "refusing to overwrite" in result.output
    assert db.read_bytes() == before


def test_simulate_prints_a_summary_and_refuses_duplicates(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sim.db'}"
    args = ["simulate", "--patients", "4", "--seed", "3", "--acute-now", "1"]
    args += ["--database-url", url, "--now", "2025-06-01T12:00:00Z"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "4 patients (seed 3, now 2025-06-01 12:00 UTC)" in result.output  # the site's zone
    assert "wrote 4 patients, 4 courses" in result.output
    for stage in ("screening", "acute", "follow-up"):
        assert stage in result.output
    again = runner.invoke(cli, args)
    assert again.exit_code == 2
    assert "already in the database" in again.output
    naive = runner.invoke(cli, [*args[:-1], "2025-06-01T12:00:00"])
    assert naive.exit_code == 2
    assert "--now" in naive.output


def test_the_summary_speaks_chinese_on_beijing_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from neurocart import i18n
    from neurocart.config import get_settings

    monkeypatch.setenv("NEUROCART_TIMEZONE", "Asia/Shanghai")
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    url = f"sqlite:///{tmp_path / 'sim.db'}"
    args = ["--lang", "zh_CN", "simulate", "--patients", "4", "--seed", "3", "--acute-now", "1"]
    args += ["--database-url", url, "--now", "2025-03-02T19:00:00Z", "--no-monitor"]
    try:
        result = runner.invoke(cli, args)
    finally:
        get_settings.cache_clear()
        i18n.activate("en")  # the command set the process's language
    assert result.exit_code == 0, result.output
    assert "当前 2025年3月3日 03:00（UTC+8）" in result.output  # not 2025-03-02 19:00 UTC
    assert "急性期：研究日 D0–D14" in result.output
    assert "随访" in result.output
    assert "follow" not in result.output


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, object, DemoClock]]:
    """A 6-patient demo database served by the real app on a free port, on the demo clock
    (one simulated hour per real second) that the streamer shares, as `neurocart demo` runs
    them: the API refuses facts timed after its own clock."""
    from neurocart.api import create_app
    from neurocart.runtime import Runtime

    built = build_demo(tmp_path / "demo.db", patients=6, seed=5, acute_now=2, monitor=False)
    settings = Settings(database_url=built.url, secret_key="x" * 40)
    database = Database.from_url(built.url)
    clock = DemoClock(built.sim.now, speed=3600.0)
    runtime = Runtime.build(settings, database, clock=clock.now)
    with serving(create_app(runtime=runtime)) as url:
        yield url, built, clock
    database.dispose()


def test_streamer_posts_vitals_through_the_api(served: tuple[str, object, DemoClock]) -> None:
    url, built, clock = served
    sim = built.sim  # type: ignore[attr-defined]
    said: list[str] = []
    streamer = DemoStreamer(url, sim, clock, step=timedelta(minutes=15), log=said.append)
    stop = threading.Event()
    thread = threading.Thread(target=streamer.run, args=(stop,), kwargs={"poll_seconds": 0.2})
    thread.start()
    time.sleep(3)
    stop.set()
    thread.join(timeout=30)
    streamer.close()
    stats = streamer.stats
    assert stats.rejected == 0, [line for line in said if "refused" in line]
    assert stats.observations >= 2 * 6 * 8  # 2 acute patients, ≥ 2 h of 15-min vital sets
    database = Database.from_url(built.url)  # type: ignore[attr-defined]
    try:
        with database.reading() as session:
            nurse = session.scalar(select(User.id).where(User.username == "nurse.demo"))
            posted = session.scalars(
                select(Observation).where(Observation.entered_by == nurse)
            ).all()
    finally:
        database.dispose()
    assert len(posted) == stats.observations
    assert {p.patient_id for p in posted}
    assert all(p.effective_at > sim.now for p in posted)


def test_streamer_posts_the_infusion_instant_and_local_dates(site_zone) -> None:
    """Patients still in screening reach their anchors during the demo: the stream posts the
    infusion as its instant (the acute rules count hours from it) and the other anchors as the
    date on the site's clock, which in Beijing is not the UTC date for an evening-UTC time."""
    from neurocart.simulate import simulate
    from neurocart.studyday import local_date

    zone = site_zone("Asia/Shanghai")
    sim = simulate(12, 3, now=datetime(2025, 3, 2, 19, tzinfo=UTC), stages={"screening": 1.0})
    streamer = DemoStreamer(
        "http://127.0.0.1:9", sim, DemoClock(sim.now, 1.0), client=httpx.Client()
    )
    try:
        anchors = streamer._planned_anchors()
    finally:
        streamer.close()
    assert anchors
    fields = {field for item in anchors for field in item.payload}
    assert "infusion_at" in fields
    assert "infusion_date" not in fields
    for item in anchors:
        ((field, sent),) = item.payload.items()
        if field == "infusion_at":
            assert datetime.fromisoformat(sent) == item.at
        else:
            assert sent == local_date(item.at, zone).isoformat()
