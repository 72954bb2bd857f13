"""Ward board throughput over HTTP against a running `neurocart serve`, 500 acute patients.

500 patients in study days 0–14 with a vital-sign set every 4 h since their infusion (five
vitals each, through the ingest service) and an ICE and a CRS assessment each; monitoring
off (the board reads the store). Several concurrent clients, logged in through the login
form as a nurse, GET ``/board/panel`` (what the live board swaps in) for a few seconds per
segment; beside it, the same clients GET ``/api/v1/health`` on the same server — the cost of
the HTTP stack alone, the physical limit a board request can approach.

Goal: ≥ 50 board requests/s with p99 ≤ 200 ms (on 2 cores). Loopback only; an SQLite file.

    .venv/bin/python benchmarks/board.py [--seconds 5] [--segments 5] [--clients 4]
"""

from __future__ import annotations

import argparse
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
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

import _harness  # the benchmark audit key, and the `make bench` table
from neurocart.security import hash_password
from neurocart.services import assessments
from neurocart.services.ingest import ingest_observations
from neurocart.store import Database, migrate, repo

SECRET = "benchmark-secret-key-0123456789abcdef0123"
PATIENTS = 500
PASSWORD = "bench-password"
CLI = Path(sys.executable).with_name("neurocart")
VITALS = [
    ("8310-5", "Cel", 36.4, 38.6),
    ("8867-4", "/min", 60, 110),
    ("8480-6", "mm[Hg]", 95, 140),
    ("8462-4", "mm[Hg]", 55, 90),
    ("59408-5", "%", 92, 99),
]
GOAL_RPS, GOAL_P99_MS = 50.0, 200.0


def make_database(path: Path) -> tuple[str, int]:
    url = f"sqlite:///{path}"
    db = Database.from_url(url)
    migrate.upgrade(db.engine)
    now = datetime.now(UTC)
    rng = random.Random(5)
    rows = 0
    with db.transaction() as s:
        user = repo.create_user(
            s, None, username="bench.nurse", password_hash=hash_password(PASSWORD), role="nurse"
        )
        doctor = repo.create_user(s, None, username="bench.doc", password_hash="x", role="icu")
    for i in range(PATIENTS):
        with db.transaction() as s:
            p = repo.create_patient(s, None, repo.PatientIn(f"BM-{i:04d}", "HD", "female", "ms"))
            infusion = now - timedelta(days=rng.uniform(0.2, 13.8))
            repo.create_course(s, None, repo.CourseIn(p.id, "x", infusion_at=infusion))
            batch = []
            t = infusion
            while t < now:
                for code, unit, low, high in VITALS:
                    value = round(rng.uniform(low, high), 1)
                    batch.append(
                        {"code": code, "value": value, "unit": unit,
                         "effective_at": t.isoformat(), "source": "bench"}
                    )  # fmt: skip
                t += timedelta(hours=4)
            rows += len(ingest_observations(s, user, p.id, batch))
            ice = {"orientation": 4, "naming": 3, "commands": 1, "writing": 1, "attention": 1}
            assessments.add_assessment(
                s, doctor, repo.AssessmentIn(p.id, "ice", ice, now - timedelta(hours=1))
            )
            crs = {"temperature_c": 38.4}
            assessments.add_assessment(
                s, doctor, repo.AssessmentIn(p.id, "crs", crs, now - timedelta(hours=2))
            )
    db.dispose()
    return url, rows


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, url: str, log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = os.environ | {"NEUROCART_SECRET_KEY": SECRET, "NEUROCART_MONITORING": "false"}
        self.log = log.open("ab")
        self.process = subprocess.Popen(
            [str(CLI), "serve", "--port", str(self.port), "--database-url", url,
             "--log-level", "warning"],
            stdout=self.log, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/api/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError(f"server did not start (log {log})")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def cookies(base: str) -> httpx.Cookies:
    with httpx.Client(base_url=base) as client:
        r = client.post(
            "/login", data={"username": "bench.nurse", "password": PASSWORD, "next": "/"}
        )
        assert r.status_code in (200, 303), r.status_code
        return client.cookies


def run(
    base: str, path: str, jar: httpx.Cookies, clients: int, seconds: float
) -> tuple[float, list[float], int]:
    """Requests/s, latencies (s) and response size of `clients` looping on GET `path`."""
    latencies: list[float] = []
    lock = threading.Lock()
    size = 0
    stop = time.monotonic() + seconds

    def loop() -> None:
        nonlocal size
        with httpx.Client(base_url=base, cookies=jar, timeout=30) as client:
            while time.monotonic() < stop:
                t0 = time.perf_counter()
                r = client.get(path)
                dt = time.perf_counter() - t0
                assert r.status_code == 200, (path, r.status_code)
                with lock:
                    latencies.append(dt)
                    size = r.num_bytes_downloaded

    started = time.monotonic()
    threads = [threading.Thread(target=loop) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(latencies) / (time.monotonic() - started), latencies, size


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per segment")
    parser.add_argument("--segments", type=int, default=5)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="neurocart-board-") as tmp:
        t0 = time.monotonic()
        url, rows = make_database(Path(tmp) / "board.db")
        print(f"record: {PATIENTS} acute patients, {rows:,} observations "
              f"(built in {time.monotonic() - t0:.0f} s)")  # fmt: skip
        server = Server(url, Path(tmp) / "server.log")
        try:
            jar = cookies(server.base)
            run(server.base, "/board/panel", jar, 1, 2.0)  # warm-up: caches, first schedules
            board: list[float] = []
            health: list[float] = []
            lat: list[float] = []
            size = 0
            for _ in range(args.segments):  # alternate, so both see the same machine
                rps, times, size = run(server.base, "/board/panel", jar, args.clients, args.seconds)
                board.append(rps)
                lat += times
                health.append(
                    run(server.base, "/api/v1/health", jar, args.clients, args.seconds)[0]
                )
        finally:
            server.stop()
    med, p50, p99 = statistics.median(board), pct(lat, 0.5) * 1000, pct(lat, 0.99) * 1000
    spread = f"{min(board):.0f}–{max(board):.0f}"
    ok = med >= GOAL_RPS and p99 <= GOAL_P99_MS
    print(f"target: ≥ {GOAL_RPS:.0f} board requests/s with p99 ≤ {GOAL_P99_MS:.0f} ms "
          f"({args.clients} clients, {args.segments} segments of {args.seconds:g} s)")  # fmt: skip
    print(f"board  GET /board/panel: median {med:.1f} req/s (spread {spread}), "
          f"p50 {p50:.0f} ms, p99 {p99:.0f} ms, {size / 1024:.0f} KiB sent")  # fmt: skip
    print(f"baseline GET /api/v1/health: median {statistics.median(health):.0f} req/s "
          f"(spread {min(health):.0f}–{max(health):.0f})")  # fmt: skip
    print(f"{'PASS' if ok else 'BELOW'} · cores: {os.cpu_count()}")
    _harness.report(
        "board",
        f"GET /board/panel ≥ {GOAL_RPS:.0f} req/s with p99 ≤ {GOAL_P99_MS:.0f} ms "
        f"({args.clients} clients, {PATIENTS} acute patients)",
        f"{med:.1f} req/s, p99 {p99:.0f} ms",
        f"{spread} req/s (n={len(board)})",
        ok,
        baseline=f"GET /api/v1/health {statistics.median(health):.0f} req/s",
    )


if __name__ == "__main__":
    main()
