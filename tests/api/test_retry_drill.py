"""The retry drill: a real `neurocart serve`, batches sent with an Idempotency-Key over
connections cut at random points (and one SIGKILL of the server mid-request), every batch
retried until answered. Nothing may be stored twice and nothing acknowledged may be lost.

The figures (acknowledged, stored, duplicates, replays) are printed (`pytest -s`).
"""

from __future__ import annotations

import json
import random
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from neurocart.store import Database, Observation, audit, migrate, repo
from tests.api.conftest import bearer
from tests.api.server import Server
from tests.dbfixtures import postgres_reachable, temporary_pg_database

pytestmark = pytest.mark.slow
"""Real servers in subprocesses, two restarts: ~20–40 s per backend on a loaded machine."""

BATCHES = 24
ROWS = 100
PATH = "/api/v1/patients/P-1/observations/batch"


def _prepare(url: str) -> None:
    db = Database.from_url(url)
    migrate.upgrade(db.engine)
    with db.transaction() as session:
        repo.create_user(session, None, username="lab", password_hash="x", role="data_manager")
        repo.create_patient(
            session, None, repo.PatientIn(study_id="P-1", site="HD", sex="male", diagnosis="mg")
        )
    db.dispose()


def _body(batch: int) -> bytes:
    rows = []
    for i in range(ROWS):
        minute = batch * ROWS + i
        rows.append(
            {"code": "8310-5", "value": 36.0 + (minute % 30) / 10, "unit": "°C",
             "effective_at": f"2025-03-{1 + minute // 1440:02d}T{minute // 60 % 24:02d}:"
                             f"{minute % 60:02d}:00Z", "source": "drill"}
        )  # fmt: skip
    return json.dumps({"observations": rows}).encode()


def _cut(server: Server, headers: dict[str, str], key: str, body: bytes, how: int) -> None:
    """Send the request on a raw socket and drop the connection (RST) before the answer:
    0 = half the body sent, 1 = all of it then at once, 2 = all of it then after 30 ms."""
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Authorization: {headers['Authorization']}\r\nContent-Type: application/json\r\n"
        f"Idempotency-Key: {key}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    try:
        sock.sendall(head + (body[: len(body) // 2] if how == 0 else body))
        if how == 2:
            time.sleep(0.03)
    finally:
        sock.close()


def _retry(server: Server, headers: dict[str, str], key: str, body: bytes) -> httpx.Response:
    for _ in range(100):
        try:
            response = httpx.post(
                f"{server.url}{PATH}",
                content=body,
                headers=headers | {"Idempotency-Key": key, "Content-Type": "application/json"},
                timeout=30,
            )
        except httpx.TransportError:
            time.sleep(0.2)
            continue
        if response.status_code == 201:
            return response
        time.sleep(0.2)
    raise AssertionError(f"batch {key} was never acknowledged")


@pytest.fixture(params=["sqlite", "postgresql"])
def drill_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'drill.db'}"
        return
    if not postgres_reachable():
        pytest.skip("PostgreSQL not reachable at 127.0.0.1:5432")
    with temporary_pg_database() as pg:
        yield pg.render_as_string(hide_password=False)


def test_retries_after_killed_connections_store_every_batch_once(
    drill_url: str, tmp_path: Path
) -> None:
    _prepare(drill_url)
    log = tmp_path / "server.log"
    server = Server(drill_url, log).start()
    headers = bearer(drill_url, "lab")
    rng = random.Random(14)
    acknowledged, replays, answers = 0, 0, {}
    try:
        for b in range(BATCHES):
            key, body = f"drill-{b:03d}", _body(b)
            if b == BATCHES // 2:  # the server itself dies with the request in flight
                _cut(server, headers, key, body, 1)
                time.sleep(rng.uniform(0.0, 0.05))
                server.kill()
                server = Server(drill_url, log).start()
            else:
                _cut(server, headers, key, body, b % 3)
            if rng.random() < 0.3:  # sometimes the answer of a retry is lost too
                _cut(server, headers, key, body, 2)
            answer = _retry(server, headers, key, body)
            assert answer.json()["duplicates"] == []  # the key answered, not the natural check
            replays += answer.headers.get("Idempotent-Replayed") == "true"
            acknowledged += len(answer.json()["ids"])
            answers[key] = answer.json()
            again = _retry(server, headers, key, body)  # a client unsure of the answer
            assert again.headers["Idempotent-Replayed"] == "true"
            assert again.json() == answer.json()
    finally:
        server.stop()
    figures = _figures(drill_url)
    print(
        f"\nretry drill ({drill_url.split(':')[0]}): {BATCHES} batches x {ROWS} rows, "
        f"acknowledged {acknowledged}, stored {figures['stored']}, "
        f"duplicates {figures['duplicates']}, first answers replayed {replays}"
    )
    assert figures["duplicates"] == 0
    assert figures["stored"] == acknowledged == BATCHES * ROWS
    ids = [i for a in answers.values() for i in a["ids"]]
    assert len(set(ids)) == len(ids) == figures["stored"]


def _figures(url: str) -> dict[str, Any]:
    db = Database.from_url(url)
    with db.reading() as session:
        stored = session.scalar(
            select(func.count(Observation.id)).where(Observation.source == "drill")
        )
        distinct = session.execute(
            select(func.count()).select_from(
                select(Observation.code, Observation.effective_at, Observation.value)
                .where(Observation.source == "drill")
                .distinct()
                .subquery()
            )
        ).scalar_one()
        verification = audit.verify(session)
    db.dispose()
    assert verification.ok, verification.first
    return {"stored": int(stored or 0), "duplicates": int(stored or 0) - int(distinct)}
