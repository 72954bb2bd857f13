"""Monitoring overhead and alert latency, over HTTP against a running `neurocart serve`.

500 patients in study days 0–14 (patients and courses written through the services before
the server starts); vitals (temperature, heart rate, systolic BP, SpO₂, respiratory rate)
every few minutes and daily labs, posted as batches by several concurrent clients:

(a) **throughput ratio** — sustained observations/s with monitoring on ÷ the same ingest with
    monitoring off: two servers side by side (NEUROCART_MONITORING) on two identical fresh
    databases, loaded in turn in alternating segments (off-on, on-off, ...) so that both
    see the same machine;
(b) **alert latency** — with monitoring on and a background load of ~1,000 observations/s,
    a fever is posted for a patient who had none, and the time until its ``open`` action
    arrives on ``GET /api/v1/alerts/stream`` is measured, for 200 probes spread over the
    phase (200 patients, one each); p50, p99 and the maximum.

Goals: ratio ≥ 0.8; p99 ≤ 250 ms (on 2 cores). Loopback only; SQLite files.

    .venv/bin/python benchmarks/monitor.py [--seconds 20] [--clients 4] [--batch 50]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

import _harness as h
from neurocart.security import issue_token
from neurocart.store import Database, migrate, repo

SECRET = "benchmark-secret-key-0123456789abcdef0123"
PATIENTS = 500
PROBES = 200
"""Patients kept afebrile by the load, each used once for a latency probe."""
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_database(path: Path) -> str:
    url = f"sqlite:///{path}"
    db = Database.from_url(url)
    migrate.upgrade(db.engine)
    now = datetime.now(UTC)
    rng = random.Random(5)
    with db.transaction() as s:
        repo.create_user(s, None, username="bench", password_hash="x", role="neurologist")
        for i in range(PATIENTS):
            p = repo.create_patient(s, None, repo.PatientIn(f"BM-{i:04d}", "HD", "female", "nmosd"))
            infusion = now - timedelta(days=rng.uniform(0.5, 13.5))
            repo.create_course(s, None, repo.CourseIn(p.id, "x", infusion_at=infusion))
    db.dispose()
    return url


class Server:
    def __init__(self, url: str, monitoring: bool, log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = os.environ | {
            "NEUROCART_SECRET_KEY": SECRET,
            "NEUROCART_MONITORING": "true" if monitoring else "false",
        }
        self.log = log.open("ab")
        self.process = subprocess.Popen(
            [str(CLI), "serve", "--port", str(self.port), "--database-url", url,
             "--log-level", "warning"],
            stdout=self.log, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/api/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start (log {log})")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


HEADERS = {"Authorization": f"Bearer {issue_token('bench', 'neurologist', secret=SECRET)}"}


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


def load(
    base: str, stop: threading.Event, counter: list[int], seed: int, batch: int,
    rate: float | None, latencies: list[float],
) -> None:  # fmt: skip
    """One client: batches for random non-probe patients until `stop` (optionally paced)."""
    rng = random.Random(seed)
    with httpx.Client(base_url=base, headers=HEADERS, timeout=60) as client:
        next_at = time.monotonic()
        while not stop.is_set():
            i = rng.randrange(PROBES, PATIENTS)
            rows = batch_for(rng, batch, datetime.now(UTC), febrile=rng.random() < 0.05)
            t = time.monotonic()
            r = client.post(f"/api/v1/patients/BM-{i:04d}/observations/batch",
                            json={"observations": rows})  # fmt: skip
            latencies.append(time.monotonic() - t)
            if r.status_code != 201:
                raise RuntimeError(f"{r.status_code}: {r.text[:300]}")
            counter[0] += len(rows)
            if rate is not None:
                next_at += batch / rate
                time.sleep(max(0.0, next_at - time.monotonic()))


class Load:
    """`clients` clients posting batches to one server until `close`, unpaced or together at
    `rate` observations/s; `count` is what they have posted so far."""

    def __init__(
        self, base: str, clients: int, batch: int, seed: int, rate: float | None = None
    ) -> None:
        self.stop = threading.Event()
        self.counters = [[0] for _ in range(clients)]
        latencies: list[float] = []
        each = None if rate is None else rate / clients
        self.threads = [
            threading.Thread(
                target=load,
                args=(base, self.stop, self.counters[i], seed + i, batch, each, latencies),
            )
            for i in range(clients)
        ]
        for t in self.threads:
            t.start()

    def count(self) -> int:
        return sum(c[0] for c in self.counters)

    def close(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()


def throughput(
    bases: dict[bool, str], seconds: float, clients: int, batch: int, rounds: int = 4
) -> dict[bool, float]:
    """Observations/s of each server (monitoring off / on), measured in alternating segments
    (off-on, on-off, ...) so that both see the same machine: a shared 2-core machine drifts
    by more than the difference measured when the two runs follow each other."""
    done = dict.fromkeys(bases, 0)
    elapsed = dict.fromkeys(bases, 0.0)
    order = sorted(bases)
    for k in range(rounds):
        for monitoring in order if k % 2 == 0 else order[::-1]:
            loader = Load(bases[monitoring], clients, batch, seed=10 * k)
            time.sleep(1.0)  # warm: connections open, the server busy
            start_count, start = loader.count(), time.monotonic()
            time.sleep(seconds / rounds)
            done[monitoring] += loader.count() - start_count
            elapsed[monitoring] += time.monotonic() - start
            loader.close()
    return {m: done[m] / elapsed[m] for m in bases}


def latency(base: str, seconds: float, clients: int, batch: int, rate: float) -> list[float]:
    """Fever → SSE `open` latencies (s) under a paced background load of `rate` obs/s."""
    sent: dict[str, float] = {}
    arrived: dict[str, float] = {}
    ready, stop = threading.Event(), threading.Event()

    def listen() -> None:
        try:
            _listen()
        except httpx.HTTPError:
            ready.set()  # the server stopped

    def _listen() -> None:
        with httpx.stream("GET", f"{base}/api/v1/alerts/stream", headers=HEADERS,
                          params={"discipline": "hematology", "seconds": seconds + 30},
                          timeout=seconds + 60) as r:  # fmt: skip
            ready.set()
            for line in r.iter_lines():
                if line.startswith("data:"):
                    action = json.loads(line[5:])
                    sid = action["study_id"]
                    if action["kind"] == "open" and sid in sent and sid not in arrived:
                        arrived[sid] = time.monotonic()
                if stop.is_set():
                    return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    ready.wait(10)
    time.sleep(0.3)
    background_load = Load(base, clients, batch, seed=100, rate=rate)
    time.sleep(1.0)
    start = time.monotonic()
    with httpx.Client(base_url=base, headers=HEADERS, timeout=30) as client:
        probe = 0
        while time.monotonic() - start < seconds and probe < PROBES:
            sid = f"BM-{probe:04d}"
            body = {"code": "8310-5", "value": 38.6, "unit": "Cel",
                    "effective_at": datetime.now(UTC).isoformat(), "source": "bench"}  # fmt: skip
            sent[sid] = time.monotonic()
            r = client.post(f"/api/v1/patients/{sid}/observations", json=body)
            if r.status_code != 201:
                raise RuntimeError(f"{r.status_code}: {r.text[:300]}")
            probe += 1
            time.sleep(seconds / PROBES)  # all the probes within the phase: p99 is not a max
    background = background_load.count() / (time.monotonic() - start + 1.0)
    time.sleep(2.0)
    stop.set()
    background_load.close()
    print(f"  background load during the probes: {background:,.0f} observations/s")
    missing = [s for s in sent if s not in arrived]
    if missing:
        print(f"  {len(missing)} of {len(sent)} probes got no alert on the stream")
    return sorted(arrived[s] - sent[s] for s in arrived)


def pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="per mode and phase")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--rate", type=float, default=1000.0, help="background obs/s in (b)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="neurocart-bench-") as tmp:
        log = Path(tmp) / "server.log"
        servers = {
            monitoring: Server(make_database(Path(tmp) / f"mon-{monitoring}.db"), monitoring, log)
            for monitoring in (False, True)
        }  # side by side, on two identical fresh databases
        try:
            rates = throughput(
                {m: s.base for m, s in servers.items()}, args.seconds, args.clients, args.batch
            )
            servers.pop(False).stop()
            lat = latency(servers[True].base, args.seconds, args.clients, args.batch, args.rate)
        finally:
            for server in servers.values():
                server.stop()
    on, off = rates[True], rates[False]
    ratio = on / off
    print(f"(a) ingest over HTTP, {args.clients} clients, batches of {args.batch}, SQLite file:")
    print(f"    monitoring off {off:,.0f} obs/s, on {on:,.0f} obs/s → ratio {ratio:.2f}"
          f" (goal ≥ 0.8) {'OK' if ratio >= 0.8 else 'BELOW GOAL'}")  # fmt: skip
    if lat:
        p50, p99 = pct(lat, 0.5) * 1000, pct(lat, 0.99) * 1000
        print(f"(b) fever POST → SSE alert, {len(lat)} probes: p50 {p50:.0f} ms, p99 {p99:.0f} ms"
              f" (goal p99 ≤ 250 ms) {'OK' if p99 <= 250 else 'BELOW GOAL'};"
              f" max {lat[-1] * 1000:.0f} ms")  # fmt: skip
    print(f"    cores: {os.cpu_count()}")
    h.report("monitor", "HTTP ingest monitoring on ÷ off ≥ 0.8", f"{ratio:.2f}", "one run",
             ratio >= 0.8, f"off {off:,.0f} obs/s")  # fmt: skip
    if lat:
        h.report("monitor", "fever POST → SSE alert p99 ≤ 250 ms", f"{p99:.0f} ms",
                 f"p50 {p50:.0f} ms, max {lat[-1] * 1000:.0f} ms, {len(lat)} probes",
                 p99 <= 250)  # fmt: skip


if __name__ == "__main__":
    main()
