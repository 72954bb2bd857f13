"""Ingest throughput: the service layer against the driver's fastest write of the same rows.

N observations (default 200,000; a realistic mix of vitals and labs, some in °F, mg/dL or
/µL) go in batches of 1,000, each in its own transaction, two ways into the same table:

- **service**: `neurocart.services.ingest.ingest_observations` — normalization (code,
  unit conversion, plausible range, specimen, time zone), the store's checks, the
  hash-chained audit entry per batch (holding each row's id and snapshot digest); rows
  arrive as `neurocart.ingest.ObservationIn` models, as the API hands them over after parsing
  the request body;
- **raw**: the driver's fastest write of the same rows as prepared tuples (same columns, no
  validation, no conversion, no audit), committed per batch on the same engine's connection
  (so the same SQLite pragmas: WAL, synchronous=FULL): on SQLite `executemany`, on
  PostgreSQL `COPY ... FROM STDIN` (psycopg's copy), the server's bulk-load path.

The two paths alternate batch by batch so both see the same table size; the rows are cut
into five segments and the ratio service ÷ raw of each is one measurement (median and
spread printed). Runs on SQLite (a temporary file) and on PostgreSQL when 127.0.0.1:5432
answers (a temporary database, created and dropped through NEUROCART_BENCH_POSTGRES_URL,
default postgresql+psycopg://postgres@127.0.0.1:5432/postgres). Targets: ratio ≥ 0.5 on
SQLite (÷ executemany), ≥ 0.8 on PostgreSQL (÷ COPY).

    .venv/bin/python benchmarks/ingest.py [--rows N] [--batch B] [--backend sqlite|postgresql]
                                          [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.engine import URL, make_url

import _harness as h
from neurocart.ingest import ObservationIn
from neurocart.services.ingest import ingest_observations
from neurocart.store import AuditEntry, Database, Observation, User, repo
from neurocart.store.models import Base

GOALS = {"sqlite": 0.5, "postgresql": 0.8}
BASELINES = {"sqlite": "executemany", "postgresql": "COPY"}
PG_ADMIN_URL = os.environ.get(
    "NEUROCART_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
T0 = datetime(2025, 3, 3, 8, tzinfo=UTC)

# (code, unit as sent, specimen, low, high, share): what a ward and a lab feed send
MIX: list[tuple[str, str, str | None, float, float, float]] = [
    ("8310-5", "Cel", None, 36.0, 40.5, 0.20),
    ("8310-5", "[degF]", None, 97.0, 104.0, 0.05),
    ("8867-4", "/min", None, 50.0, 140.0, 0.15),
    ("8480-6", "mm[Hg]", None, 80.0, 170.0, 0.10),
    ("8462-4", "mm[Hg]", None, 40.0, 100.0, 0.10),
    ("59408-5", "%", None, 85.0, 100.0, 0.10),
    ("9279-1", "/min", None, 10.0, 35.0, 0.05),
    ("1988-5", "mg/L", "serum", 0.5, 250.0, 0.05),
    ("1988-5", "mg/dL", "serum", 0.05, 25.0, 0.02),
    ("2276-4", "ng/mL", "serum", 20.0, 20_000.0, 0.03),
    ("777-3", "/µL", "blood", 10_000.0, 400_000.0, 0.05),
    ("751-8", "10*3/uL", "blood", 0.0, 12.0, 0.05),
    ("2160-0", "mg/dL", "serum", 0.4, 3.0, 0.05),
]


def make_rows(n: int, seed: int = 7) -> list[ObservationIn]:
    rng = np.random.default_rng(seed)
    shares = np.array([m[5] for m in MIX])
    kinds = rng.choice(len(MIX), size=n, p=shares / shares.sum())
    draws = rng.random(n)
    rows = []
    for i in range(n):
        code, unit, specimen, low, high, _ = MIX[kinds[i]]
        rows.append(
            ObservationIn(
                code=code,
                code_system="http://loinc.org",
                value=round(low + (high - low) * float(draws[i]), 2),
                unit=unit,
                specimen=specimen,
                effective_at=T0 + timedelta(minutes=i),
                source="benchmark",
                note=None,
            )
        )
    return rows


COLUMNS = (
    "patient_id", "code", "code_system", "value", "unit", "specimen", "effective_at", "source",
    "entered_by", "recorded_at", "supersedes_id", "correction_reason", "entered_in_error",
)  # fmt: skip


def raw_tuples(
    rows: Sequence[ObservationIn], patient_id: int, user_id: int, sqlite: bool
) -> list[tuple[Any, ...]]:
    """The same rows as the driver takes them (as given: no conversion, no checks)."""
    now = datetime.now(UTC)

    def at(t: datetime) -> Any:
        return t.astimezone(UTC).replace(tzinfo=None).isoformat(" ") if sqlite else t

    return [
        (
            patient_id,
            r.code,
            r.code_system,
            r.value,
            r.unit,
            r.specimen or "other",
            at(r.effective_at),
            r.source,
            user_id,
            at(now),
            None,
            None,
            False,
        )
        for r in rows
    ]


def setup(db: Database) -> tuple[User, int]:
    Base.metadata.create_all(db.engine)
    with db.transaction() as session:
        user = repo.create_user(
            session, None, username="bench", password_hash="x", role="data_manager"
        )
        patient = repo.create_patient(
            session, user, repo.PatientIn("NC-BENCH", "ERL", "female", "mg", birth_year=1980)
        )
    return user, patient.id


def run(db: Database, n: int, batch: int, profile: bool, segments: int) -> dict[str, h.Sample]:
    user, patient_id = setup(db)
    rows = make_rows(n)
    sqlite = db.engine.dialect.name == "sqlite"
    raws = raw_tuples(rows, patient_id, user.id, sqlite)
    mark = "?" if sqlite else "%s"
    sql = (
        f"INSERT INTO observations ({', '.join(COLUMNS)}) "
        f"VALUES ({', '.join([mark] * len(COLUMNS))})"
    )
    copy_sql = f"COPY observations ({', '.join(COLUMNS)}) FROM STDIN"
    raw_connection = db.engine.raw_connection()
    service_s = raw_s = 0.0
    per_segment = -(-n // batch) // segments or 1
    service_rates: list[float] = []
    raw_rates: list[float] = []
    segment_rows = 0
    profiler = cProfile.Profile() if profile else None
    for number, start in enumerate(range(0, n, batch)):
        chunk = rows[start : start + batch]
        t = time.perf_counter()
        if profiler:
            profiler.enable()
        with db.transaction() as session:
            ingest_observations(session, user, patient_id, chunk, limit=batch)
        if profiler:
            profiler.disable()
        service_s += time.perf_counter() - t

        t = time.perf_counter()
        cursor = raw_connection.cursor()
        if sqlite:
            cursor.execute("BEGIN IMMEDIATE")
            cursor.executemany(sql, raws[start : start + batch])
            cursor.execute("COMMIT")
        else:
            with cursor.copy(copy_sql) as copy:  # type: ignore[attr-defined]
                for row in raws[start : start + batch]:
                    copy.write_row(row)
            raw_connection.commit()
        cursor.close()
        raw_s += time.perf_counter() - t
        segment_rows += len(chunk)
        if (number + 1) % per_segment == 0 or start + batch >= n:
            service_rates.append(segment_rows / service_s)
            raw_rates.append(segment_rows / raw_s)
            service_s = raw_s = 0.0
            segment_rows = 0
    raw_connection.close()
    with db.reading() as session:
        stored = session.scalar(select(func.count()).select_from(Observation))
        audited = session.scalar(select(func.count()).select_from(AuditEntry))
    assert stored == 2 * n, f"expected {2 * n} rows, found {stored}"
    batches = -(-n // batch)
    assert audited == batches + 2, f"expected {batches + 2} audit entries, found {audited}"
    if profiler:
        buffer = io.StringIO()
        pstats.Stats(profiler, stream=buffer).sort_stats("cumulative").print_stats(30)
        print(buffer.getvalue())
    return {"service": h.sample(service_rates), "raw": h.sample(raw_rates)}


@contextmanager
def sqlite_database() -> Iterator[Database]:
    with tempfile.TemporaryDirectory() as folder:
        db = Database.from_url(f"sqlite:///{Path(folder) / 'bench.db'}")
        try:
            yield db
        finally:
            db.dispose()


def postgres_reachable(url: URL) -> bool:
    try:
        with socket.create_connection((url.host or "127.0.0.1", url.port or 5432), timeout=2):
            return True
    except OSError:
        return False


@contextmanager
def postgres_database() -> Iterator[Database]:
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    name = f"neurocart_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    db = Database.from_url(make_url(PG_ADMIN_URL).set(database=name))
    try:
        yield db
    finally:
        db.dispose()
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def report(backend: str, n: int, figures: dict[str, h.Sample]) -> None:
    ratio = h.ratios(figures["service"], figures["raw"])
    goal = GOALS[backend]
    h.at_least(
        "ingest",
        f"{backend}: service ÷ raw {BASELINES[backend]} ≥ {goal} ({n:,} rows in batches)",
        ratio,
        goal,
        fmt=".2f",
        baseline=(
            f"service {figures['service'].median:,.0f} rows/s, raw "
            f"{figures['raw'].median:,.0f} rows/s"
        ),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--segments", type=int, default=h.RUNS, help="measurements (≥ 5)")
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], action="append")
    parser.add_argument("--profile", action="store_true", help="cProfile the service path")
    args = parser.parse_args()
    backends = args.backend or ["sqlite", "postgresql"]
    for backend in backends:
        if backend == "sqlite":
            with sqlite_database() as db:
                report(
                    "sqlite", args.rows, run(db, args.rows, args.batch, args.profile, args.segments)
                )
        elif postgres_reachable(make_url(PG_ADMIN_URL)):
            with postgres_database() as db:
                report(
                    "postgresql",
                    args.rows,
                    run(db, args.rows, args.batch, args.profile, args.segments),
                )
        else:
            url = make_url(PG_ADMIN_URL)
            print(f"postgresql skipped: nothing answers at {url.host}:{url.port or 5432}")


if __name__ == "__main__":
    main()
