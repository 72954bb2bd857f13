"""Monitoring overhead and alert latency, over HTTP against running `neurocart serve`s.

Patients in study days 0–14 (patients and courses written through the services before the
servers start); vitals every few minutes and daily labs, posted as batches by several
clients that run in a process of their own (so the servers' cores are not shared with the
Python load generator's GIL):

(a) **throughput ratio** — sustained observations/s with monitoring on ÷ the same ingest
    with monitoring off, on two identical fresh databases side by side (NEUROCART_MONITORING),
    loaded in turn in alternating segments so that both see the same machine. On PostgreSQL
    each database is served by **two processes** (the load is spread over both; one leads
    the monitor, the other relays its alerts);
(b) **alert latency** — with monitoring on and a background load of ~1,000 observations/s,
    a fever is posted for a patient who had none (alternately to each process), and the
    time until its ``open`` action arrives on ``GET /api/v1/alerts/stream`` of the first
    process is measured, for ≥ 1,000 probes spread over the phase, with the servers ticking
    every 5 s so that ticks fall inside the window; p50, p99 and the maximum.

Targets: ratio ≥ 0.8; p99 ≤ 250 ms (2 cores). Loopback only.

    .venv/bin/python benchmarks/monitor.py [--backend postgresql|sqlite] [--seconds 20]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

import _harness as h
from neurocart.security import issue_token
from neurocart.store import Database, migrate, repo
from neurocart.store.accounts import AuthSession

SECRET = "benchmark-secret-key-0123456789abcdef0123"
PROBES = 1000
"""Patients kept afebrile by the load, each used once for a latency probe."""
LOAD_PATIENTS = 300
PATIENTS = PROBES + LOAD_PATIENTS
VITALS = [
    ("8310-5", "Cel", 36.4, 37.6),
    ("8867-4", "/min", 60, 100),
    ("8480-6", "mm[Hg]", 105, 140),
    ("59408-5", "%", 94, 99),
    ("9279-1", "/min", 12, 20),
]
LABS = [
    ("751-8", "10*9/L", 1.0, 4.0),
    ("777-3", "10*9/L", 80, 250),
    ("1988-5", "mg/L", 1, 40),
    ("2465-3", "g/L", 5, 12),
]
CLI = Path(sys.executable).with_name("neurocart")
PG_ADMIN = os.environ.get(
    "NEUROCART_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fill(url: str) -> None:
    db = Database.from_url(url)
    migrate.upgrade(db.engine)
    now = datetime.now(UTC)
    rng = random.Random(5)
    with db.transaction() as s:
        user = repo.create_user(s, None, username="bench", password_hash="x", role="neurologist")
        s.add(  # the session HEADERS' token names (one id in every benchmark database)
            AuthSession(sid=SESSION, user_id=user.id, kind="api", client="bench",
                        created_at=now, last_seen_at=now, expires_at=now + timedelta(hours=12))
        )  # fmt: skip
        for i in range(PATIENTS):
            p = repo.create_patient(s, None, repo.PatientIn(f"BM-{i:04d}", "HD", "female", "nmosd"))
            infusion = now - timedelta(days=rng.uniform(0.5, 13.5))
            repo.create_course(s, None, repo.CourseIn(p.id, "x", infusion_at=infusion))
    db.dispose()


@contextlib.contextmanager
def databases(backend: str, tmp: Path) -> Iterator[dict[bool, str]]:
    """Two identical fresh databases (monitoring off / on)."""
    if backend == "sqlite":
        urls = {m: f"sqlite:///{tmp / f'mon-{m}.db'}" for m in (False, True)}
        for url in urls.values():
            fill(url)
        yield urls
        return
    from sqlalchemy import create_engine, make_url
    from sqlalchemy.pool import NullPool

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    names = {m: f"neurocart_bench_{os.getpid()}_{int(m)}" for m in (False, True)}
    with admin.connect() as c:
        for name in names.values():
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    urls = {
        m: make_url(PG_ADMIN).set(database=n).render_as_string(hide_password=False)
        for m, n in names.items()
    }
    try:
        for url in urls.values():
            fill(url)
        yield urls
    finally:
        with admin.connect() as c:
            for name in names.values():
                c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


class Server:
    def __init__(self, url: str, monitoring: bool, log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = os.environ | {
            "NEUROCART_SECRET_KEY": SECRET,
            "NEUROCART_MONITORING": "true" if monitoring else "false",
            "NEUROCART_MONITOR_TICK_SECONDS": "5",
        }
        self.log = log.open("ab")
        self.process = subprocess.Popen(
            [str(CLI), "serve", "--port", str(self.port), "--database-url", url,
             "--log-level", "warning"],
            stdout=self.log, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip

    def wait(self, live: bool) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                r = httpx.get(f"{self.base}/api/v1/health", timeout=1)
                if r.status_code == 200 and (
                    not live or r.json()["monitor"]["state"] not in ("starting", "catching up")
                ):
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not start (log {self.log.name})")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


SESSION = "benchmark-session"
HEADERS = {
    "Authorization": "Bearer "
    + issue_token("bench", "neurologist", secret=SECRET, session_id=SESSION)
}


def batch_for(rng: random.Random, batch: int, now: datetime, febrile: bool) -> list[dict[str, Any]]:
    """`batch` rows: vitals sets 3 minutes apart ending now, plus a lab panel now and then."""
    rows: list[dict[str, Any]] = []
    step = 0
    while len(rows) < batch:
        at = (now - timedelta(minutes=3 * step)).isoformat()
        for code, unit, low, high in VITALS:
            value = round(rng.uniform(low, high), 1)
            if febrile and code == "8310-5":
                value = round(rng.uniform(38.1, 39.0), 1)
            rows.append(
                {"code": code, "value": value, "unit": unit, "effective_at": at, "source": "bench"}
            )
        if step % 20 == 0:
            for code, unit, low, high in LABS:
                rows.append({"code": code, "value": round(rng.uniform(low, high), 1),
                             "unit": unit, "effective_at": at, "source": "lab"})  # fmt: skip
        step += 1
    return rows[:batch]


def _client(
    bases: list[str], stop: Any, counter: Any, seed: int, batch: int, rate: float | None
) -> None:
    """One client thread: batches for random load patients until `stop` (optionally paced)."""
    rng = random.Random(seed)
    clients = [httpx.Client(base_url=b, headers=HEADERS, timeout=60) for b in bases]
    next_at = time.monotonic()
    k = 0
    try:
        while not stop.is_set():
            i = rng.randrange(PROBES, PATIENTS)
            rows = batch_for(rng, batch, datetime.now(UTC), febrile=rng.random() < 0.05)
            r = clients[k % len(clients)].post(
                f"/api/v1/patients/BM-{i:04d}/observations/batch", json={"observations": rows}
            )
            k += 1
            if r.status_code != 201:
                raise RuntimeError(f"{r.status_code}: {r.text[:300]}")
            with counter.get_lock():
                counter.value += len(rows)
            if rate is not None:
                next_at += batch / rate
                time.sleep(max(0.0, next_at - time.monotonic()))
    finally:
        for c in clients:
            c.close()


def _load_process(
    bases: list[str], stop: Any, counter: Any, clients: int, batch: int, seed: int,
    rate: float | None,
) -> None:  # fmt: skip
    each = None if rate is None else rate / clients
    threads = [
        threading.Thread(target=_client, args=(bases, stop, counter, seed + i, batch, each))
        for i in range(clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


class Load:
    """`clients` clients in a process of their own posting batches to `bases` until
    `close`, unpaced or together at `rate` observations/s; `count()` posted so far."""

    def __init__(
        self, bases: list[str], clients: int, batch: int, seed: int, rate: float | None = None
    ) -> None:
        ctx = mp.get_context("spawn")
        self.stop = ctx.Event()
        self.counter = ctx.Value("q", 0)
        self.process = ctx.Process(
            target=_load_process,
            args=(bases, self.stop, self.counter, clients, batch, seed, rate),
            daemon=True,
        )
        self.process.start()

    def count(self) -> int:
        return int(self.counter.value)

    def started(self, timeout: float = 120.0) -> Load:
        """Wait until the clients have stored something (a spawned process imports first)."""
        deadline = time.monotonic() + timeout
        while self.count() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # warm: connections open, the servers busy
        return self

    def close(self) -> None:
        self.stop.set()
        self.process.join(30)


def throughput(
    pairs: dict[bool, list[str]], seconds: float, clients: int, batch: int, rounds: int = 4
) -> dict[bool, float]:
    """Observations/s of each setup (monitoring off / on), in alternating segments."""
    done = dict.fromkeys(pairs, 0)
    elapsed = dict.fromkeys(pairs, 0.0)
    order = sorted(pairs)
    for k in range(rounds):
        for monitoring in order if k % 2 == 0 else order[::-1]:
            loader = Load(pairs[monitoring], clients, batch, seed=10 * k).started()
            start_count, start = loader.count(), time.monotonic()
            time.sleep(seconds / rounds)
            done[monitoring] += loader.count() - start_count
            elapsed[monitoring] += time.monotonic() - start
            loader.close()
    return {m: done[m] / elapsed[m] for m in pairs}


STREAM_SECONDS = 3600.0
"""The stream's lifetime: longer than any phase (on a loaded machine the probes' posts
take longer than their pacing, and a stream that closed early would lose the rest)."""


def latency(
    bases: list[str], seconds: float, clients: int, batch: int, rate: float
) -> tuple[list[float], int, float, float]:
    """Fever → SSE `open` latencies (s) under a paced background load of `rate` obs/s;
    also the probes sent, the background rate measured and the phase's length (s)."""
    sent: dict[str, float] = {}
    arrived: dict[str, float] = {}
    ready, stop, ended = threading.Event(), threading.Event(), threading.Event()

    why: list[str] = []

    def listen() -> None:
        try:
            _listen()
        except httpx.HTTPError as exc:  # the server stopped, or the stream broke
            why.append(repr(exc))
        ended.set()  # before `stop`: the stream closed early and the figure is void
        ready.set()

    def _listen() -> None:
        with httpx.stream("GET", f"{bases[0]}/api/v1/alerts/stream", headers=HEADERS,
                          params={"discipline": "hematology", "seconds": STREAM_SECONDS},
                          timeout=STREAM_SECONDS + 30) as r:  # fmt: skip
            ready.set()
            for line in r.iter_lines():
                if line.startswith("data:"):
                    action = json.loads(line[5:])
                    sid = action["study_id"]
                    if action["kind"] == "open" and sid in sent and sid not in arrived:
                        arrived[sid] = time.monotonic()
                if stop.is_set():
                    return

    # the load first: its process may take long to start on a busy machine, and the stream's
    # lifetime counts from its opening
    background_load = Load(bases, clients, batch, seed=100, rate=rate).started()
    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    ready.wait(10)
    time.sleep(0.3)
    start, start_count = time.monotonic(), background_load.count()
    posters = [httpx.Client(base_url=b, headers=HEADERS, timeout=30) for b in bases]
    probe = 0
    interval = seconds / PROBES
    next_at = time.monotonic()
    while probe < PROBES:
        sid = f"BM-{probe:04d}"
        body = {"code": "8310-5", "value": 38.6, "unit": "Cel",
                "effective_at": datetime.now(UTC).isoformat(), "source": "bench"}  # fmt: skip
        sent[sid] = time.monotonic()
        r = posters[probe % len(posters)].post(f"/api/v1/patients/{sid}/observations", json=body)
        if r.status_code != 201:
            raise RuntimeError(f"{r.status_code}: {r.text[:300]}")
        probe += 1
        next_at += interval  # all the probes within the phase: p99 is not a max
        time.sleep(max(0.0, next_at - time.monotonic()))
    window = time.monotonic() - start
    background = (background_load.count() - start_count) / window
    time.sleep(3.0)
    closed_early = ended.is_set()
    stop.set()
    background_load.close()
    for c in posters:
        c.close()
    if closed_early:
        raise RuntimeError(
            f"the alert stream closed before the probes were done ({why or 'by the server'}; "
            f"{len(arrived)} of {len(sent)} arrived)"
        )
    return sorted(arrived[s] - sent[s] for s in arrived), len(sent), background, window


def pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--seconds", type=float, default=12.0, help="per mode and measurement")
    parser.add_argument("--probe-seconds", type=float, default=40.0, help="latency phase")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--rate", type=float, default=1000.0, help="background obs/s in (b)")
    parser.add_argument("--repeat", type=int, default=5, help="throughput measurements")
    args = parser.parse_args()
    per_db = 2 if args.backend == "postgresql" else 1
    with tempfile.TemporaryDirectory(prefix="neurocart-bench-") as tmp:
        log = Path(tmp) / "server.log"
        with databases(args.backend, Path(tmp)) as urls:
            servers = {m: [Server(urls[m], m, log) for _ in range(per_db)] for m in urls}
            try:
                for group in servers.values():
                    for server in group:
                        server.wait(live=True)
                bases = {m: [s.base for s in group] for m, group in servers.items()}
                ratios = []
                for _ in range(args.repeat):
                    rates = throughput(bases, args.seconds, args.clients, args.batch)
                    ratios.append((rates[True] / rates[False], rates))
                for server in servers.pop(False):
                    server.stop()
                lat, sent, background, window = latency(
                    bases[True], args.probe_seconds, args.clients, args.batch, args.rate
                )
            finally:
                for group in servers.values():
                    for server in group:
                        server.stop()
    ratio = statistics.median(r for r, _ in ratios)
    spread = max(r for r, _ in ratios) - min(r for r, _ in ratios)
    _, rates = ratios[len(ratios) // 2]
    print(f"(a) target: ingest with monitoring on ÷ off ≥ 0.8 ({args.backend}, {per_db} "
          f"server process(es) per database, load generator in its own process, "
          f"{args.clients} clients, batches of {args.batch})")  # fmt: skip
    print(f"    off {rates[False]:,.0f} obs/s, on {rates[True]:,.0f} obs/s → ratio {ratio:.2f}"
          f" (median of {len(ratios)}, spread {spread:.2f}) "
          f"{'PASS' if ratio >= 0.8 else 'BELOW'}")  # fmt: skip
    if lat:
        p50, p99 = pct(lat, 0.5) * 1000, pct(lat, 0.99) * 1000
        print(f"(b) target: fever POST → SSE alert p99 ≤ 250 ms; {len(lat)} of {sent} probes "
              f"arrived, background {background:,.0f} obs/s over {window:.0f} s, "
              "ticks every 5 s")  # fmt: skip
        print(f"    p50 {p50:.0f} ms, p99 {p99:.0f} ms, max {lat[-1] * 1000:.0f} ms "
              f"{'PASS' if p99 <= 250 and len(lat) == sent else 'BELOW'}")  # fmt: skip
    print(f"    cores: {os.cpu_count()}")
    h.report("monitor", f"HTTP ingest monitoring on ÷ off ≥ 0.8 ({args.backend})",
             f"{ratio:.2f}", f"median of {len(ratios)}, spread {spread:.2f}",
             ratio >= 0.8, f"off {rates[False]:,.0f} obs/s")  # fmt: skip
    if lat:
        h.report("monitor", "fever POST → SSE alert p99 ≤ 250 ms", f"{p99:.0f} ms",
                 f"p50 {p50:.0f} ms, max {lat[-1] * 1000:.0f} ms, {len(lat)} probes",
                 p99 <= 250 and len(lat) == sent)  # fmt: skip


if __name__ == "__main__":
    main()
