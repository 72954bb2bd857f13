"""Nothing acknowledged is lost: batches posted to a real server, which is SIGKILLed mid-stream.

Each batch carries its own marker in `source`; after a restart every acknowledged batch is
present in full, no batch is present in part, and the audit chain verifies. Concurrent
writers: 8 clients posting at once lose nothing, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from neurocart.api.pagination import MAX_LIMIT
from neurocart.store import Database, Observation, audit, migrate, repo
from tests.api.conftest import bearer, read_all
from tests.api.server import Server
from tests.dbfixtures import postgres_reachable, temporary_pg_database

pytestmark = pytest.mark.slow
"""Real servers in subprocesses: ~10–20 s per test on a loaded machine."""

ROWS = 200


def _prepare(url: str) -> None:
    db = Database.from_url(url)
    migrate.upgrade(db.engine)
    with db.transaction() as session:
        repo.create_user(session, None, username="lab", password_hash="x", role="data_manager")
        repo.create_patient(
            session, None, repo.PatientIn(study_id="P-1", site="HD", sex="male", diagnosis="mg")
        )
    db.dispose()


def _batch(marker: str) -> dict[str, object]:
    return {
        "observations": [
            {
                "code": "8310-5",
                "value": 36.0 + (i % 30) / 10,
                "unit": "°C",
                "effective_at": f"2025-03-03T{i // 60 % 24:02d}:{i % 60:02d}:00Z",
                "source": marker,
            }
            for i in range(ROWS)
        ]
    }


def _token(url: str) -> dict[str, str]:
    return bearer(url, "lab")


def _counts(url: str) -> dict[str, int]:
    db = Database.from_url(url)
    with db.reading() as session:
        rows = session.execute(
            select(Observation.source, func.count()).group_by(Observation.source)
        ).all()
        verification = audit.verify(session)
    db.dispose()
    assert verification.ok, verification.first
    return dict(rows)


def test_acknowledged_batches_survive_sigkill(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'durable.db'}"
    _prepare(url)
    server = Server(url, tmp_path / "server.log").start()
    headers = _token(url)
    acknowledged: list[str] = []
    sent: list[str] = []
    killed = threading.Event()

    def killer() -> None:
        while len(acknowledged) < 15:
            time.sleep(0.005)
        server.kill()
        killed.set()

    thread = threading.Thread(target=killer)
    thread.start()
    try:
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
            for n in range(50):
                marker = f"batch-{n:03d}"
                sent.append(marker)
                try:
                    response = client.post(
                        "/api/v1/patients/P-1/observations/batch", json=_batch(marker)
                    )
                except httpx.TransportError:
                    break
                if response.status_code == 201:
                    assert response.json()["count"] == ROWS
                    acknowledged.append(marker)
    finally:
        thread.join(30)
        server.kill()
    assert killed.is_set()
    assert 15 <= len(acknowledged) < 50, "the kill must land mid-stream"

    restarted = Server(url, tmp_path / "server.log").start()
    try:
        assert httpx.get(f"{restarted.url}/api/v1/health").status_code == 200
        listed = read_all(
            httpx.get,
            "/api/v1/patients/P-1/observations",
            restarted.url,
            params={"limit": MAX_LIMIT},
            headers=headers,
            timeout=30,
        )
    finally:
        restarted.stop()
    counts = _counts(url)
    assert all(counts.get(m) == ROWS for m in acknowledged), "an acknowledged batch was lost"
    assert set(counts.values()) <= {ROWS}, f"a half-written batch: {counts}"
    assert set(counts) <= set(sent)
    assert len(listed) == ROWS * len(counts)


@pytest.fixture(params=["sqlite", "postgresql"])
def server_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'concurrent.db'}"
        return
    if not postgres_reachable():
        pytest.skip("PostgreSQL not reachable at 127.0.0.1:5432")
    with temporary_pg_database() as pg:
        yield pg.render_as_string(hide_password=False)


def test_eight_concurrent_writers_lose_nothing(server_url: str, tmp_path: Path) -> None:
    _prepare(server_url)
    server = Server(server_url, tmp_path / "server.log").start()
    headers = _token(server_url)
    clients, batches = 8, 6

    def writer(k: int) -> list[str]:
        done = []
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
            for n in range(batches):
                marker = f"w{k}-b{n}"
                response = client.post(
                    "/api/v1/patients/P-1/observations/batch", json=_batch(marker)
                )
                assert response.status_code == 201, response.text
                done.append(marker)
        return done

    try:
        with ThreadPoolExecutor(clients) as pool:
            acknowledged = [m for done in pool.map(writer, range(clients)) for m in done]
    finally:
        server.stop()
    counts = _counts(server_url)
    assert len(acknowledged) == clients * batches
    assert counts == dict.fromkeys(acknowledged, ROWS)
