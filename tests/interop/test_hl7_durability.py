"""The MLLP listener killed mid-stream loses no acknowledged message, and a resend after the
restart stores nothing twice. A real `neurocart hl7 listen` process on 127.0.0.1, SIGKILLed
while a pipelined stream of ORU^R01 messages is in flight."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select

from neurocart.store import Database, Patient, User
from neurocart.store.interop import FeedMessage
from neurocart.store.models import Observation
from tests.interop import hl7_messages as hm

N = 120
KILL_AFTER = 40
pytestmark = pytest.mark.slow


def _message(i: int) -> str:
    return hm.oru(
        f"DUR{i:05d}",
        pid="NC-0007^^^NEUROCART^PI",
        order=f"ORD{i:05d}^LIS",
        value=f"{10 + i % 50}.5",
    )


@contextmanager
def _listener(url: str) -> Iterator[tuple[subprocess.Popen[str], int]]:
    env = {**os.environ, "NEUROCART_DATABASE_URL": url}
    command = [str(Path(sys.executable).parent / "neurocart"), "hl7", "listen", "--port", "0"]
    command += ["--as", "lis-feed"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r":(\d+)\s*$", line)
        assert match, f"no port in {line!r}"
        yield process, int(match.group(1))
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)


def _acks(conn: socket.socket, count: int, stop_after: int | None = None) -> list[str]:
    acks: list[str] = []
    buffer = b""
    while len(acks) < count and (stop_after is None or len(acks) < stop_after):
        chunk = conn.recv(65536)
        if not chunk:
            break
        buffer += chunk
        while b"\x1c\r" in buffer:
            block, buffer = buffer.split(b"\x1c\r", 1)
            acks.append(block.lstrip(b"\x0b").decode())
    return acks


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_killed_listener_loses_no_acknowledged_message(
    db_url: str, database: Database, feed_user: User, patient: Patient, tmp_path: Path
) -> None:
    frames = [b"\x0b" + _message(i).encode() + b"\x1c\r" for i in range(N)]
    with _listener(db_url) as (process, port):
        conn = socket.create_connection(("127.0.0.1", port), timeout=60)
        sender = threading.Thread(target=lambda: conn.sendall(b"".join(frames)), daemon=True)
        sender.start()  # pipelined: many messages in flight when the kill lands
        acks = _acks(conn, N, stop_after=KILL_AFTER)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        acks += _acks(conn, N)  # whatever was already on the wire
        conn.close()
    assert KILL_AFTER <= len(acks) < N
    acked = [hm.msa(a)[2] for a in acks if hm.msa(a)[1] == "AA"]
    assert len(acked) == len(acks)
    with database.reading() as session:
        kept = set(
            session.scalars(select(FeedMessage.control_id).where(FeedMessage.status == "accepted"))
        )
        stored = session.scalar(select(func.count()).select_from(Observation))
    assert set(acked) <= kept  # every acknowledged message was committed
    assert stored == len(kept)

    with _listener(db_url) as (_, port):  # the sender resends everything after the restart
        conn = socket.create_connection(("127.0.0.1", port), timeout=60)
        conn.sendall(b"".join(frames))
        again = _acks(conn, N)
        conn.close()
    assert [hm.msa(a)[1] for a in again] == ["AA"] * N
    by_id = {hm.msa(a)[2]: a for a in again}
    assert all(by_id[c] == a for c, a in zip(acked, acks, strict=False))  # original ACKs
    with database.reading() as session:
        assert session.scalar(select(func.count()).select_from(Observation)) == N
