"""Several server processes, one monitor: real `neurocart serve` subprocesses.

- PostgreSQL: two servers on one database both accept writes; exactly one leads the monitor;
  an alert raised by a fact posted to either reaches the SSE clients of both, once per
  episode. The leader SIGKILLed under load: the standby takes over within 15 s, no fact is
  missed (the stored alert log equals a replay of the journal) and no alert is duplicated.
- SQLite: a second server on the same file is refused at once, naming the file.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from neurocart.services.journal import rebuild
from neurocart.store import Database, migrate, repo
from neurocart.store.models import Alert, AlertAction
from tests.api.conftest import SECRET, bearer
from tests.api.server import CLI, Server, free_port
from tests.dbfixtures import postgres_reachable, temporary_pg_database

pytestmark = pytest.mark.slow
"""Real servers in subprocesses: ~20–40 s for the module on a loaded machine."""

PATIENTS = 6


def _prepare(url: str, infusion: datetime) -> None:
    db = Database.from_url(url)
    migrate.upgrade(db.engine)
    with db.transaction() as s:
        repo.create_user(s, None, username="nurse", password_hash="x", role="nurse")
        for i in range(PATIENTS):
            p = repo.create_patient(s, None, repo.PatientIn(f"PR-{i}", "HD", "female", "mg"))
            repo.create_course(s, None, repo.CourseIn(p.id, "x", infusion_at=infusion))
    db.dispose()


@functools.cache
def _nurse(url: str) -> dict[str, str]:
    """The nurse's headers, one session per database (shared by every server on it)."""
    return bearer(url, "nurse")


def _health(server: Server) -> dict[str, Any]:
    return httpx.get(f"{server.url}/api/v1/health", timeout=5).json()["monitor"]  # type: ignore[no-any-return]


def _wait(predicate: Any, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if predicate():
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _temperature(study_id: str, value: float, at: datetime, server: Server) -> httpx.Response:
    body = {"code": "8310-5", "value": value, "unit": "Cel", "effective_at": at.isoformat(),
            "source": "ward"}  # fmt: skip
    return httpx.post(
        f"{server.url}/api/v1/patients/{study_id}/observations",
        json=body,
        headers=_nurse(server.database_url),
        timeout=10,
    )


class Stream:
    """An SSE client collecting the alert actions a server pushes."""

    def __init__(self, server: Server) -> None:
        self.events: list[dict[str, Any]] = []
        self.ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(server,), daemon=True)
        self._thread.start()
        assert self.ready.wait(10), "stream did not open"

    def _run(self, server: Server) -> None:
        url = f"{server.url}/api/v1/alerts/stream?seconds=60"
        try:
            with httpx.stream("GET", url, headers=_nurse(server.database_url), timeout=70) as r:
                self.ready.set()
                for line in r.iter_lines():
                    if line.startswith("data:"):
                        self.events.append(json.loads(line[5:]))
        except httpx.HTTPError:
            self.ready.set()

    def keys(self, kind: str) -> list[str]:
        return [e["alert_key"] for e in list(self.events) if e["kind"] == kind]


@pytest.fixture
def pg_url() -> Iterator[str]:
    if not postgres_reachable():
        pytest.skip("PostgreSQL not reachable at 127.0.0.1:5432")
    with temporary_pg_database() as url:
        yield url.render_as_string(hide_password=False)


def _stored(url: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    db = Database.from_url(url)
    with db.reading() as s:
        persisted = list(s.scalars(select(AlertAction.payload).order_by(AlertAction.id)))
        _, actions = rebuild(s)
        keys = list(s.scalars(select(Alert.key)))
    db.dispose()
    replayed = json.loads(json.dumps([a.to_dict() for a in actions]))
    return persisted, replayed, keys


def test_two_processes_share_one_monitor_and_survive_the_leaders_sigkill(
    pg_url: str, tmp_path: Path
) -> None:
    infusion = datetime.now(UTC) - timedelta(days=2)
    _prepare(pg_url, infusion)
    a = Server(pg_url, tmp_path / "a.log").start()
    b = Server(pg_url, tmp_path / "b.log").start()
    try:
        _wait(lambda: {_health(a)["role"], _health(b)["role"]} == {"leader", "standby"}, 20,
              "one leader and one standby")  # fmt: skip
        leader, standby = (a, b) if _health(a)["role"] == "leader" else (b, a)
        streams = [Stream(leader), Stream(standby)]
        # a fever posted to the standby: accepted, one alert, on both streams
        response = _temperature("PR-0", 39.2, infusion + timedelta(hours=30), standby)
        assert response.status_code == 201, response.text
        _wait(lambda: all(s.keys("open") for s in streams), 15, "the alert on both streams")
        assert [s.keys("open") for s in streams] == [["PR-0:crs:1"], ["PR-0:crs:1"]]
        assert _temperature("PR-0", 39.4, infusion + timedelta(hours=31), leader).status_code == 201

        # load on the standby while the leader is SIGKILLed
        posted: list[int] = []
        stop = threading.Event()

        def load() -> None:
            k = 0
            while not stop.is_set():
                study_id = f"PR-{1 + k % (PATIENTS - 1)}"
                at = infusion + timedelta(hours=32, minutes=k)
                if _temperature(study_id, 38.0 + (k % 15) / 10, at, standby).status_code == 201:
                    posted.append(k)
                k += 1

        loader = threading.Thread(target=load, daemon=True)
        loader.start()
        time.sleep(1.5)
        killed_at = time.monotonic()
        leader.kill()
        _wait(lambda: _health(standby)["role"] == "leader", 15, "the standby to take over")
        took_over = time.monotonic() - killed_at
        time.sleep(1.0)
        stop.set()
        loader.join(10)
        assert posted, "the load stored nothing"
        _wait(lambda: _health(standby)["state"] == "live"
              and _health(standby)["journal_seq"] >= _health(standby)["journal_head"], 20,
              "the new leader to catch up")  # fmt: skip
        assert took_over < 15
    finally:
        a.stop()
        b.stop()
    persisted, replayed, keys = _stored(pg_url)
    assert len(keys) == len(set(keys))  # one row per alert episode
    assert persisted == replayed  # nothing missed, nothing twice, in journal order
    assert {k.split(":")[0] for k in keys} >= {"PR-0", "PR-1"}


def test_a_second_server_on_one_sqlite_file_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ward.db'}"
    _prepare(url, datetime.now(UTC))
    first = Server(url, tmp_path / "first.log").start()
    try:
        second = subprocess.run(
            [str(CLI), "serve", "--port", str(free_port()), "--database-url", url],
            capture_output=True,
            text=True,
            timeout=60,
            env=os.environ | {"NEUROCART_SECRET_KEY": SECRET},
        )
        assert second.returncode == 2
        assert "already served by process" in second.stderr
        assert "ward.db" in second.stderr
        assert _health(first)["role"] == "leader"
    finally:
        first.stop()
