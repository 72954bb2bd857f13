"""The runtime at ward and hospital scale: start-up, catching up, and the cost of a tick.

For 100 / 1,000 / 10,000 patients in study days 0–14 (each with a day of vitals, four sets,
stored through the services into an SQLite file):

- **healthy** — `neurocart serve` started in a subprocess until `/api/v1/health` answers
  (target ≤ 3 s);
- **caught up** — until its health says the leader is ``live`` (journal consumed to the
  head; target ≤ 10 s). Measured on a restart, as in production: a first server (not
  measured) consumes the journal and stores the engine snapshot a leader stores now and then
  (`neurocart.services.snapshots`); each measured server takes over from that snapshot and
  the journal after it;
- **tick** — a monitor tick with nothing changed, in process, after the leader caught up and
  its overdue-task answers are warm (median of repeated ticks; target ≤ 50 ms; the baseline
  beside it is one read of the journal head, the least a tick must do).

    .venv/bin/python benchmarks/runtime.py [--sizes 100,1000,10000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, select

import _harness  # the benchmark audit key, and the `make bench` table
from neurocart.ingest import ObservationIn
from neurocart.services.ingest import ingest_observation_batch
from neurocart.services.journal import Journal
from neurocart.services.monitoring import MonitorService
from neurocart.store import Database, migrate, repo
from neurocart.store.models import MonitorSnapshot

SECRET = "benchmark-secret-key-0123456789abcdef0123"
CLI = Path(sys.executable).with_name("neurocart")
VITALS = (("8310-5", "Cel", 37.0), ("8867-4", "/min", 80), ("8480-6", "mm[Hg]", 120),
          ("59408-5", "%", 97), ("9279-1", "/min", 16))  # fmt: skip
TARGETS = {"healthy_s": 3.0, "caught_up_s": 10.0, "tick_ms": 50.0}


def build(path: Path, n: int, now: datetime) -> str:
    url = f"sqlite:///{path}"
    db = Database.from_url(url)
    migrate.upgrade(db.engine)
    with db.transaction() as s:
        user = repo.create_user(s, None, username="bench", password_hash="x", role="nurse")
    for start in range(0, n, 500):
        with db.transaction() as s:
            for i in range(start, min(n, start + 500)):
                p = repo.create_patient(
                    s, None, repo.PatientIn(f"RT-{i:05d}", "HD", "female", "mg")
                )
                infusion = now - timedelta(days=1 + i % 13, hours=i % 24)
                repo.create_course(s, None, repo.CourseIn(p.id, "x", infusion_at=infusion))
                rows = [
                    ObservationIn(code=code, value=value, unit=unit, source="bench",
                                  effective_at=infusion + timedelta(hours=h))
                    for h in (2, 8, 14, 20) for code, unit, value in VITALS
                ]  # fmt: skip
                ingest_observation_batch(s, user, p.id, rows)
    db.dispose()
    return url


def has_snapshot(url: str) -> bool:
    db = Database.from_url(url)
    try:
        with db.reading() as s:
            return s.scalar(select(func.count()).select_from(MonitorSnapshot)) > 0
    finally:
        db.dispose()


def serve_times(url: str, log: Path, *, snapshot: bool = False) -> tuple[float, float]:
    """Seconds from `neurocart serve` to healthy, and to caught up (with `snapshot`, the
    server then runs on until it has stored its engine snapshot, which it encodes in slices
    after it caught up)."""
    port = 18000 + os.getpid() % 1000
    env = os.environ | {"NEUROCART_SECRET_KEY": SECRET}
    started = time.monotonic()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(CLI), "serve", "--port", str(port), "--database-url", url,
             "--log-level", "warning"],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    healthy = caught_up = float("nan")
    try:
        deadline = started + 300
        while time.monotonic() < deadline:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2)
            except httpx.TransportError:
                time.sleep(0.02)
                continue
            if r.status_code == 200:
                if healthy != healthy:  # nan
                    healthy = time.monotonic() - started
                if r.json()["monitor"]["state"] == "live" and caught_up != caught_up:
                    caught_up = time.monotonic() - started
                if caught_up == caught_up and (not snapshot or has_snapshot(url)):
                    break
            time.sleep(0.02)
    finally:
        process.terminate()
        process.wait(30)
    return healthy, caught_up


def tick_ms(url: str, repeat: int) -> tuple[float, float, float]:
    """Median and spread of a tick with nothing changed (ms), and the head-read baseline."""
    db = Database.from_url(url)
    svc = MonitorService(db, overdue_budget=None)
    svc.take_over()
    while svc.step():
        pass
    now = datetime.now(UTC)
    svc.tick(now)  # warms the overdue answers (every schedule computed once)
    times, base = [], []
    for k in range(repeat):
        at = now + timedelta(seconds=k + 1)
        t = time.perf_counter()
        svc.tick(at)
        times.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        with db.reading() as s:
            Journal.head(s)
        base.append((time.perf_counter() - t) * 1000)
    db.dispose()
    return statistics.median(times), max(times) - min(times), statistics.median(base)


def verdict(value: float, target: float) -> str:
    return "PASS" if value <= target else "BELOW"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    print("targets: healthy ≤ 3 s, caught up ≤ 10 s, tick ≤ 50 ms (2 cores, SQLite)")
    print("| acute patients | healthy s | caught up s | tick ms (median, spread) | "
          "head read ms | verdict |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    rows: list[tuple[int, list[float], list[float], float, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            now = datetime.now(UTC)
            url = build(Path(tmp) / f"rt{n}.db", n, now)
            serve_times(url, Path(tmp) / "serve.log", snapshot=True)  # the leader before
            healthy, caught = [], []
            for _ in range(3):
                h, c = serve_times(url, Path(tmp) / "serve.log")
                healthy.append(h)
                caught.append(c)
            tick, spread, base = tick_ms(url, args.repeat)
            h, c = statistics.median(healthy), statistics.median(caught)
            verdicts = {verdict(h, TARGETS["healthy_s"]), verdict(c, TARGETS["caught_up_s"]),
                        verdict(tick, TARGETS["tick_ms"])}  # fmt: skip
            print(f"| {n:,} | {h:.2f} | {c:.2f} | {tick:.1f} ± {spread:.1f} | {base:.2f} | "
                  f"{'BELOW' if 'BELOW' in verdicts else 'PASS'} |", flush=True)  # fmt: skip
            rows.append((n, healthy, caught, tick, spread, base))
    for n, healthy, caught, tick, spread, base in rows:  # the `make bench` table's rows
        who = f"{n:,} acute patients (SQLite)"
        _harness.report(
            "runtime", f"{who}: healthy ≤ {TARGETS['healthy_s']:g} s",
            f"{statistics.median(healthy):.2f} s",
            f"{min(healthy):.2f}–{max(healthy):.2f} s (n={len(healthy)})",
            statistics.median(healthy) <= TARGETS["healthy_s"],
        )  # fmt: skip
        _harness.report(
            "runtime", f"{who}: caught up ≤ {TARGETS['caught_up_s']:g} s",
            f"{statistics.median(caught):.2f} s",
            f"{min(caught):.2f}–{max(caught):.2f} s (n={len(caught)})",
            statistics.median(caught) <= TARGETS["caught_up_s"],
        )  # fmt: skip
        _harness.report(
            "runtime", f"{who}: monitor tick ≤ {TARGETS['tick_ms']:g} ms",
            f"{tick:.1f} ms", f"± {spread:.1f} ms (n={args.repeat})",
            tick <= TARGETS["tick_ms"], baseline=f"journal head read {base:.2f} ms",
        )  # fmt: skip


if __name__ == "__main__":
    main()
