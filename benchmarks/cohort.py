"""Cohort analytics on a 10,000-patient simulated cohort, read from the store.

The simulated cohort (seeded) is written once into a fresh store — an SQLite file and, when
127.0.0.1:5432 answers, a temporary PostgreSQL database — with the store's own bulk writer
(not counted: this is the fixture, not the figure), and PostgreSQL's statistics gathered as
autovacuum would after such a load (`analysed`). Then, five times per backend, the figure
is the wall time of what a cohort report does before drawing: read the current facts the
analysis reads (`neurocart.cohort.analysis.selection`) from the store into frames
(`neurocart.reports.load_cohort`, for the cut-off) and analyse them
(`neurocart.cohort.analyse`: tables and figures), with the simulated cohort no longer held
(a report's process holds no second copy of it). Target ≤ 10 s on 2 cores; beside it, the
time of the analysis alone on the frames already in memory (the floor the read adds to),
and the share inside lifelines' fit calls.

    .venv/bin/python benchmarks/cohort.py [--patients 10000] [--seed 7] [--runs 5]
                                          [--backend sqlite|postgresql] [--keep]

`--keep` keeps each filled store for the next run with the same patients and seed (an SQLite
file in the temporary folder, a PostgreSQL database `neurocart_bench_cohort_<patients>_<seed>`)
and reuses it when its row counts are the simulated cohort's: writing 9 million rows takes
minutes, while what is measured takes seconds. A store whose counts differ (a run stopped
while writing it) is made anew. Drop the kept ones by hand when done.
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, Table, create_engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

import _harness as h
from ingest import PG_ADMIN_URL, postgres_reachable
from neurocart.cohort import analyse, clock
from neurocart.cohort.analysis import CohortAnalysis, selection
from neurocart.frames import CohortFrames
from neurocart.outcomes.patient import cutoff_instant
from neurocart.reports import load_cohort
from neurocart.simulate import simulate_cohort
from neurocart.store import Database, migrate, repo
from neurocart.store.bulk import insert_columns
from neurocart.store.models import (
    Assessment,
    ClinicalEvent,
    Diagnosis,
    EventType,
    Observation,
    Patient,
    Sex,
    Specimen,
    TreatmentCourse,
)

TARGET_S = 10.0
CUTOFF = date(2026, 6, 1)
CHUNK = 200_000


def _table(model: Any) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _times(series: pd.Series, postgres: bool) -> list[Any]:
    """Driver text of UTC instants (SQLite: naive UTC; PostgreSQL: with the offset)."""
    values = series.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[us]")
    text = np.char.replace(np.datetime_as_string(values, unit="us"), "T", " ")
    out: list[Any] = text.astype(object).tolist()
    missing = np.isnat(values)
    suffix = "+00:00" if postgres else ""
    return [None if m else t + suffix for t, m in zip(out, missing.tolist(), strict=True)]


def _write(
    db: Database,
    model: Any,
    columns: dict[str, Sequence[Any]],
    fixed: dict[str, Any],
    bound: Sequence[str] = (),
) -> None:
    names = list(columns)
    n = len(next(iter(columns.values())))
    for start in range(0, n, CHUNK):
        part = slice(start, start + CHUNK)
        with db.transaction() as session:
            insert_columns(
                session,
                _table(model),
                names,
                [list(columns[name][part]) for name in names],
                fixed,
                {name: list(columns[name][part]) for name in bound},
            )


def fill(db: Database, frames: CohortFrames) -> None:
    """Write the cohort's rows into an empty, migrated store (bulk, no audit: a fixture)."""
    postgres = db.engine.dialect.name == "postgresql"
    with db.transaction() as session:
        user = repo.create_user(
            session, None, username="bench", password_hash="x", role="data_manager"
        )
    now = datetime.now(UTC)
    p = frames.patients
    ids = {sid: i + 1 for i, sid in enumerate(p["study_id"].tolist())}
    _write(db, Patient, {
        "id": list(ids.values()), "study_id": p["study_id"].tolist(),
        "site": p["site"].tolist(), "sex": [Sex(v) for v in p["sex"]],
        "birth_year": p["birth_year"].tolist(), "diagnosis": [Diagnosis(v) for v in p["diagnosis"]],
        "subtype": p["subtype"].astype(object).where(p["subtype"].notna(), None).tolist(),
        "diagnosis_date": p["diagnosis_date"].tolist(),
        "prior_therapies": p["prior_therapies"].tolist(),
    }, {"created_at": now, "created_by": user.id})  # fmt: skip
    c = frames.courses

    def day(column: str) -> list[Any]:
        return [None if pd.isna(t) else t.date() for t in c[column]]

    def text(frame: pd.DataFrame, column: str) -> list[Any]:
        return frame[column].astype(object).where(frame[column].notna(), None).tolist()

    _write(db, TreatmentCourse, {
        "patient_id": [ids[s] for s in c["study_id"]], "product": c["product"].tolist(),
        "target": text(c, "target"), "dose_cells_per_kg": c["dose_cells_per_kg"].tolist(),
        "lymphodepletion": text(c, "ld_regimen"), "protocol_id": text(c, "protocol_id"),
        "enrolment_date": day("enrolment_at"), "apheresis_date": day("apheresis_at"),
        "ld_start_date": day("ld_start_at"), "infusion_date": day("infusion_at"),
        "infusion_at": _times(c["infusion_at"], postgres),
    }, {"created_at": now, "created_by": user.id}, bound=("infusion_at",))  # fmt: skip
    fact = {
        "entered_by": user.id, "recorded_at": now, "supersedes_id": None,
        "correction_reason": None, "entered_in_error": False,
    }  # fmt: skip
    o = frames.observations
    patient_ids = o["study_id"].map(ids).tolist()
    _write(db, Observation, {
        "patient_id": patient_ids, "code": o["code"].tolist(), "value": o["value"].tolist(),
        "unit": o["unit"].tolist(), "specimen": [Specimen(v) for v in o["specimen"]],
        "effective_at": _times(o["effective_at"], postgres),
    }, fact | {"code_system": "http://loinc.org", "source": "simulator"},
       bound=("effective_at",))  # fmt: skip
    a = frames.assessments
    _write(db, Assessment, {
        "patient_id": a["study_id"].map(ids).tolist(), "instrument": a["instrument"].tolist(),
        "inputs": a["inputs"].tolist(), "result": [{}] * len(a), "value": a["value"].tolist(),
        "label": a["label"].tolist(), "effective_at": _times(a["effective_at"], postgres),
    }, fact, bound=("effective_at",))  # fmt: skip
    e = frames.events
    grades = e["grade"].astype(object).where(e["grade"].notna(), None)
    _write(db, ClinicalEvent, {
        "patient_id": e["study_id"].map(ids).tolist(), "type": [EventType(v) for v in e["type"]],
        "onset_at": _times(e["onset_at"], postgres), "end_at": _times(e["end_at"], postgres),
        "ctcae_term": text(e, "term"), "grade": [None if g is None else int(g) for g in grades],
        "drug": text(e, "drug"), "details": e["details"].tolist(),
    }, fact | {"dose": None, "dose_unit": None}, bound=("onset_at", "end_at"))  # fmt: skip


