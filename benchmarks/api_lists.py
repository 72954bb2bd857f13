"""One patient with a long history: a page of their observations, and their schedule.

A patient under continuous monitoring piles up observations (vitals every few minutes for
weeks). The store holds 100,000 current observations of one treated patient (vitals and labs
from two days before infusion to ten weeks after, several at the same instant) and, beside
them, a patient with 1,000 observations of the same kinds (the short history the schedule
is compared with). Through the API in process (FastAPI TestClient, SQLite file, migrated
schema, monitoring off: the monitor is not the subject), each run times:

- the first page of ``GET /patients/{id}/observations`` (default page size) — wall ms,
  target ≤ 50 ms; its size in bytes beside it;
- a page from the middle of the list (following a cursor 50,000 rows in) — target ≤ 50 ms:
  a keyset page costs the same wherever it starts;
- ``GET /patients/{id}/schedule`` of the long history — target ≤ 100 ms (it was 680 ms
  reading the whole history); beside it the same for the 1,000-observation patient, the
  cost of a schedule whatever the history (its JSON is smaller: fewer slots are done);
- the patient's chart page (``GET /patients/{id}``, the web page a ward team opens, logged in
  as the nurse) of the long history — target ≤ 500 ms; beside it the chart of the
  1,000-observation patient and the page's size (a long series is drawn by its extremes);
- the first page of ``GET /fhir/Patient/{id}/$everything`` (default ``_count``) and a page
  from the middle of the record (following the Bundle's ``next`` links 50,000 resources in)
  — target ≤ 50 ms each, the page's size beside the first;
- the bulk FHIR export (``export_ndjson``) of the long history, in a child process: its
  peak resident memory beyond the same export of the 1,000-observation patient — target
  ≤ 64 MB (the export reads in chunks; reading the whole history at once took ~170 MB more).

    .venv/bin/python benchmarks/api_lists.py [--observations 100000] [--runs 5]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient

import _harness as h
from neurocart.api import create_app
from neurocart.config import Settings
from neurocart.security import issue_token
from neurocart.security.passwords import hash_password
from neurocart.store import Database, migrate, repo
from neurocart.store.accounts import AuthSession

SECRET = "benchmark-secret-key-0123456789abcdef0123"
INFUSION = datetime(2025, 3, 3, 10, tzinfo=UTC)
NOW = INFUSION + timedelta(days=70)
PAGE_TARGET_MS = 50.0
EXPORT_GROWTH_TARGET_MB = 64.0
SCHEDULE_TARGET_MS = 100.0
CHART_TARGET_MS = 500.0
PASSWORD = "benchmark-password-1"
SESSION = "benchmark-session"
CODES = ("8310-5", "8867-4", "8480-6", "9279-1", "59408-5", "1988-5", "751-8", "2160-0")
REQUESTS = 5
"""Requests per run (the run's figure is their mean: one request is too short to time)."""


def history(patient_id: int, n: int, span: timedelta) -> list[repo.ObservationIn]:
    """`n` observations spread over `span` from two days before infusion, in threes per
    instant (a monitor writes a set of vitals at once)."""
    step = span / max(n // 3, 1)
    start = INFUSION - timedelta(days=2)
    return [
        repo.ObservationIn(patient_id, CODES[i % len(CODES)], 37.0, "x", start + step * (i // 3))
        for i in range(n)
    ]


def build(url: str, n: int) -> None:
    database = Database.from_url(url)
    migrate.upgrade(database.engine)
    with database.transaction() as session:
        user = repo.create_user(
            session, None, username="bench", password_hash=hash_password(PASSWORD), role="nurse"
        )
        now = datetime.now(UTC)
        session.add(  # the API token's session (a token names the login it belongs to)
            AuthSession(sid=SESSION, user_id=user.id, kind="api", client="bench",
                        created_at=now, last_seen_at=now, expires_at=now + timedelta(hours=12))
        )  # fmt: skip
        for study_id, count in (("LONG", n), ("SHORT", 1000)):
            patient = repo.create_patient(
                session,
                None,
                repo.PatientIn(study_id=study_id, site="A", sex="female", diagnosis="mg"),
            )
            course = repo.CourseIn(patient_id=patient.id, product="CT103A", infusion_at=INFUSION)
            repo.create_course(session, None, course)
            rows = history(patient.id, count, timedelta(days=72) * count / n)
            for start in range(0, len(rows), 10_000):
                repo.add_observations(session, user, rows[start : start + 10_000])
    database.dispose()


def per_request(client: TestClient, url: str, headers: dict[str, str]) -> float:
    """Mean wall seconds of `REQUESTS` GETs of `url` (each must succeed)."""
    start = time.perf_counter()
    for _ in range(REQUESTS):
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.text
    return (time.perf_counter() - start) / REQUESTS


def per_request_runs(client: TestClient, url: str, headers: dict[str, str], runs: int) -> h.Sample:
    """`runs` figures of seconds per request of `url`, each the mean of `REQUESTS` GETs (timing
    the whole run instead would report `REQUESTS` requests as one)."""
    return h.sample([per_request(client, url, headers) for _ in range(runs)])


def fhir_pages(
    client: TestClient, headers: dict[str, str], n: int, runs: int
) -> tuple[h.Sample, h.Sample, int]:
    """Per-request seconds of the first page of the long record's $everything and of a page
    50,000 resources in (reached by following `next` links), and the first page's bytes."""
    url = "/fhir/Patient/LONG/$everything"
    first = client.get(url, headers=headers)
    assert first.status_code == 200, first.text
    walk = f"{url}?_count=1000"
    for _ in range(n // 2 // 1000):  # half the record in, by big pages
        got = client.get(walk, headers=headers)
        assert got.status_code == 200, got.text
        walk = next(link["url"] for link in got.json()["link"] if link["relation"] == "next")
    cursor = parse_qs(urlsplit(walk).query)["_cursor"][0]
    middle = f"{url}?_cursor={cursor}"  # a default-size page from there
    first_s = per_request_runs(client, url, headers, runs)
    middle_s = per_request_runs(client, middle, headers, runs)
    return first_s, middle_s, len(first.content)


EXPORT = """
import sys, tempfile
from pathlib import Path
from neurocart.interop.fhir.outbound import export_ndjson
from neurocart.store import Database
database = Database.from_url(sys.argv[1])
with tempfile.TemporaryDirectory() as out, database.reading() as session:
    counts = export_ndjson(session, Path(out), study_ids=[sys.argv[2]])
status = Path("/proc/self/status").read_text().splitlines()
print(sum(counts.values()), next(int(s.split()[1]) for s in status if s.startswith("VmHWM:")))
"""
"""The bulk export of one patient in a fresh interpreter: resources written, peak RSS (kB).

The peak is Linux's VmHWM, this process's own: getrusage's ru_maxrss survives exec, so a
child would report the parent's peak (the benchmark's, with its 100,000 rows) instead."""


def export_peak(url: str, study_id: str) -> tuple[int, float]:
    """Resources the export of `study_id` wrote and the child's peak resident memory (MB)."""
    done = subprocess.run(
        [sys.executable, "-c", EXPORT, url, study_id], check=True, capture_output=True, text=True
    )
    written, peak_kb = done.stdout.split()
    return int(written), int(peak_kb) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observations", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=h.RUNS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'lists.db'}"
        started = time.perf_counter()
        build(url, args.observations)
        print(f"built {args.observations:,} observations in {time.perf_counter() - started:.0f} s")
        settings = Settings(database_url=url, secret_key=SECRET, monitoring=False)
        database = Database.from_url(url)
        token = issue_token("bench", "nurse", secret=SECRET, session_id=SESSION)
        headers = {"Authorization": f"Bearer {token}"}
        with TestClient(create_app(settings, database)) as client:
            first_url = "/api/v1/patients/LONG/observations"
            first = client.get(first_url, headers=headers)
            size = len(first.content)
            walk = f"{first_url}?limit=1000"
            for _ in range(args.observations // 2 // 1000):  # half the list in, by big pages
                got = client.get(walk, headers=headers)
                assert got.status_code == 200, got.text
                walk = got.json()["next"]
            cursor = parse_qs(urlsplit(walk).query)["cursor"][0]
            middle_url = f"{first_url}?cursor={cursor}"  # a default-size page from there
            at = NOW.isoformat().replace("+00:00", "Z")
            first_s = per_request_runs(client, first_url, headers, args.runs)
            middle_s = per_request_runs(client, middle_url, headers, args.runs)
            long_url = f"/api/v1/patients/LONG/schedule?now={at}"
            short_url = f"/api/v1/patients/SHORT/schedule?now={at}"
            per_request(client, long_url, headers)  # warm: statements compiled once
            per_request(client, short_url, headers)
            long_s, short_s = [], []
            for _ in range(args.runs):  # alternated: the same machine state for both
                long_s.append(per_request(client, long_url, headers))
                short_s.append(per_request(client, short_url, headers))
            login = client.post("/login", data={"username": "bench", "password": PASSWORD,
                                                "next": "/"}, follow_redirects=False)  # fmt: skip
            assert login.status_code == 303, login.text
            chart_size = len(client.get("/patients/LONG").content)
            client.get("/patients/SHORT")  # warm
            chart_long, chart_short = [], []
            for _ in range(args.runs):
                chart_long.append(per_request(client, "/patients/LONG", {}))
                chart_short.append(per_request(client, "/patients/SHORT", {}))
            fhir_first_s, fhir_middle_s, fhir_size = fhir_pages(
                client, headers, args.observations, args.runs
            )
        database.dispose()
        long_peak, short_peak = [], []
        for _ in range(max(args.runs // 2, 1)):  # a child each: a few runs are enough
            long_written, peak = export_peak(url, "LONG")
            long_peak.append(peak)
            short_written, peak = export_peak(url, "SHORT")
            short_peak.append(peak)
    n = f"{args.observations:,}"
    ms = h.sample([s * 1000 for s in first_s.values])
    h.at_most(
        "api_lists",
        f"first page of {n} observations ≤ {PAGE_TARGET_MS:.0f} ms",
        ms,
        PAGE_TARGET_MS,
        fmt=".1f",
        unit=" ms",
        baseline=f"{size:,} bytes per page",
    )
    h.at_most(
        "api_lists",
        f"a page 50,000 rows into {n} observations ≤ {PAGE_TARGET_MS:.0f} ms",
        h.sample([s * 1000 for s in middle_s.values]),
        PAGE_TARGET_MS,
        fmt=".1f",
        unit=" ms",
    )
    long_ms, short_ms = h.sample([s * 1000 for s in long_s]), h.sample([s * 1000 for s in short_s])
    h.at_most(
        "api_lists",
        f"schedule with {n} observations ≤ {SCHEDULE_TARGET_MS:.0f} ms",
        long_ms,
        SCHEDULE_TARGET_MS,
        fmt=".1f",
        unit=" ms",
        baseline=f"{short_ms.median:.1f} ms with 1,000 observations",
    )
    chart_ms = h.sample([s * 1000 for s in chart_long])
    h.at_most(
        "api_lists",
        f"chart page with {n} observations ≤ {CHART_TARGET_MS:.0f} ms",
        chart_ms,
        CHART_TARGET_MS,
        fmt=".0f",
        unit=" ms",
        baseline=f"{h.sample([s * 1000 for s in chart_short]).median:.0f} ms with 1,000 "
        f"observations; {chart_size:,} bytes",
    )

    h.at_most(
        "api_lists",
        f"first FHIR $everything page of {n} observations ≤ {PAGE_TARGET_MS:.0f} ms",
        h.sample([v * 1000 for v in fhir_first_s.values]),
        PAGE_TARGET_MS,
        fmt=".1f",
        unit=" ms",
        baseline=f"{fhir_size:,} bytes per page",
    )
    h.at_most(
        "api_lists",
        f"a FHIR $everything page 50,000 resources into {n} observations ≤ {PAGE_TARGET_MS:.0f} ms",
        h.sample([v * 1000 for v in fhir_middle_s.values]),
        PAGE_TARGET_MS,
        fmt=".1f",
        unit=" ms",
    )
    growth = h.sample([a - b for a, b in zip(long_peak, short_peak, strict=True)])
    h.at_most(
        "api_lists",
        f"FHIR bulk export of {n} observations: peak memory beyond a 1,000-observation "
        f"export ≤ {EXPORT_GROWTH_TARGET_MB:.0f} MB",
        growth,
        EXPORT_GROWTH_TARGET_MB,
        fmt=".1f",
        unit=" MB",
        baseline=f"{long_written:,} vs {short_written:,} resources; peak "
        f"{h.sample(long_peak).median:.0f} vs {h.sample(short_peak).median:.0f} MB",
    )


if __name__ == "__main__":
    main()