def filled(db: Database, frames: CohortFrames) -> bool:
    """Whether the store holds the cohort's rows already (a kept store of a finished run)."""
    tables = [(Patient, frames.patients), (TreatmentCourse, frames.courses),
              (Observation, frames.observations), (Assessment, frames.assessments),
              (ClinicalEvent, frames.events)]  # fmt: skip
    with db.reading() as session:
        return all(
            session.scalar(select(func.count()).select_from(_table(model))) == len(frame)
            for model, frame in tables
        )


def analysed(db: Database) -> None:
    """Gather PostgreSQL's statistics of the filled tables, as autovacuum does after a bulk
    load on a server that runs it (the test server does not): without them the planner
    guesses the rows of each patient and plans the cohort read's index probes as scans."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("ANALYZE")


@contextmanager
def sqlite_store(keep: str | None) -> Iterator[Database]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(tempfile.gettempdir()) / f"{keep}.db" if keep else Path(folder) / "cohort.db"
        db = Database.from_url(f"sqlite:///{path}")
        migrate.upgrade(db.engine)
        try:
            yield db
        finally:
            db.dispose()


def _admin() -> Engine:
    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)


def _drop(admin: Engine, name: str) -> None:
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def postgres_store(keep: str | None) -> Iterator[Database]:
    name = keep or f"neurocart_bench_{uuid.uuid4().hex[:10]}"
    admin = _admin()
    with admin.connect() as connection:
        exists = connection.exec_driver_sql(
            "SELECT 1 FROM pg_database WHERE datname = %(name)s", {"name": name}
        ).scalar()
        if not exists:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    db = Database.from_url(make_url(PG_ADMIN_URL).set(database=name))
    migrate.upgrade(db.engine)
    try:
        yield db
    finally:
        db.dispose()
        if not keep:
            _drop(admin, name)
        admin.dispose()


@contextmanager
def store(backend: str, frames: CohortFrames, keep: str | None) -> Iterator[Database]:
    """A migrated store of `backend` holding the cohort: filled here, or kept from a run."""
    opened = sqlite_store if backend == "sqlite" else postgres_store
    if keep:
        with opened(keep) as db:
            if filled(db, frames):
                del frames  # the measured runs hold no simulated copy of the cohort (`main`)
                print(f"{backend}: the kept store {keep} holds the cohort (not written again)")
                yield db
                return
        if backend == "sqlite":
            (Path(tempfile.gettempdir()) / f"{keep}.db").unlink()
        else:
            admin = _admin()
            _drop(admin, keep)
            admin.dispose()
    with opened(keep) as db:
        start = time.perf_counter()
        fill(db, frames)
        if backend == "postgresql":
            analysed(db)
        rows = sum(len(t) for t in frames.tables().values())
        del frames
        print(f"{backend}: wrote {rows:,} rows in {time.perf_counter() - start:.0f} s "
              "(not counted)")  # fmt: skip
        yield db


def drawn(result: CohortAnalysis) -> None:
    """Draw each of the analysis' figures: `analyse` leaves them to be drawn when rendered
    (`analysis.Figures`), and the figure timed here has always included drawing them."""
    for name in result.figures:
        result.figures[name]


def wanted_observations(frames: CohortFrames) -> int:
    """How many observations the cohort read must give back (the analysis' codes, up to the
    cut-off)."""
    o = frames.observations
    wanted = o["code"].isin(selection().codes) & (o["effective_at"] <= cutoff_instant(CUTOFF))
    return int(wanted.sum())


def measure(backend: str, db: Database, n: int, observations: int, runs: int) -> None:
    totals: list[float] = []
    reads: list[float] = []
    fits: list[float] = []
    for _ in range(runs):
        clock.reset()
        start = time.perf_counter()
        stored = load_cohort(db, only=selection(), cutoff=CUTOFF)
        read = time.perf_counter() - start
        drawn(analyse(stored, cutoff=CUTOFF))
        totals.append(time.perf_counter() - start)
        reads.append(read)
        fits.append(clock.lifelines_seconds())
    if len(stored.observations) != observations:
        raise AssertionError("the store gave back another number of observations")
    h.at_most(
        "cohort",
        f"{backend}: read {n:,} patients from the store + analyse ≤ {TARGET_S:g} s",
        h.sample(totals),
        TARGET_S,
        unit=" s",
        baseline=(
            f"read {h.sample(reads).median:.1f} s, lifelines fits {h.sample(fits).median:.1f} s"
        ),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=h.RUNS)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], action="append")
    parser.add_argument(
        "--keep", action="store_true", help="keep the filled stores for the next run, reuse them"
    )
    args = parser.parse_args()
    now = datetime(CUTOFF.year, CUTOFF.month, CUTOFF.day, 23, 59, 59, tzinfo=UTC)
    start = time.perf_counter()
    frames = simulate_cohort(args.patients, args.seed, now=now)
    rows = sum(len(t) for t in frames.tables().values())
    print(f"simulated {args.patients:,} patients ({rows:,} rows) in "
          f"{time.perf_counter() - start:.0f} s (not counted)")  # fmt: skip
    start = time.perf_counter()
    drawn(analyse(frames, cutoff=CUTOFF))
    print(f"analysis alone on the frames in memory: {time.perf_counter() - start:.1f} s "
          "(one run)")  # fmt: skip
    keep = f"neurocart_bench_cohort_{args.patients}_{args.seed}" if args.keep else None
    observations = wanted_observations(frames)
    with ExitStack() as stores:
        databases: dict[str, Database] = {}
        for backend in args.backend or ["sqlite", "postgresql"]:
            if backend == "postgresql" and not postgres_reachable(make_url(PG_ADMIN_URL)):
                print("postgresql skipped: nothing answers at 127.0.0.1:5432")
                continue
            databases[backend] = stores.enter_context(store(backend, frames, keep))
        # a report's process holds no simulated copy of the cohort: its 9 million rows, kept
        # alive beside the runs, slowed each by ~1 s (memory, not the work measured)
        del frames
        gc.collect()
        for backend, db in databases.items():
            measure(backend, db, args.patients, observations, args.runs)


if __name__ == "__main__":
    main()
